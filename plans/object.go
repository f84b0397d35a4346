package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Object is an attribute view of a resource: attribute name to a
// JSON-shaped value (string, bool, int64, float64, []any, map[string]any,
// nil), where any leaf may be Unknown while planning.
type Object map[string]any

// unknownValue is the type of Unknown.
type unknownValue struct{}

// Unknown is a value known only after apply, such as the address of a load
// balancer that does not exist yet. The plan renders it as
// "(known after apply)".
var Unknown any = unknownValue{}

// IsUnknown reports whether v is Unknown.
func IsUnknown(v any) bool { _, ok := v.(unknownValue); return ok }

// HasUnknown reports whether v is Unknown or contains an Unknown leaf.
func HasUnknown(v any) bool {
	switch t := v.(type) {
	case unknownValue:
		return true
	case Object:
		for _, e := range t {
			if HasUnknown(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if HasUnknown(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if HasUnknown(e) {
				return true
			}
		}
	}
	return false
}

// FingerprintPrefix starts every fingerprint, so renderers can tell a
// fingerprint from a plain string.
const FingerprintPrefix = "sha256:"

// Fingerprint returns a short, stable digest standing in for a secret
// value in plans, plan files and output: enough for a reviewer to see that a
// secret changes, never enough to recover it.
func Fingerprint(secret []byte) string {
	sum := sha256.Sum256(secret)
	return FingerprintPrefix + hex.EncodeToString(sum[:6])
}

// Sensitive wraps a secret in memory. It renders as "(sensitive)" in every
// fmt verb and as its fingerprint in JSON, so an accidental print or
// marshal never leaks it.
type Sensitive struct{ value []byte }

// NewSensitive wraps b.
func NewSensitive(b []byte) Sensitive { return Sensitive{value: append([]byte(nil), b...)} }

// Bytes returns the secret itself, for the provider that must write it.
func (s Sensitive) Bytes() []byte { return s.value }

// Fingerprint returns Fingerprint of the secret.
func (s Sensitive) Fingerprint() string { return Fingerprint(s.value) }

// String implements fmt.Stringer without revealing the value.
func (s Sensitive) String() string { return "(sensitive)" }

// GoString implements fmt.GoStringer without revealing the value.
func (s Sensitive) GoString() string { return "plans.Sensitive(" + s.Fingerprint() + ")" }

// MarshalJSON writes the fingerprint, never the value.
func (s Sensitive) MarshalJSON() ([]byte, error) { return json.Marshal(s.Fingerprint()) }

// Redact returns a copy of o in which every Sensitive leaf is replaced by
// its fingerprint string, and the names of the top-level attributes that held
// one, sorted. The result is safe to show and to store.
func Redact(o Object) (Object, []string) {
	if o == nil {
		return nil, nil
	}
	out := make(Object, len(o))
	var names []string
	for k, v := range o {
		r, found := redact(v)
		out[k] = r
		if found {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return out, names
}

func redact(v any) (any, bool) {
	switch t := v.(type) {
	case Sensitive:
		return t.Fingerprint(), true
	case Object:
		o, n := Redact(t)
		return map[string]any(o), len(n) > 0
	case map[string]any:
		o, n := Redact(Object(t))
		return map[string]any(o), len(n) > 0
	case []any:
		out := make([]any, len(t))
		any := false
		for i, e := range t {
			r, f := redact(e)
			out[i], any = r, any || f
		}
		return out, any
	}
	return v, false
}

// Normalize converts v into the canonical JSON-shaped form used for
// comparison: Object becomes map[string]any, every integer type int64,
// []string becomes []any and map[string]string becomes map[string]any.
// Unknown and Sensitive leaves are kept as they are.
func Normalize(v any) any {
	switch t := v.(type) {
	case nil, string, bool, float64, int64, unknownValue, Sensitive:
		return t
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case uint16:
		return int64(t)
	case uint32:
		return int64(t)
	case Object:
		return Normalize(map[string]any(t))
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = Normalize(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = e
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Normalize(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			out[fmt.Sprint(k.Interface())] = Normalize(rv.MapIndex(k).Interface())
		}
		return out
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.String:
		return rv.String()
	}
	return v
}

// Equal reports whether two values are the same after Normalize. Sensitive
// values compare by fingerprint, and a Sensitive equals the fingerprint string
// of the same secret, so a desired secret can be compared with an observed
// fingerprint. Unknown equals nothing, not even Unknown.
func Equal(a, b any) bool {
	a, b = Normalize(a), Normalize(b)
	if IsUnknown(a) || IsUnknown(b) {
		return false
	}
	if s, ok := a.(Sensitive); ok {
		a = s.Fingerprint()
	}
	if s, ok := b.(Sensitive); ok {
		b = s.Fingerprint()
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !Equal(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		if y, ok := b.(int64); ok {
			return x == float64(y)
		}
	case int64:
		if y, ok := b.(float64); ok {
			return float64(x) == y
		}
	}
	return reflect.DeepEqual(a, b)
}

// Digest returns a stable hash of an object's redacted, canonical JSON
// form. Two observations with the same Digest show the same thing.
func Digest(o Object) string {
	r, _ := Redact(o)
	b, err := json.Marshal(canonical(Normalize(map[string]any(r))))
	if err != nil {
		// Only Unknown leaves can fail here; they are marshalled as a marker.
		b = []byte(fmt.Sprint(r))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonical replaces Unknown leaves by a marker string; encoding/json
// already sorts map keys.
func canonical(v any) any {
	switch t := v.(type) {
	case unknownValue:
		return "(known after apply)"
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = canonical(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = canonical(e)
		}
		return out
	}
	return v
}

// MarshalJSON lets an Unknown leaf marshal (as null); plan writers record
// unknown paths separately in after_unknown.
func (unknownValue) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// Keys returns the attribute names of o, sorted.
func (o Object) Keys() []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// IsFingerprint reports whether s looks like a Fingerprint.
func IsFingerprint(s string) bool { return strings.HasPrefix(s, FingerprintPrefix) }
