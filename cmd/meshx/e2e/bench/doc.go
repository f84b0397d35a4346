// Package bench benchmarks meshx through its CLI on a lab instance with 50
// VMs: a no-op plan over all of them (with its peak RSS), and plan and
// apply of 200 registered services on two. It holds benchmarks only, so a
// plain `go test` starts no lab; correctness is tested in the other e2e
// packages. scripts/bench.sh runs it.
package bench
