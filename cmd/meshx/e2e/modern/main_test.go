package modern

import (
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

// The end-to-end tests of this package share one lab instance with a real
// istiod, and run one after another: the istiod load balancer is a
// cluster-wide name one environment owns at a time, and the sidecar
// changes the VM's iptables while it runs.
func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "modern", VMs: 1, Istio: true}))
}
