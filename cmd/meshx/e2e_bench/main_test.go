// Package e2e_bench benchmarks meshx through its CLI against a lab
// instance with 50 VMs. It holds benchmarks only; correctness is tested
// in the other e2e packages.
package e2e_bench

import (
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "bench", VMs: 50}))
}
