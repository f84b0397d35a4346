// Package e2e_fail holds end-to-end tests of meshx's behaviour when things
// go wrong (a load balancer that never gets an address, an object meshx
// does not own, an unreachable VM, an unknown host key), the multicluster
// example, and benchmarks of plan and apply through the real CLI. Every
// test runs the CLI in-process against this package's own lab instance.
package e2e_fail
