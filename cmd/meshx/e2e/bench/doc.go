// Command bench (bin/meshxbench) runs `make bench`: meshx measured against
// the tools people would use instead, on a running lab instance, in one
// run. It prints one table with both sides of each comparison and their
// ratio and writes it, with a description of the machine, to
// docs/performance.md.
//
//   - P1: a no-op `meshx plan` over N VMs against `ansible-playbook --check
//     --diff` of a playbook generated from the VMs' meshx manifests (the
//     same files, env keys, lines, packages and units), with 5 forks and
//     with N, and against the floor: N parallel `ssh host true`.
//   - P2: `meshx apply` of 200 registered services against `kubectl apply
//     --server-side` of the same Services and Endpoints from one file, and
//     the no-op plan of that configuration.
//   - P3: the peak resident set of `meshx plan` at 200 VMs and 1000
//     services.
//   - P4: `meshx apply` on N fresh VMs, per VM, with where the time went
//     (from the -json event stream).
//
// Runs of the things compared are interleaved, round after round, and
// each figure is the median of its rounds. It is a program, not a test: it
// asserts nothing, it measures; the targets are printed beside the
// figures.
package main
