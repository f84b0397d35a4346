// Package failures holds end-to-end tests of meshx's behaviour when things
// go wrong: a load balancer that never gets an address, an object meshx
// does not own, an unreachable VM, an unknown host key. Every test runs
// the CLI in-process against this package's own lab instance ("failures");
// tests run one after another and each destroys what it applied.
package failures
