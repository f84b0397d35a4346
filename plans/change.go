package plans

import "fmt"

// Action is what a plan does to one resource instance. It is a closed set.
type Action uint8

const (
	// NoOp leaves the instance as it is.
	NoOp Action = iota
	// Create makes an instance that does not exist.
	Create
	// Update changes an existing instance in place (for a unit: restarts it).
	Update
	// Replace deletes the instance and creates it again.
	Replace
	// Delete removes an instance this environment owns but no longer declares.
	Delete
	// Read fetches, during apply, an instance meshx only reads and that does
	// not exist yet when planning (the Citadel secret of a namespace the
	// same apply creates). It changes nothing and is not counted as a change.
	Read
)

var actionNames = [...]string{"no-op", "create", "update", "replace", "delete", "read"}

// String returns the action's name as machine output spells it:
// "no-op", "create", "update", "replace", "delete", "read".
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", a)
}

// Change is one planned action on one resource instance.
//
// Before is what was observed: nil for Create. After is what the
// configuration asks for: nil for Delete; for NoOp it equals Before on every
// attribute the configuration sets. After may hold Unknown leaves. Both
// are redacted: a sensitive attribute holds its Fingerprint (or, in After,
// Unknown) and its name is listed in Sensitive.
type Change struct {
	Addr   Address
	Action Action
	Before Object
	After  Object
	// Sensitive lists the top-level attributes of Before/After that stand
	// for secrets, sorted.
	Sensitive []string
	// Reason says why, in a short phrase, when the action alone does not:
	// "not in configuration" for a delete, "inputs changed: …" for a unit
	// restart, "adopting an existing object" for an adoption.
	Reason string
	// Drift is set when the live object differs from what meshx last
	// applied: it was changed outside meshx.
	Drift bool
	// Adopt is set when the change takes ownership of an existing object
	// that meshx did not create (the user asked for it explicitly).
	Adopt bool
	// Precondition is what the plan was made against; apply of a saved plan
	// refuses the change when the live object no longer matches it.
	Precondition Precondition
	// DependsOn are the instances that must be applied before this one.
	DependsOn []Address
	// Kind and Target copy the instance's Resource.Kind and Resource.Target
	// (Observed.Kind and Observed.Target for an orphan), so a saved plan,
	// which keeps no Resources, can still say what and where each instance
	// is. Empty when the planner did not set them.
	Kind   string
	Target string
}

// Precondition records the observed state a change was planned against.
type Precondition struct {
	// Exists is whether the instance existed.
	Exists bool `json:"exists"`
	// Digest is Digest of the observed (redacted) object.
	Digest string `json:"digest,omitempty"`
	// Details are provider-specific facts shown to a user when the
	// precondition fails, such as "resourceVersion" or "sha256".
	Details map[string]string `json:"details,omitempty"`
}

// Holds reports whether a new observation still matches p.
func (p Precondition) Holds(now Precondition) bool {
	return p.Exists == now.Exists && p.Digest == now.Digest
}
