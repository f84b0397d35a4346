// Package providers defines what the planner and the executor ask of a
// system meshx manages: the Provider interface (observe, apply), the
// desired Resource the planner builds for it, and what a provider reports
// back. The concrete providers live below it: providers/kube over client-go,
// providers/vm over SSH.
//
// The plan model itself (addresses, changes, objects) is package plans.
package providers
