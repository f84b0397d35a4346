package failures

import (
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

// The tests share one lab instance and run one after another: the
// mesh-expansion load balancers are cluster-wide names one environment
// owns at a time.
func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "failures", VMs: 3}))
}
