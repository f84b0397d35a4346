package planfile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshx-dev/meshx/plans"
)

// Mismatch is one reason a saved plan no longer holds for an instance.
type Mismatch struct {
	Addr plans.Address
	// Reason says what changed since the plan, e.g. "precondition
	// changed: was digest 1a2b… exists=true, now digest 3c4d… exists=true"
	// or "action differs: update → no-op".
	Reason string
}

func (m Mismatch) String() string { return m.Addr.String() + ": " + m.Reason }

// Compare checks a saved plan's changes against a fresh plan of the same
// configuration and returns, sorted by address, every instance for which
// applying the saved plan would no longer do what was reviewed:
//
//   - a saved change whose instance is no longer planned at all;
//   - a saved change whose precondition no longer holds (the live object
//     changed since the plan: Precondition.Holds);
//   - a saved change whose action differs from the fresh one;
//   - a saved change that sets a sensitive attribute to a value whose
//     fingerprint the fresh plan no longer gives it (or no longer knows).
//     Sensitive values are not in the config digest, so this is how a
//     secret changed since the plan is caught. A value the saved plan
//     showed as known only after apply may become anything;
//   - a fresh change that does something the saved plan did not plan.
//
// A saved no-op that is still a no-op is never a mismatch, even if the
// live object moved: applying the saved plan does nothing to it. Read (a
// deferred read of an object meshx never writes) changes nothing either,
// so it counts as a no-op here: a read that became a no-op (Citadel made
// the secret since) or the reverse is not a mismatch. An empty result
// means the saved plan can be applied as reviewed.
func Compare(saved []plans.Change, fresh *plans.Plan) []Mismatch {
	var out []Mismatch
	inSaved := make(map[plans.Address]bool, len(saved))
	for _, s := range saved {
		inSaved[s.Addr] = true
		f, ok := fresh.Change(s.Addr)
		if !ok {
			if changes(s.Action) {
				out = append(out, Mismatch{s.Addr, "no longer planned"})
			}
			continue
		}
		if !changes(s.Action) && !changes(f.Action) {
			continue
		}
		var why []string
		if !s.Precondition.Holds(f.Precondition) {
			why = append(why, "precondition changed: was "+describe(s.Precondition)+", now "+describe(f.Precondition)+detailChanges(s.Precondition, f.Precondition))
		}
		if s.Action != f.Action {
			why = append(why, fmt.Sprintf("action differs: %s → %s", s.Action, f.Action))
		}
		why = append(why, sensitiveChanges(s, f)...)
		if len(why) > 0 {
			out = append(out, Mismatch{s.Addr, strings.Join(why, "; ")})
		}
	}
	for _, f := range fresh.Changes {
		if !inSaved[f.Addr] && changes(f.Action) {
			out = append(out, Mismatch{f.Addr, fmt.Sprintf("new change not in saved plan (%s)", f.Action)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

// sensitiveChanges describes the sensitive attributes of saved whose
// fingerprints fresh does not repeat. Both are redacted, so the values
// compared are fingerprints (or Unknown).
func sensitiveChanges(saved, fresh plans.Change) []string {
	var out []string
	for _, k := range saved.Sensitive {
		was, ok := saved.After[k]
		if !ok || plans.HasUnknown(was) {
			continue
		}
		now := fresh.After[k]
		if plans.HasUnknown(now) || !plans.Equal(was, now) {
			out = append(out, fmt.Sprintf("sensitive value changed: %s %s → %s", k, shownFingerprint(was), shownFingerprint(now)))
		}
	}
	return out
}

// shownFingerprint renders a redacted sensitive value briefly.
func shownFingerprint(v any) string {
	switch {
	case plans.HasUnknown(v):
		return "(known after apply)"
	case v == nil:
		return "null"
	}
	if s, ok := v.(string); ok && plans.IsFingerprint(s) {
		return s
	}
	return "(other value)"
}

// changes reports whether this action changes anything.
func changes(a plans.Action) bool {
	return a != plans.NoOp && a != plans.Read
}

// describe renders a precondition briefly: "digest 1a2b3c4d5e6f
// exists=true", or "exists=false".
func describe(p plans.Precondition) string {
	if !p.Exists && p.Digest == "" {
		return "exists=false"
	}
	d := p.Digest
	if len(d) > 12 {
		d = d[:12]
	}
	return fmt.Sprintf("digest %s exists=%t", d, p.Exists)
}

// detailChanges lists the provider facts that changed, such as
// " (resourceVersion 123 → 456)", so the user sees what moved.
func detailChanges(was, now plans.Precondition) string {
	keys := map[string]bool{}
	for k := range was.Details {
		keys[k] = true
	}
	for k := range now.Details {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		if was.Details[k] != now.Details[k] {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %s → %s", k, orNone(was.Details[k]), orNone(now.Details[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
