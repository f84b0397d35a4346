package bookinfo

import (
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

// The end-to-end tests of this package share one lab instance and run one
// after another: the mesh-expansion load balancers are cluster-wide names
// one environment owns at a time. The lab runs a real istiod and CoreDNS,
// so that a real control plane reads what meshx writes.
func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "bookinfo", VMs: 3, Istio: true}))
}
