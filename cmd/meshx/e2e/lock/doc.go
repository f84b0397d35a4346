// Package lock proves the environment's lock end to end on the lab: apply
// exits 3 naming the holder, waits with -lock-timeout, takes over the
// Lease of a killed run once it expires, stops when its Lease is deleted
// mid-apply, never creates the Istio namespace, and leaves no Lease behind
// when not approved; force-unlock frees a lock by ID. The lock itself is
// package github.com/meshx-dev/meshx/cmd/meshx/internal/lock.
//
// It has its own lab instance ("lock"); tests run one after another and
// each destroys what it applied.
package lock
