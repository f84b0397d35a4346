package bookinfo

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
)

// TestGCETutorialExample applies examples/gce-0.2, unchanged, with the
// values the lab writes: the Istio 0.2 cluster of Google's Compute Engine
// tutorial. It checks the four ILBs' names, namespaces, ports and selectors
// (0.2's install/kubernetes/mesh-expansion.yaml), cluster.env and kubedns
// line by line against the tutorial's output (setupMeshEx.sh's
// generateClusterEnv and generateDnsmasq), the root certificate alone
// (gceMachineSetup), the
// three packages of setupIstioVM.sh, units enabled and active, the VM's
// dnsmasq answering the control-plane names and forwarding cluster names
// to the cluster's DNS, mysqldb registered with the VM's IP, an empty
// second plan, and destroy removing the packages.
func TestGCETutorialExample(t *testing.T) {
	l := lab.Get(t)
	control := l.Cluster("control")
	w := e2etest.Example(t, l, "gce-0.2", "-var-file="+l.ExamplesVars, "-var", "control_pod_cidr="+control.PodCIDR, "-no-color")
	run := w.Must

	apply := run(0, "apply", "-auto-approve")
	if !strings.Contains(apply.Stdout, "Apply complete!") {
		t.Fatalf("apply: %s", apply)
	}
	cs, c := w.Client("control"), t.Context()

	// mesh-expansion.yaml of 0.2: pilot on 8080 only, mixer on 9091, the CA
	// as istio-ca-ilb, kube-dns on 53/UDP.
	addr := map[string]string{}
	for _, want := range []struct {
		ns, name string
		ports    []string
		selector map[string]string
	}{
		{"istio-system", "istio-pilot-ilb", []string{"8080/TCP"}, map[string]string{"istio": "pilot"}},
		{"istio-system", "mixer-ilb", []string{"9091/TCP"}, map[string]string{"istio": "mixer"}},
		{"istio-system", "istio-ca-ilb", []string{"8060/TCP"}, map[string]string{"istio": "istio-ca"}},
		{"kube-system", "dns-ilb", []string{"53/UDP"}, map[string]string{"k8s-app": "kube-dns"}},
	} {
		s, err := cs.CoreV1().Services(want.ns).Get(c, want.name, e2etest.Get)
		if err != nil {
			t.Fatalf("%s/%s: %v", want.ns, want.name, err)
		}
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer || s.Annotations["cloud.google.com/load-balancer-type"] != "Internal" {
			t.Errorf("%s: type %s annotations %v", want.name, s.Spec.Type, s.Annotations)
		}
		var ports []string
		for _, p := range s.Spec.Ports {
			ports = append(ports, strconv.Itoa(int(p.Port))+"/"+string(p.Protocol))
		}
		if diff := cmp.Diff(want.ports, ports); diff != "" {
			t.Errorf("%s ports (-want +got):\n%s", want.name, diff)
		}
		if diff := cmp.Diff(want.selector, s.Spec.Selector); diff != "" {
			t.Errorf("%s selector (-want +got):\n%s", want.name, diff)
		}
		if len(s.Status.LoadBalancer.Ingress) == 0 {
			t.Fatalf("%s has no address after apply", want.name)
		}
		addr[want.name] = s.Status.LoadBalancer.Ingress[0].IP
	}
	if _, err := cs.CoreV1().Services("istio-system").Get(c, "citadel-ilb", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("the 0.2 profile made a citadel-ilb: %v", err)
	}

	// istioctl register -n vm mysqldb <vm> 3306.
	vmIP := l.VMs[0].Address
	vm := l.VMs[0].Name
	ep, err := cs.CoreV1().Endpoints("vm").Get(c, "mysqldb", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != vmIP ||
		len(ep.Subsets[0].Ports) != 1 || ep.Subsets[0].Ports[0].Port != 3306 || ep.Subsets[0].Ports[0].Name != "mysql" {
		t.Errorf("endpoints vm/mysqldb = %+v, want %s:3306 (mysql)", ep.Subsets, vmIP)
	}

	// The tutorial's `cat kubedns` and `cat cluster.env`, line by line.
	wantKubedns := "server=/svc.cluster.local/" + addr["dns-ilb"] + "\n" +
		"address=/istio-mixer/" + addr["mixer-ilb"] + "\n" +
		"address=/istio-pilot/" + addr["istio-pilot-ilb"] + "\n" +
		"address=/istio-ca/" + addr["istio-ca-ilb"] + "\n" +
		"address=/istio-mixer.istio-system/" + addr["mixer-ilb"] + "\n" +
		"address=/istio-pilot.istio-system/" + addr["istio-pilot-ilb"] + "\n" +
		"address=/istio-ca.istio-system/" + addr["istio-ca-ilb"] + "\n"
	if diff := cmp.Diff(wantKubedns, w.VMExec(vm, "cat", "/etc/dnsmasq.d/kubedns")); diff != "" {
		t.Errorf("kubedns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("ISTIO_SERVICE_CIDR="+control.ServiceCIDR+"\n", w.VMExec(vm, "cat", "/var/lib/istio/envoy/cluster.env")); diff != "" {
		t.Errorf("cluster.env (-want +got):\n%s", diff)
	}

	// gceMachineSetup: the root certificate only, readable by the proxy.
	for path, want := range map[string]string{
		"/etc/dnsmasq.d/kubedns":           "644 root root",
		"/var/lib/istio/envoy/cluster.env": "644 istio-proxy istio-proxy",
		"/etc/certs/root-cert.pem":         "644 istio-proxy istio-proxy",
		"/etc/certs/cert-chain.pem":        "absent",
		"/etc/certs/key.pem":               "absent",
	} {
		if got := w.VMStat(vm, path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	secret, err := cs.CoreV1().Secrets("vm").Get(c, "istio.default", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.VMExec(vm, "cat", "/etc/certs/root-cert.pem"); got != string(secret.Data["root-cert.pem"]) {
		t.Error("root-cert.pem on the VM differs from the istio.default secret")
	}

	// setupIstioVM.sh 0.2's three packages, and no istio-sidecar installed.
	got := w.VMExec(vm, "sh", "-c", "for p in istio-agent istio-auth-node-agent istio-proxy; do echo \"$p $(dpkg-query -W -f '${Version} ${Status}' $p 2>/dev/null || echo absent)\"; done")
	wantPkgs := "istio-agent 0.2.12-lab1 install ok installed\nistio-auth-node-agent 0.2.12-lab1 install ok installed\n" +
		"istio-proxy 0.2.12-lab1 install ok installed\n"
	if diff := cmp.Diff(wantPkgs, got); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	if st := w.VMExec(vm, "sh", "-c", "dpkg-query -W -f '${Status}' istio-sidecar 2>/dev/null || true"); strings.Contains(st, "install ok installed") {
		t.Errorf("istio-sidecar is installed (%s); profile 0.2 ships three packages instead", st)
	}
	sidecar := w.VMExec(vm, "cat", "/var/lib/istio/envoy/sidecar.env")
	for _, line := range []string{"ISTIO_INBOUND_PORTS=3306", "ISTIO_NAMESPACE=vm", "ISTIO_SERVICE=mysqldb"} {
		if !strings.Contains(sidecar, "\n"+line+"\n") {
			t.Errorf("sidecar.env lacks %q:\n%s", line, sidecar)
		}
	}
	if strings.Contains(sidecar, "\nISTIO_PILOT_PORT=") {
		t.Errorf("sidecar.env sets ISTIO_PILOT_PORT, but 0.2's pilot serves 8080 only:\n%s", sidecar)
	}
	for _, u := range []string{"dnsmasq", "istio-auth-node-agent", "istio"} {
		if got := strings.TrimSpace(w.VMExec(vm, "sh", "-c", "systemctl is-enabled "+u+"; systemctl is-active "+u+"; true")); got != "enabled\nactive" {
			t.Errorf("%s is %q, want enabled and active", u, got)
		}
	}

	// Inside the VM, its own dnsmasq answers the control-plane names with
	// the ILB addresses, and forwards cluster names to the cluster's DNS
	// through dns-ilb.
	for name, ilb := range map[string]string{
		"istio-pilot.istio-system": "istio-pilot-ilb", "istio-ca.istio-system": "istio-ca-ilb",
		"istio-mixer": "mixer-ilb", "istio-ca": "istio-ca-ilb",
	} {
		if got := w.VMExec(vm, "host", "-t", "A", name); !strings.Contains(got, "has address "+addr[ilb]) {
			t.Errorf("host %s in the VM: %q, want %s", name, got, addr[ilb])
		}
	}
	pilot, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.VMExec(vm, "host", "-t", "A", "istio-pilot.istio-system.svc.cluster.local."); !strings.Contains(got, "has address "+pilot.Spec.ClusterIP) {
		t.Errorf("host istio-pilot.istio-system.svc.cluster.local. in the VM: %q, want its ClusterIP %s", got, pilot.Spec.ClusterIP)
	}
	if !strings.Contains(apply.Stdout, `pilot_ilb = "`+addr["istio-pilot-ilb"]+`"`) {
		t.Errorf("apply did not print the pilot_ilb output:\n%s", apply.Stdout)
	}

	// A second plan is empty.
	run(0, "plan", "-detailed-exitcode")

	// Destroy takes the three packages off the VM with the files.
	run(0, "destroy", "-auto-approve")
	got = w.VMExec(vm, "sh", "-c", "for p in istio-agent istio-auth-node-agent istio-proxy; do dpkg-query -W -f '${Status}\n' $p 2>/dev/null | grep -q ' installed' && echo \"$p installed\"; done; ls /etc/certs/root-cert.pem /etc/dnsmasq.d/kubedns 2>/dev/null; true")
	if got != "" {
		t.Errorf("destroy left on the VM:\n%s", got)
	}
	if _, err := cs.CoreV1().Services("istio-system").Get(c, "istio-ca-ilb", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("istio-ca-ilb still there: %v", err)
	}
}
