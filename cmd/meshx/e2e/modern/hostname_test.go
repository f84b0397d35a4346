package modern

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab/kubelab"
)

// TestHostnameLoadBalancer applies examples/vm-modern while the lab's load
// balancers answer as AWS's do, with a hostname and no IP in
// status.loadBalancer.ingress (istioctl then writes an empty hosts file).
// meshx resolves the name where it runs, at plan, and writes the address
// into the VM's /etc/hosts line; the real pilot-agent gets its
// certificate through it, and a second plan is empty.
func TestHostnameLoadBalancer(t *testing.T) {
	l, w, _ := vmModern(t)
	vm := l.VMs[0].Name
	c := t.Context()
	cs := w.Client("control")
	if err := l.SetLBMode(e2etest.Step(t), "control", kubelab.LBModeHostname); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.SetLBMode(e2etest.Step(t), "control", kubelab.LBModeIP); err != nil {
			t.Errorf("restore lb mode: %v", err)
		}
	})
	// The machine running meshx asks a DNS server that knows the load
	// balancers' names, as a machine in the VPC asks the VPC's resolver:
	// the lab's CoreDNS, which answers them from the lab controller's
	// records. meshx's own lookup (net.DefaultResolver) is unchanged.
	dns := l.Istio.DNS["control"]
	saved := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, dns)
	}}
	t.Cleanup(func() { net.DefaultResolver = saved })

	before, _ := workloadCert(w, vm)
	w.Must(0, "apply", "-auto-approve")
	ilb, err := cs.CoreV1().Services("istio-system").Get(c, "istiod-ilb", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	in := ilb.Status.LoadBalancer.Ingress
	if len(in) != 1 || in[0].IP != "" || !strings.HasSuffix(in[0].Hostname, kubelab.HostnameSuffix) {
		t.Fatalf("istiod-ilb's ingress is %+v, want a hostname alone", in)
	}
	addr := ilb.Annotations[kubelab.AddressAnnotation]
	line := addr + " istiod.istio-system.svc"
	if n := strings.TrimSpace(w.VMExec(vm, "grep", "-cxF", line, "/etc/hosts")); n != "1" {
		t.Errorf("/etc/hosts has %q %s times, want once (the address behind %s):\n%s", line, n, in[0].Hostname, w.VMExec(vm, "cat", "/etc/hosts"))
	}
	waitCert(t, w, vm, spiffe, before)
	w.Must(0, "plan", "-detailed-exitcode")
	out := w.Must(0, "output", "-raw", "istiod_ilb")
	if got := strings.TrimSpace(out.Stdout); got != in[0].Hostname {
		t.Errorf("output istiod_ilb = %q, want the hostname %q", got, in[0].Hostname)
	}
}
