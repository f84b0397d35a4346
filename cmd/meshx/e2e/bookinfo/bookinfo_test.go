package bookinfo

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// TestBookinfoOnVM is the single-VM flow of Istio 1.0's mesh expansion
// (setupMeshEx.sh machineSetup, then istioctl register): details (9080) and
// mysqldb (3306) on one VM in namespace bookinfo. It checks every object
// and file meshx makes, that a second plan is empty, that hand edits show
// as drift and are reverted, that keys meshx does not manage survive, that
// dropping a service restarts istio but not dnsmasq, and that destroy
// leaves nothing.
func TestBookinfoOnVM(t *testing.T) {
	w := e2etest.New(t, "bookinfo")
	w.VMs = []string{"vm1"}
	w.Services = []e2etest.Svc{
		{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}},
		{Name: "mysqldb", VMs: []string{"vm1"}, Ports: map[string]int{"mysql": 3306}},
	}
	w.Write()
	w.DestroyOnCleanup()

	plan := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	if !strings.Contains(plan.Stdout, `vm.vm1.file["/etc/dnsmasq.d/kubedns"] will be created`) ||
		!strings.Contains(plan.Stdout, "(known after apply)") {
		t.Fatalf("first plan lacks the kubedns file or unknown values:\n%s", plan.Stdout)
	}
	// Without -auto-approve and with no terminal to answer on, apply
	// refuses rather than prompting, and changes nothing.
	refused := w.Must(1, "apply", "-no-color")
	if !strings.Contains(refused.Stderr, "Approval needed") || strings.Contains(refused.Stdout, "Creating...") {
		t.Fatalf("apply without approval: %s", refused)
	}
	if _, err := w.Client("control").CoreV1().Services("bookinfo").Get(t.Context(), "details", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Fatalf("apply without approval created the details Service: %v", err)
	}
	apply := w.Must(0, "apply", "-auto-approve", "-no-color")
	if !strings.Contains(apply.Stdout, "Apply complete!") {
		t.Fatalf("apply: %s", apply)
	}

	cs := w.Client("control")
	c := t.Context()

	// The mesh-expansion load balancers, with their addresses.
	addr := map[string]string{}
	for _, want := range []struct {
		ns, name string
		ports    []int32
	}{
		{"istio-system", "istio-pilot-ilb", []int32{15005, 8080, 15010, 15011}},
		{"istio-system", "mixer-ilb", []int32{15004}},
		{"istio-system", "citadel-ilb", []int32{8060}},
		{"kube-system", "dns-ilb", []int32{53}},
	} {
		s, err := cs.CoreV1().Services(want.ns).Get(c, want.name, e2etest.Get)
		if err != nil {
			t.Fatalf("%s/%s: %v", want.ns, want.name, err)
		}
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer || s.Annotations["cloud.google.com/load-balancer-type"] != "Internal" {
			t.Errorf("%s: type %s annotations %v", want.name, s.Spec.Type, s.Annotations)
		}
		if s.Labels["app.kubernetes.io/managed-by"] != "meshx" || s.Labels["meshx.dev/environment"] != "bookinfo" {
			t.Errorf("%s: labels %v", want.name, s.Labels)
		}
		var ports []int32
		for _, p := range s.Spec.Ports {
			ports = append(ports, p.Port)
		}
		if !sameInts(want.ports, ports) {
			t.Errorf("%s ports = %v, want %v", want.name, ports, want.ports)
		}
		if len(s.Status.LoadBalancer.Ingress) == 0 {
			t.Fatalf("%s has no address after apply", want.name)
		}
		addr[want.name] = s.Status.LoadBalancer.Ingress[0].IP
	}

	// istioctl register, done right: selector-less Services and Endpoints.
	vmIP := w.Lab.VM("vm1").Address
	for name, port := range map[string]int32{"details": 9080, "mysqldb": 3306} {
		s, err := cs.CoreV1().Services("bookinfo").Get(c, name, e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Spec.Selector) != 0 || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != port ||
			s.Annotations["alpha.istio.io/kubernetes-serviceaccounts"] != "default" {
			t.Errorf("service %s = %+v", name, s.Spec)
		}
		ep, err := cs.CoreV1().Endpoints("bookinfo").Get(c, name, e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != vmIP {
			t.Errorf("endpoints %s = %+v, want %s", name, ep.Subsets, vmIP)
		}
	}

	// The VM: files with exact content, modes and owners.
	wantKubedns := "server=/svc.cluster.local/" + addr["dns-ilb"] + "\n" +
		"address=/istio-policy/" + addr["mixer-ilb"] + "\n" +
		"address=/istio-telemetry/" + addr["mixer-ilb"] + "\n" +
		"address=/istio-pilot/" + addr["istio-pilot-ilb"] + "\n" +
		"address=/istio-citadel/" + addr["citadel-ilb"] + "\n" +
		"address=/istio-ca/" + addr["citadel-ilb"] + "\n" +
		"address=/istio-policy.istio-system/" + addr["mixer-ilb"] + "\n" +
		"address=/istio-telemetry.istio-system/" + addr["mixer-ilb"] + "\n" +
		"address=/istio-pilot.istio-system/" + addr["istio-pilot-ilb"] + "\n" +
		"address=/istio-citadel.istio-system/" + addr["citadel-ilb"] + "\n" +
		"address=/istio-ca.istio-system/" + addr["citadel-ilb"] + "\n"
	if diff := cmp.Diff(wantKubedns, w.VMExec("vm1", "cat", "/etc/dnsmasq.d/kubedns")); diff != "" {
		t.Errorf("kubedns (-want +got):\n%s", diff)
	}
	wantEnv := "ISTIO_SERVICE_CIDR=" + w.Lab.ControlCluster().ServiceCIDR + "\nISTIO_SYSTEM_NAMESPACE=istio-system\nISTIO_CP_AUTH=MUTUAL_TLS\n"
	if diff := cmp.Diff(wantEnv, w.VMExec("vm1", "cat", "/var/lib/istio/envoy/cluster.env")); diff != "" {
		t.Errorf("cluster.env (-want +got):\n%s", diff)
	}
	for path, want := range map[string]string{
		"/etc/dnsmasq.d/kubedns":           "644 root root",
		"/var/lib/istio/envoy/cluster.env": "644 istio-proxy istio-proxy",
		"/etc/certs/root-cert.pem":         "644 istio-proxy istio-proxy",
		"/etc/certs/cert-chain.pem":        "644 istio-proxy istio-proxy",
		"/etc/certs/key.pem":               "600 istio-proxy istio-proxy",
	} {
		if got := w.VMStat("vm1", path); got != want {
			t.Errorf("%s: mode/owner %q, want %q", path, got, want)
		}
	}
	secret, err := cs.CoreV1().Secrets("bookinfo").Get(c, "istio.default", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.VMExec("vm1", "cat", "/etc/certs/key.pem"); got != string(secret.Data["key.pem"]) {
		t.Error("key.pem on the VM differs from the istio.default secret")
	}
	sidecar := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env")
	for _, line := range []string{"ISTIO_INBOUND_PORTS=3306,9080", "ISTIO_NAMESPACE=bookinfo", "ISTIO_SERVICE=details", "ISTIO_PILOT_PORT=15005"} {
		if !strings.Contains(sidecar, "\n"+line+"\n") {
			t.Errorf("sidecar.env lacks %q:\n%s", line, sidecar)
		}
	}
	if !strings.Contains(sidecar, "# ") {
		t.Errorf("sidecar.env lost the package's comments:\n%s", sidecar)
	}
	if n := strings.Count(w.VMExec("vm1", "cat", "/etc/dhcp/dhclient.conf"), "prepend domain-name-servers 127.0.0.1;"); n != 1 {
		t.Errorf("dhclient.conf has the dnsmasq line %d times", n)
	}
	if v := strings.TrimSpace(w.VMExec("vm1", "dpkg-query", "-W", "-f", "${Version}", "istio-sidecar")); v != "1.0.0-lab1" {
		t.Errorf("istio-sidecar version %q", v)
	}
	for _, u := range []string{"dnsmasq", "istio", "istio-auth-node-agent"} {
		if got := strings.TrimSpace(w.VMExec("vm1", "systemctl", "is-enabled", u)); got != "enabled" {
			t.Errorf("%s is %s, want enabled", u, got)
		}
		if got := strings.TrimSpace(w.VMExec("vm1", "systemctl", "is-active", u)); got != "active" {
			t.Errorf("%s is %s, want active", u, got)
		}
	}
	// Inside the VM, its own dnsmasq answers with the pilot ILB address.
	if got := w.VMExec("vm1", "host", "-t", "A", "istio-pilot.istio-system"); !strings.Contains(got, "has address "+addr["istio-pilot-ilb"]) {
		t.Errorf("host istio-pilot.istio-system in the VM: %q, want %s", got, addr["istio-pilot-ilb"])
	}
	if !strings.Contains(apply.Stdout, `pilot_ilb = "`+addr["istio-pilot-ilb"]+`"`) {
		t.Errorf("apply did not print the pilot_ilb output:\n%s", apply.Stdout)
	}

	// A second plan is empty, and so are targeted ones: what -target leaves
	// out is not observed, and must never be planned as a delete.
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")
	w.Must(0, "plan", "-detailed-exitcode", "-no-color", "-target=service.details.service")
	w.Must(0, "plan", "-detailed-exitcode", "-no-color", "-target=vm.vm1")

	t.Run("a real control plane reads what meshx wrote", func(t *testing.T) {
		// The check of osswangxining/istio-meshexpansion's check_dns.sh:
		// VM dnsmasq → dns-ilb → the cluster's DNS (the lab's CoreDNS)
		// answers a Service name with its ClusterIP.
		pilot, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot", e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.VMExec("vm1", "host", "-t", "A", "istio-pilot.istio-system.svc.cluster.local."); !strings.Contains(got, "has address "+pilot.Spec.ClusterIP) {
			t.Errorf("host istio-pilot.istio-system.svc.cluster.local. inside the VM: %q, want its ClusterIP %s", got, pilot.Spec.ClusterIP)
		}
		// istiod reads the Service and Endpoints meshx registered.
		vmIP := w.Lab.VM("vm1").Address
		e2etest.Eventually(t, "istiod lists details.bookinfo with the VM's IP", time.Minute, func() (bool, string) {
			eps, err := e2etest.IstiodEndpoints(w.Lab.Istio.DebugURL, "details.bookinfo.svc.cluster.local")
			return err == nil && strings.Contains(eps, strconv.Quote(vmIP)), fmt.Sprintf("%v %.300s", err, eps)
		})
	})

	t.Run("the VM stays in the mesh across a reboot", func(t *testing.T) {
		// setupIstioVM.sh only started the units, so a rebooted VM left the
		// mesh; meshx enables them.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := w.Lab.RebootVM(ctx, "vm1"); err != nil {
			t.Fatal(err)
		}
		// sshd answers before every unit has started, as on a real VM.
		for _, u := range []string{"dnsmasq", "istio", "istio-auth-node-agent"} {
			e2etest.Eventually(t, "after reboot "+u+" is active", time.Minute, func() (bool, string) {
				out, _, err := w.Lab.VMExec(ctx, "vm1", "systemctl", "is-active", u)
				return err == nil && strings.TrimSpace(out) == "active", fmt.Sprintf("%q %v", strings.TrimSpace(out), err)
			})
		}
		if got := w.VMExec("vm1", "host", "-t", "A", "istio-pilot.istio-system"); !strings.Contains(got, "has address "+addr["istio-pilot-ilb"]) {
			t.Errorf("after reboot, host istio-pilot.istio-system: %q", got)
		}
		w.Must(0, "plan", "-detailed-exitcode", "-no-color")
	})

	t.Run("drift is shown and reverted", func(t *testing.T) {
		s, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.Ports[0].Port = 15999
		if _, err := cs.CoreV1().Services("istio-system").Update(c, s, e2etest.Update); err != nil {
			t.Fatal(err)
		}
		w.VMExec("vm1", "sh", "-c", "echo 'address=/evil/6.6.6.6' >> /etc/dnsmasq.d/kubedns && echo 'MY_OWN_SETTING=kept' >> /var/lib/istio/envoy/sidecar.env")
		p := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
		for _, want := range []string{"changed outside", `cluster.control.ilb["istio-pilot-ilb"]`, `vm.vm1.file["/etc/dnsmasq.d/kubedns"]`, "15999", "- address=/evil/6.6.6.6"} {
			if !strings.Contains(p.Stdout, want) {
				t.Errorf("drift plan lacks %q:\n%s", want, p.Stdout)
			}
		}
		if strings.Contains(p.Stdout, "MY_OWN_SETTING") {
			t.Errorf("a key meshx does not manage shows in the plan:\n%s", p.Stdout)
		}
		w.Must(0, "apply", "-auto-approve", "-no-color")
		s, _ = cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get)
		if s.Spec.Ports[0].Port == 15999 {
			t.Error("apply did not restore the ILB port")
		}
		if got := w.VMExec("vm1", "cat", "/etc/dnsmasq.d/kubedns"); got != wantKubedns {
			t.Errorf("apply did not restore kubedns:\n%s", got)
		}
		if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env"); !strings.Contains(got, "MY_OWN_SETTING=kept") {
			t.Errorf("a hand-added sidecar.env key did not survive apply:\n%s", got)
		}
		w.Must(0, "plan", "-detailed-exitcode", "-no-color")
	})

	t.Run("removing a service", func(t *testing.T) {
		pid := func(unit string) string {
			out := w.VMExec("vm1", "systemctl", "status", unit)
			m := regexp.MustCompile(`Main PID: (\d+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no Main PID in status of %s:\n%s", unit, out)
			}
			return m[1]
		}
		istioBefore, dnsmasqBefore := pid("istio"), pid("dnsmasq")
		w.Services = w.Services[:1] // drop mysqldb
		w.Write()
		p := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
		for _, want := range []string{
			"service.mysqldb.service will be destroyed", "service.mysqldb.endpoints will be destroyed",
			`vm.vm1.env["/var/lib/istio/envoy/sidecar.env"] will be updated in-place`, `vm.vm1.unit["istio"] will be updated in-place`,
			"Plan: 0 to add, 2 to change, 2 to destroy.",
		} {
			if !strings.Contains(p.Stdout, want) {
				t.Errorf("plan lacks %q:\n%s", want, p.Stdout)
			}
		}
		if strings.Contains(p.Stdout, `unit["dnsmasq"]`) {
			t.Errorf("dnsmasq would restart:\n%s", p.Stdout)
		}
		w.Must(0, "apply", "-auto-approve", "-no-color")
		if _, err := cs.CoreV1().Services("bookinfo").Get(c, "mysqldb", e2etest.Get); !apierrors.IsNotFound(err) {
			t.Errorf("mysqldb Service still there: %v", err)
		}
		if _, err := cs.CoreV1().Endpoints("bookinfo").Get(c, "mysqldb", e2etest.Get); !apierrors.IsNotFound(err) {
			t.Errorf("mysqldb Endpoints still there: %v", err)
		}
		if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env"); !strings.Contains(got, "\nISTIO_INBOUND_PORTS=9080\n") {
			t.Errorf("ISTIO_INBOUND_PORTS not updated:\n%s", got)
		}
		if pid("istio") == istioBefore {
			t.Error("istio was not restarted")
		}
		if pid("dnsmasq") != dnsmasqBefore {
			t.Error("dnsmasq was restarted")
		}
		w.Must(0, "plan", "-detailed-exitcode", "-no-color")
	})

	t.Run("destroy", func(t *testing.T) {
		w.Must(0, "destroy", "-auto-approve", "-no-color")
		if _, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get); !apierrors.IsNotFound(err) {
			t.Errorf("istio-pilot-ilb still there: %v", err)
		}
		if out := w.VMExec("vm1", "sh", "-c", "ls /var/lib/istio/envoy/cluster.env /etc/dnsmasq.d/kubedns /etc/certs/key.pem 2>&1 || true"); !strings.Contains(out, "No such file") || strings.Contains(out, "cluster.env\n") {
			t.Errorf("destroy left managed files:\n%s", out)
		}
		w.Must(0, "destroy", "-auto-approve", "-no-color") // nothing left: a no-op
	})
}

func sameInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[int32]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
