// Package plans is the plan model every other package shares: resource
// addresses, actions, changes, plans and the attribute maps (Objects) they
// compare, with sensitive values and the unknowns of planning.
//
// It is a leaf: it imports no other meshx package, knows nothing of HCL and
// talks to no system. Building a plan (expanding configuration, observing,
// diffing, ordering) is package planner's job; walking one is package
// executor's; saving one is package planfile's.
//
// Objects are JSON-shaped attribute maps (string, bool, int64, float64,
// []any, map[string]any, nil) so that diffs, plan files and machine output
// need no per-kind code. A leaf may be Unknown while planning: its value is
// known only after something it depends on has been applied. Secret values
// live only in memory: every Object that leaves a provider or the planner for
// display or storage carries a Fingerprint in place of a sensitive value.
package plans
