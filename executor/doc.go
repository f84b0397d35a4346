// Package executor carries out a plan: it walks the plan's dependency graph
// with bounded parallelism, renders each instance with the real outputs of
// what it depends on (load-balancer addresses, tokens), asks the instance's
// provider to apply it, and reports every step as an Event.
//
// It never prints and never decides what to change: the plan did. A failure
// stops only what depends on the failed instance; independent branches go
// on, and the run ends with every error collected. Cancelling the context
// stops new work from starting; steps already running finish.
package executor
