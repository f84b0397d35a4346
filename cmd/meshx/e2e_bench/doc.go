// Package e2e_bench benchmarks meshx through its CLI against a lab
// instance with 50 VMs. It holds benchmarks only; correctness is tested
// in the other e2e packages.
package e2e_bench
