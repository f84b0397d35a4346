// Package lease serialises applies of one environment with a
// coordination.k8s.io Lease in the control cluster's Istio namespace.
//
// The Lease records who holds it (user@host, the CI run URL when there is
// one, the operation and when it started) and is renewed while the holder
// runs; a holder that dies stops renewing and the Lease expires, so the next
// apply proceeds without anyone running force-unlock. It is a lock, not a
// leader election: there is no fencing token, and meshx checks the
// preconditions of every change anyway.
package lease
