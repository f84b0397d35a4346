package verify

import (
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

// The lab runs istiod and CoreDNS: a VM's names under svc.cluster.local
// are answered through dns-ilb by the cluster's real DNS.
func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "verify", VMs: 1, Istio: true}))
}
