// Package e2e_fail holds end-to-end tests of meshx's behaviour when things
// go wrong (a load balancer that never gets an address, an object meshx
// does not own, an unreachable VM, an unknown host key), the multicluster
// example, and benchmarks of plan and apply through the real CLI. Every
// test runs the CLI in-process against this package's own lab instance.
package e2e_fail

import (
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

// The tests share one lab instance and run one after another: the
// mesh-expansion load balancers are cluster-wide names one environment
// owns at a time.
func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "fail", VMs: 3}))
}
