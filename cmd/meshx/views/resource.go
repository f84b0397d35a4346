package views

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/meshx-dev/meshx/plans"
)

// resourceName is the address without its key: block.name.type. Machine
// output calls it the resource name, so that addr = name + ["key"] as in
// Terraform's type.name[key].
func resourceName(a plans.Address) string {
	a.Key = ""
	return a.String()
}

// resourceKey is the key of a, or nil when it has none.
func resourceKey(a plans.Address) *string {
	if a.Key == "" {
		return nil
	}
	k := a.Key
	return &k
}

// instanceKey is the key of the block instance a is in, as machine output
// carries it: a string for a block with for_each, a number for count, nil
// (left out) for a block of one instance.
func instanceKey(a plans.Address) any {
	_, key := a.Instance()
	return key.Value()
}

// sensitiveToken names a value that must not be shown: its fingerprint
// when it is one (or a Sensitive that slipped through), "known after apply"
// for Unknown, "null" for nil, and otherwise a fingerprint of its canonical
// JSON so that a reviewer still sees whether it changes. It never reveals
// the value.
func sensitiveToken(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case plans.Sensitive:
		return t.Fingerprint()
	case string:
		if plans.IsFingerprint(t) {
			return t
		}
		return plans.Fingerprint([]byte(t))
	}
	if plans.IsUnknown(v) {
		return "known after apply"
	}
	b, err := json.Marshal(safeJSON(v, nil))
	if err != nil {
		return "unprintable"
	}
	return plans.Fingerprint(b)
}

// sensitiveValue is what machine output shows for a sensitive attribute:
// the value itself when it is a fingerprint, nil or Unknown, and a
// fingerprint in its place otherwise.
func sensitiveValue(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		if plans.IsFingerprint(t) {
			return t
		}
	}
	if plans.IsUnknown(v) {
		return v
	}
	return sensitiveToken(v)
}

// safeJSON returns a JSON-shaped copy of v in which every attribute named
// in sensitive (top level only, as Change.Sensitive lists them) holds
// sensitiveValue, every Sensitive leaf its fingerprint, and every Unknown
// leaf nil. Non-finite floats, which JSON cannot carry, become strings.
func safeJSON(v any, sensitive map[string]bool) any {
	v = plans.Normalize(v)
	switch t := v.(type) {
	case plans.Sensitive:
		return t.Fingerprint()
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if sensitive[k] {
				e = sensitiveValue(e)
			}
			out[k] = safeJSON(e, nil)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = safeJSON(e, nil)
		}
		return out
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return strconv.FormatFloat(t, 'g', -1, 64)
		}
		return t
	case nil, string, bool, int64:
		return t
	}
	if plans.IsUnknown(v) {
		return nil
	}
	// Not JSON-shaped: show its type only, never its contents.
	return "(unsupported value)"
}

// stringSet turns a list into a membership map.
func stringSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// countDestructive returns how many changes delete or replace an instance.
func countDestructive(p *plans.Plan) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == plans.Delete || c.Action == plans.Replace {
			n++
		}
	}
	return n
}
