// Package providers is the vocabulary shared by the planner, the executor and
// the concrete providers (providers/kube over client-go, providers/vm over
// SSH): resource addresses, actions, changes, observed and desired objects,
// and the Provider interface.
//
// It is a leaf: it imports no other meshx package, knows nothing of HCL and
// talks to no system. Planning (expanding configuration, diffing, ordering)
// lives in package planner; walking a plan lives in package executor.
//
// Objects are JSON-shaped attribute maps (string, bool, int64, float64,
// []any, map[string]any, nil) so that diffs, plan files and machine output
// need no per-kind code. A leaf may be Unknown while planning: its value is
// known only after something it depends on has been applied. Secret values
// live only in memory: every Object that leaves a provider or the planner for
// display or storage carries a Fingerprint in place of a sensitive value.
package providers
