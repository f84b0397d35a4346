package planfile

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/meshx-dev/meshx/plans"
)

// Marker keys. A value that is Unknown is stored as {"__meshx_unknown":
// true}; a real map that happens to have a key starting with the marker
// prefix is wrapped as {"__meshx_map": {...}} so it cannot be mistaken
// for a marker.
const (
	markerPrefix = "__meshx_"
	unknownKey   = markerPrefix + "unknown"
	mapKey       = markerPrefix + "map"
)

// encodeValue turns a JSON-shaped value into what the file stores:
// integers stay integers, floats always carry a decimal point or exponent
// (so 2.0 reads back as a float), Unknown becomes its marker. A
// plans.Sensitive anywhere is an error: it must have been redacted to
// its fingerprint before the plan got here. path names the value in
// errors; no error includes a value.
func encodeValue(v any, path string) (any, error) {
	v = plans.Normalize(v)
	switch t := v.(type) {
	case plans.Sensitive:
		return nil, fmt.Errorf("%s holds a secret (plans.Sensitive); a plan file stores only fingerprints", path)
	case nil, string, bool:
		return t, nil
	case int64:
		return json.Number(strconv.FormatInt(t, 10)), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("%s: %v cannot be stored in JSON", path, t)
		}
		s := strconv.FormatFloat(t, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return json.Number(s), nil
	case map[string]any:
		out := make(map[string]any, len(t))
		escape := false
		for k, e := range t {
			enc, err := encodeValue(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = enc
			escape = escape || strings.HasPrefix(k, markerPrefix)
		}
		if escape {
			return map[string]any{mapKey: out}, nil
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			enc, err := encodeValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = enc
		}
		return out, nil
	}
	if plans.IsUnknown(v) {
		return map[string]any{unknownKey: true}, nil
	}
	return nil, fmt.Errorf("%s: unsupported value of type %T", path, v)
}

// decodeValue reverses encodeValue on what encoding/json decoded with
// UseNumber.
func decodeValue(v any, path string) (any, error) {
	switch t := v.(type) {
	case nil, string, bool:
		return t, nil
	case json.Number:
		s := string(t)
		if strings.ContainsAny(s, ".eE") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return f, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return n, nil
	case map[string]any:
		if len(t) == 1 {
			if u, ok := t[unknownKey]; ok {
				if u != true {
					return nil, fmt.Errorf("%s: malformed unknown marker", path)
				}
				return plans.Unknown, nil
			}
			if inner, ok := t[mapKey]; ok {
				m, ok := inner.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: malformed map marker", path)
				}
				return decodeEntries(m, path)
			}
		}
		for k := range t {
			if strings.HasPrefix(k, markerPrefix) {
				return nil, fmt.Errorf("%s: unexpected marker key %q", path, k)
			}
		}
		return decodeEntries(t, path)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			d, err := decodeValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: unexpected JSON value of type %T", path, v)
}

func decodeEntries(m map[string]any, path string) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, e := range m {
		d, err := decodeValue(e, path+"."+k)
		if err != nil {
			return nil, err
		}
		out[k] = d
	}
	return out, nil
}

// encodeObject encodes an Object; nil stays nil (null in the file).
func encodeObject(o plans.Object, path string) (any, error) {
	if o == nil {
		return nil, nil
	}
	return encodeValue(map[string]any(o), path)
}

// decodeObject decodes what encodeObject wrote.
func decodeObject(v any, path string) (plans.Object, error) {
	if v == nil {
		return nil, nil
	}
	d, err := decodeValue(v, path)
	if err != nil {
		return nil, err
	}
	m, ok := d.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object", path)
	}
	return plans.Object(m), nil
}
