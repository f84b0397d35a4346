// Package proc starts the lab's long-running daemons (etcd, kube-apiserver,
// controllers) detached from the caller, records each by PID and kernel start
// time, and ends them again by that record only.
//
// A record is checked against /proc before any signal is sent, so a recycled
// PID is never signalled. proc does not search for processes by name and never
// signals anything it has no record for.
package proc
