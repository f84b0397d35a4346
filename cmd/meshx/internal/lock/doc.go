// Package lease serialises applies of one environment with a
// coordination.k8s.io Lease in the control cluster's Istio namespace.
//
// The Lease records who holds it (user@host, the CI run URL when there is
// one, the operation and when it started) and is renewed while the holder
// runs; a holder that dies stops renewing and the Lease expires, so the next
// apply proceeds without anyone running force-unlock. It is a lock, not a
// leader election: there is no fencing token, and meshx checks the
// preconditions of every change anyway.
//
// The lock never creates the namespace (a run takes it before anyone
// approved a plan); a missing one is a *NamespaceMissingError. A holder
// whose Lease was deleted or taken, or that could not renew it before it
// expires, has lost the lock: Gone is closed and Lost says why, so the
// caller can stop starting work. The package does not stop anything itself.
package lock
