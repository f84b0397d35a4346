package failures

import (
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// TestLoadBalancerTimeout: the cluster never gives the ILBs an address.
// Apply waits wait_timeout, fails naming the Service and what to check,
// and still carries out every change that does not need an ILB address;
// once addresses come, a second apply finishes and a plan is empty.
func TestLoadBalancerTimeout(t *testing.T) {
	w := e2etest.New(t, "lbtimeout")
	w.LBNever()
	w.VMs = []string{"vm1"}
	w.WaitTimeout = "5s"
	w.Services = []e2etest.Svc{
		{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}},
		{Name: "mysqldb", VMs: []string{"vm1"}, Ports: map[string]int{"mysql": 3306}},
	}
	w.Write()
	w.DestroyOnCleanup()

	r := w.Must(1, "apply", "-auto-approve", "-no-color")
	e2etest.Contains(t, "failed apply", all(r),
		"Service istio-system/istio-pilot-ilb has no load-balancer address after",
		"is a load-balancer controller",
		"kubectl -n istio-system describe svc istio-pilot-ilb",
		"Service kube-system/dns-ilb has no load-balancer address",
	)

	// The branches that need no ILB address were applied.
	cs, c := w.Client("control"), t.Context()
	vmIP := w.Lab.VM("vm1").Address
	for _, name := range []string{"details", "mysqldb"} {
		if _, err := cs.CoreV1().Services(w.Namespace).Get(c, name, e2etest.Get); err != nil {
			t.Errorf("Service %s: %v", name, err)
		}
		ep, err := cs.CoreV1().Endpoints(w.Namespace).Get(c, name, e2etest.Get)
		if err != nil {
			t.Errorf("Endpoints %s: %v", name, err)
		} else if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != vmIP {
			t.Errorf("Endpoints %s = %+v, want %s", name, ep.Subsets, vmIP)
		}
	}
	if v := strings.TrimSpace(w.VMExec("vm1", "dpkg-query", "-W", "-f", "${Version}", "istio-sidecar")); v == "" {
		t.Error("the sidecar package was not installed")
	}
	// What needs the addresses was not.
	vmPathsAbsent(t, w, "vm1", "/etc/dnsmasq.d/kubedns", "/var/lib/istio/envoy/cluster.env")

	// Addresses come; apply finishes the job.
	if err := w.Lab.SetLBMode(e2etest.Step(t), "control", "ip"); err != nil {
		t.Fatal(err)
	}
	r = w.Must(0, "apply", "-auto-approve", "-no-color")
	e2etest.Contains(t, "second apply", r.Stdout, "Apply complete!", `vm.vm1.file["/etc/dnsmasq.d/kubedns"]`)
	s, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Status.LoadBalancer.Ingress) == 0 {
		t.Fatal("istio-pilot-ilb has no address after the second apply")
	}
	if got := w.VMExec("vm1", "cat", "/etc/dnsmasq.d/kubedns"); !strings.Contains(got, "address=/istio-pilot/"+s.Status.LoadBalancer.Ingress[0].IP+"\n") {
		t.Errorf("kubedns lacks the pilot ILB address %s:\n%s", s.Status.LoadBalancer.Ingress[0].IP, got)
	}
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")
}
