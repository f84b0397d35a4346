package failures

import (
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// TestUnreachableVM: one of two VMs refuses SSH. plan and apply show the
// same partial plan under the same banner; apply fails naming the VM and
// saying it could not connect, but everything else (the other VM, every
// Kubernetes object) is applied; output reads the cluster alone, refusing
// with -raw a value not known yet; once the VM is back, the plan holds only
// its instances and a second apply finishes.
func TestUnreachableVM(t *testing.T) {
	w := e2etest.New(t, "unreachable")
	w.VMs = []string{"vm1", "vm2"}
	w.Services = []e2etest.Svc{
		{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}},
		{Name: "mysqldb", VMs: []string{"vm2"}, Ports: map[string]int{"mysql": 3306}},
	}
	w.Write()
	w.DestroyOnCleanup()
	if err := w.Lab.StopSSHD(e2etest.Step(t), "vm2"); err != nil {
		t.Fatal(err)
	}
	sshdUp := false
	t.Cleanup(func() { // before destroy
		if !sshdUp {
			if err := w.Lab.StartSSHD(e2etest.Step(t), "vm2"); err != nil {
				t.Errorf("start sshd on vm2: %v", err)
			}
		}
	})

	// Outputs read only the control cluster, so vm2 being down does not
	// matter; before apply the ILB address is not known, which -raw
	// refuses to print as a value.
	out := w.Must(1, "output", "-raw", "pilot_ilb")
	e2etest.Contains(t, "output -raw before apply", out.Stderr, `output "pilot_ilb" is not known yet`)
	if out.Stdout != "" || strings.Contains(out.Stderr, "vm.vm2") {
		t.Errorf("output -raw before apply printed %q, or contacted vm2:\n%s", out.Stdout, out.Stderr)
	}

	// plan and apply show the same partial plan under the same banner.
	banner := "Warning: vm.vm2 could not be observed; this plan is partial"
	plan := w.Must(1, "plan", "-no-color")
	e2etest.Contains(t, "plan", all(plan), banner, "Cannot observe vm.vm2")
	r := w.Must(1, "apply", "-auto-approve", "-no-color")
	e2etest.Contains(t, "apply", r.Stdout, banner)
	if pa, aa := plannedAddrs(plan.Stdout), plannedAddrs(r.Stdout); len(pa) == 0 || strings.Join(pa, "\n") != strings.Join(aa, "\n") {
		t.Errorf("plan and apply planned different changes:\nplan:\n%s\napply:\n%s", strings.Join(pa, "\n"), strings.Join(aa, "\n"))
	}
	vm2 := w.Lab.VM("vm2").Address
	e2etest.Contains(t, "apply", all(r), "Cannot observe vm.vm2", "connect to "+vm2, "connection refused")
	if strings.Contains(all(r), "Cannot observe vm.vm1") {
		t.Errorf("vm1 reported as failed:\n%s", r)
	}
	if !strings.Contains(r.Stdout, "Apply incomplete! ") || !strings.Contains(r.Stdout, "nothing done on vm.vm2") || strings.Contains(r.Stdout, "Apply complete!") {
		t.Errorf("the result line must say the apply is incomplete:\n%s", r.Stdout)
	}

	// Everything but vm2 was applied.
	cs, c := w.Client("control"), t.Context()
	for _, n := range [][2]string{{"istio-system", "istio-pilot-ilb"}, {"istio-system", "mixer-ilb"}, {"istio-system", "citadel-ilb"}, {"kube-system", "dns-ilb"}} {
		s, err := cs.CoreV1().Services(n[0]).Get(c, n[1], e2etest.Get)
		if err != nil {
			t.Errorf("%s/%s: %v", n[0], n[1], err)
		} else if len(s.Status.LoadBalancer.Ingress) == 0 {
			t.Errorf("%s/%s has no address", n[0], n[1])
		}
	}
	for name, vm := range map[string]string{"details": "vm1", "mysqldb": "vm2"} {
		if _, err := cs.CoreV1().Services(w.Namespace).Get(c, name, e2etest.Get); err != nil {
			t.Errorf("Service %s: %v", name, err)
		}
		ep, err := cs.CoreV1().Endpoints(w.Namespace).Get(c, name, e2etest.Get)
		if err != nil {
			t.Errorf("Endpoints %s: %v", name, err)
		} else if ip := w.Lab.VM(vm).Address; len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != ip {
			t.Errorf("Endpoints %s = %+v, want %s", name, ep.Subsets, ip)
		}
	}
	for _, p := range []string{"/etc/dnsmasq.d/kubedns", "/var/lib/istio/envoy/cluster.env", "/etc/certs/key.pem"} {
		w.VMExec("vm1", "test", "-s", p) // fails the test when missing or empty
	}
	if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env"); !strings.Contains(got, "\nISTIO_INBOUND_PORTS=9080\n") {
		t.Errorf("vm1 sidecar.env:\n%s", got)
	}
	vmPathsAbsent(t, w, "vm2", "/etc/dnsmasq.d/kubedns", "/var/lib/istio/envoy/cluster.env", "/var/lib/meshx/unreachable.json")

	// With vm2 still down, the output is read from the cluster alone.
	pilot, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get)
	if err != nil || len(pilot.Status.LoadBalancer.Ingress) == 0 {
		t.Fatalf("istio-pilot-ilb: %v %+v", err, pilot)
	}
	if out := w.Must(0, "output", "-raw", "pilot_ilb"); strings.TrimSpace(out.Stdout) != pilot.Status.LoadBalancer.Ingress[0].IP {
		t.Errorf("output -raw pilot_ilb = %q, want %s", out.Stdout, pilot.Status.LoadBalancer.Ingress[0].IP)
	}

	// vm2 is back: only its instances remain.
	if err := w.Lab.StartSSHD(e2etest.Step(t), "vm2"); err != nil {
		t.Fatal(err)
	}
	sshdUp = true
	p := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	addrs := plannedAddrs(p.Stdout)
	if len(addrs) == 0 {
		t.Fatalf("plan lists no changes:\n%s", p.Stdout)
	}
	// The inventory is written after every target it lists is done, so the
	// apply that could not reach vm2 did not write it: it comes now, with
	// vm2's instances.
	for _, a := range addrs {
		if !strings.HasPrefix(a, "vm.vm2.") && a != "cluster.control.inventory" {
			t.Errorf("plan changes %s, which does not belong to vm2:\n%s", a, p.Stdout)
		}
	}
	e2etest.Contains(t, "plan", strings.Join(addrs, "\n"), `vm.vm2.file["/etc/dnsmasq.d/kubedns"]`, `vm.vm2.package["istio-sidecar"]`, "cluster.control.inventory")
	w.Must(0, "apply", "-auto-approve", "-no-color")
	if got := w.VMExec("vm2", "cat", "/var/lib/istio/envoy/sidecar.env"); !strings.Contains(got, "\nISTIO_INBOUND_PORTS=3306\n") {
		t.Errorf("vm2 sidecar.env:\n%s", got)
	}
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")
}
