package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/lab/kubelab"
)

// report is meshx verify -json, as a consumer reads it.
type report struct {
	FormatVersion string `json:"format_version"`
	OK            bool   `json:"ok"`
	Checks        []struct {
		Subject, Check, Status, Observed, Expected, Fix string
	}
}

// failing lists the failing checks as "subject: check", in report order.
func (r report) failing() []string { return r.with("fail") }

// skipped lists the skipped checks likewise.
func (r report) skipped() []string { return r.with("skip") }

func (r report) with(status string) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == status {
			out = append(out, c.Subject+": "+c.Check)
		}
	}
	return out
}

// find returns the check named "subject: check".
func (r report) find(t *testing.T, name string) (c struct{ Subject, Check, Status, Observed, Expected, Fix string }) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Subject+": "+c.Check == name {
			return c
		}
	}
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Subject+": "+c.Check)
	}
	t.Fatalf("no check %q in the report:\n  %s", name, strings.Join(names, "\n  "))
	return c
}

// verify runs meshx verify -json; its exit status must agree with ok.
func verify(t *testing.T, w *e2etest.World) report {
	t.Helper()
	res := w.Meshx("verify", "-json")
	var r report
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil || r.FormatVersion != "1.1" {
		t.Fatalf("verify -json: %v\n%s", err, res)
	}
	if want := map[bool]int{true: 0, false: 1}[r.OK]; res.Code != want {
		t.Fatalf("verify -json says ok=%v but exits %d\n%s", r.OK, res.Code, res)
	}
	return r
}

// mustPass fails the test unless every check passes, none skipped.
func mustPass(t *testing.T, w *e2etest.World) report {
	t.Helper()
	r := verify(t, w)
	if !r.OK || len(r.skipped()) > 0 {
		t.Fatalf("verify failed %v, skipped %v%s", r.failing(), r.skipped(), r.notPassed())
	}
	return r
}

// notPassed lists what was seen of each check that did not pass, and what
// to do, for a test's failure message.
func (r report) notPassed() string {
	var b strings.Builder
	for _, c := range r.Checks {
		if c.Status != "pass" {
			fmt.Fprintf(&b, "\n  %s: %s: %s: %s", c.Subject, c.Check, c.Observed, c.Fix)
		}
	}
	return b.String()
}

// repair runs meshx apply, which every failing check names, and shows
// verify passing again. An apply that rewrites the agent's files restarts
// the istio unit, which takes a moment to be active and hold its
// certificate again (at load 45, longer than one verify), so verify gets
// that moment.
func repair(t *testing.T, w *e2etest.World) {
	t.Helper()
	if res := w.Meshx("apply", "-auto-approve"); res.Code != 0 {
		t.Fatalf("apply: %s", res)
	}
	var r report
	e2etest.Eventually(t, "verify passes after apply", time.Minute, func() (bool, string) {
		r = verify(t, w)
		return r.OK && len(r.skipped()) == 0, fmt.Sprintf("failing %v, skipped %v%s", r.failing(), r.skipped(), r.notPassed())
	})
}

// vmExec runs a command in the lab VM vm1.
func vmExec(t *testing.T, l *lab.Lab, argv ...string) {
	t.Helper()
	if _, errOut, err := l.VMExec(e2etest.Step(t), "vm1", argv...); err != nil {
		t.Fatalf("vm1: %v: %v\n%s", argv, err, errOut)
	}
}

// moveAddress gives the control cluster's LoadBalancer Service
// istio-system/name another address behind meshx's back and returns it:
// the last of the cluster's pool. The lab controller handed out the first
// ones, and leaves an address set by hand in place, carrying traffic there
// instead.
func moveAddress(t *testing.T, l *lab.Lab, name string) string {
	t.Helper()
	_, last, _ := strings.Cut(l.Cluster("control").LBPool, "-")
	moved := netip.MustParseAddr(last).String()
	svcs := l.Clientset(t, "control").CoreV1().Services("istio-system")
	svc, err := svcs.Get(t.Context(), name, e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: moved}}
	if _, err := svcs.UpdateStatus(t.Context(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return moved
}

// controlDynamic is a dynamic client of the lab's control cluster, for
// Istio's objects.
func controlDynamic(t *testing.T, l *lab.Lab) dynamic.Interface {
	t.Helper()
	rc, err := l.ControlCluster().RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

// eventuallyFailing waits until exactly the checks want fail (none: until
// verify passes), as istiod and the lab controller see a change only once
// their informers do, and returns that report.
func eventuallyFailing(t *testing.T, w *e2etest.World, want []string) report {
	t.Helper()
	var r report
	e2etest.Eventually(t, "verify fails as expected", time.Minute, func() (bool, string) {
		r = verify(t, w)
		return slices.Equal(r.failing(), want), fmt.Sprintf("failing %v, want %v", r.failing(), want)
	})
	return r
}

// breaking starts a test that breaks one thing: if it fails before its
// repair, meshx apply still runs, so the next test starts whole.
func breaking(t *testing.T, w *e2etest.World) {
	t.Cleanup(func() {
		if t.Failed() {
			w.Meshx("apply", "-auto-approve")
		}
	})
}

// TestVerify applies examples/multicluster (control, remote1, the VM ecs1
// and details registered in remote1), shows every kind of check passing,
// then breaks one thing at a time: each test expects exactly the checks
// that thing concerns to fail, with what to do, and meshx apply to make
// verify pass again.
func TestVerify(t *testing.T) {
	l := lab.Get(t)
	control, remote := l.Cluster("control"), l.Cluster("remote1")
	w := e2etest.Example(t, l, "multicluster", "-var-file="+l.ExamplesVars,
		"-var", "control_pod_cidr="+control.PodCIDR, "-var", "control_service_cidr="+control.ServiceCIDR,
		"-var", "remote1_pod_cidr="+remote.PodCIDR, "-var", "remote1_service_cidr="+remote.ServiceCIDR,
		"-no-color")
	w.Must(0, "apply", "-auto-approve")
	vmIP := l.VM("vm1").Address
	rcs := w.Client("remote1")

	// The table, for people.
	table := w.Must(0, "verify")
	e2etest.Contains(t, "verify", table.Stdout, "SUBJECT", "RESULT", "Verify: all ")
	base := mustPass(t, w)
	var kinds []string
	var dnsNames []string
	for _, c := range base.Checks {
		kind, _, _ := strings.Cut(c.Check, " ")
		if !slices.Contains(kinds, kind) {
			kinds = append(kinds, kind)
		}
		if c.Subject == "vm.ecs1" && kind == "dns" {
			dnsNames = append(dnsNames, c.Subject+": "+c.Check)
		}
	}
	slices.Sort(kinds)
	if want := []string{"auth", "cert", "dns", "endpoints", "ilb", "no", "read", "tcp", "unit"}; !slices.Equal(kinds, want) {
		t.Errorf("check kinds %v, want %v", kinds, want)
	}
	pilotAddr := base.find(t, "cluster.control: ilb istio-pilot-ilb").Observed
	e2etest.Contains(t, "dns", strings.Join(dnsNames, "\n"), "dns istio-pilot.istio-system", "dns kubernetes.default.svc.cluster.local")
	if c := base.find(t, "vm.ecs1: dns istio-pilot.istio-system"); c.Observed != pilotAddr {
		t.Errorf("istio-pilot.istio-system resolved to %q on the VM, want the ILB's %s", c.Observed, pilotAddr)
	}
	if c := base.find(t, "service.details: endpoints bookinfo/details"); c.Observed != vmIP {
		t.Errorf("details' Endpoints: %q, want %s", c.Observed, vmIP)
	}

	expectFailing := func(t *testing.T, r report, want []string, fix string) {
		t.Helper()
		if got := r.failing(); !slices.Equal(got, want) {
			t.Fatalf("failing checks:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		for _, name := range want {
			if c := r.find(t, name); !strings.Contains(c.Fix, fix) {
				t.Errorf("%s: fix %q lacks %q", name, c.Fix, fix)
			}
		}
	}

	t.Run("dnsmasq stopped", func(t *testing.T) {
		breaking(t, w)
		vmExec(t, l, "systemctl", "stop", "dnsmasq")
		r := verify(t, w)
		expectFailing(t, r, append(slices.Clone(dnsNames), "vm.ecs1: unit dnsmasq"), "dnsmasq")
		if c := r.find(t, "vm.ecs1: unit dnsmasq"); c.Observed != "enabled, inactive" {
			t.Errorf("unit dnsmasq: %q", c.Observed)
		}
		repair(t, w)
	})

	t.Run("ILB address changed behind meshx's back", func(t *testing.T) {
		breaking(t, w)
		moved := moveAddress(t, l, "istio-pilot-ilb")
		r := verify(t, w)
		want := []string{"vm.ecs1: dns istio-pilot", "vm.ecs1: dns istio-pilot.istio-system"}
		for _, port := range []string{"15005", "8080", "15010", "15011"} {
			want = append(want, "vm.ecs1: tcp istio-pilot-ilb "+pilotAddr+":"+port)
		}
		expectFailing(t, r, want, "run meshx apply to rewrite")
		if c := r.find(t, "vm.ecs1: dns istio-pilot"); c.Observed != pilotAddr || c.Expected != moved {
			t.Errorf("dns istio-pilot: observed %q expected %q, want %s and %s", c.Observed, c.Expected, pilotAddr, moved)
		}
		e2etest.Contains(t, "tcp fix", r.find(t, "vm.ecs1: tcp istio-pilot-ilb "+pilotAddr+":15010").Fix, "it is "+moved+" now")
		repair(t, w)
	})

	t.Run("certificate near expiry", func(t *testing.T) {
		breaking(t, w)
		ca, err := l.IstioCA()
		if err != nil {
			t.Fatal(err)
		}
		cert, _, err := ca.Issue(kubelab.Leaf{URIs: []*url.URL{{Scheme: "spiffe", Host: kubelab.TrustDomain, Path: "/ns/bookinfo/sa/default"}},
			Client: true, Server: true, Validity: 3 * 24 * time.Hour, RSA: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, errOut, err := l.VMExecInput(e2etest.Step(t), "vm1", bytes.NewReader(cert), "sh", "-c", "cat > /etc/certs/cert-chain.pem"); err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		r := verify(t, w)
		expectFailing(t, r, []string{"vm.ecs1: cert /etc/certs/cert-chain.pem"}, "expires within 7 days")
		c := r.find(t, "vm.ecs1: cert /etc/certs/cert-chain.pem")
		e2etest.Contains(t, "observed", c.Observed, "days left")
		// The threshold is a flag: under a day, the certificate passes.
		if res := w.Meshx("verify", "-expiry-threshold=1d"); res.Code != 0 {
			t.Errorf("verify -expiry-threshold=1d: %s", res)
		}
		repair(t, w)
	})

	t.Run("remote token revoked", func(t *testing.T) {
		breaking(t, w)
		// Deleting a long-lived token's Secret revokes the token.
		if err := rcs.CoreV1().Secrets("istio-system").Delete(t.Context(), "istio-multi-token", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The API server caches a token's authentication for a few
		// seconds.
		var r report
		e2etest.Eventually(t, "verify sees the revoked token", 2*time.Minute, func() (bool, string) {
			r = verify(t, w)
			return slices.Contains(r.failing(), "cluster.remote1: auth"), fmt.Sprintf("failing %v", r.failing())
		})
		expectFailing(t, r, []string{"cluster.remote1: auth"}, "run meshx apply to mint a new one")
		repair(t, w)
	})

	t.Run("VM IP missing from Endpoints", func(t *testing.T) {
		breaking(t, w)
		ep, err := rcs.CoreV1().Endpoints("bookinfo").Get(t.Context(), "details", e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		ep.Subsets = nil
		if _, err := rcs.CoreV1().Endpoints("bookinfo").Update(t.Context(), ep, e2etest.Update); err != nil {
			t.Fatal(err)
		}
		r := verify(t, w)
		expectFailing(t, r, []string{"service.details: endpoints bookinfo/details"}, "lack "+vmIP)
		if c := r.find(t, "service.details: endpoints bookinfo/details"); c.Observed != "no addresses" || c.Expected != vmIP {
			t.Errorf("endpoints: observed %q expected %q", c.Observed, c.Expected)
		}
		repair(t, w)
	})

	// Nothing above left a secret in any output.
	for _, args := range [][]string{{"verify"}, {"verify", "-json"}, {"verify", "-format=markdown"}} {
		out := w.Must(0, args...)
		if strings.Contains(out.Stdout+out.Stderr, "BEGIN RSA PRIVATE KEY") || strings.Contains(out.Stdout+out.Stderr, "eyJ") {
			t.Errorf("%v printed a secret:\n%s", args, out)
		}
	}
}

// TestVerifyModern applies examples/vm-modern (istiod era) and shows
// verify passing once the real pilot-agent holds its workload certificate
// from the real istiod: istiod's name through /etc/hosts, its load
// balancer on 15012 from the VM, the unit, the root from
// istio-ca-root-cert, the workload certificate, the token's life, and the
// endpoints istiod serves for each service (read on its monitoring port,
// the lab's istiod_debug_url). Then one thing at a time breaks: the unit
// stops, the WorkloadEntry goes behind meshx's back, the token goes; only
// the checks it concerns fail, until meshx apply repairs it. Without
// istiod's debug endpoint its checks are skipped, saying how to make them.
func TestVerifyModern(t *testing.T) {
	l := lab.Get(t)
	if l.Istio == nil || l.Istio.SidecarDeb == "" {
		t.Fatal("the lab runs no istiod or built no modern sidecar .deb")
	}
	w := e2etest.Example(t, l, "vm-modern", "-var-file="+l.ExamplesVars, "-no-color")
	w.Must(0, "apply", "-auto-approve")

	// The agent gets its certificate from istiod asynchronously.
	var r report
	e2etest.Eventually(t, "verify passes once the agent holds a workload certificate", 2*time.Minute, func() (bool, string) {
		r = verify(t, w)
		return r.OK && len(r.skipped()) == 0, fmt.Sprintf("failing %v, skipped %v", r.failing(), r.skipped())
	})
	for _, name := range []string{"vm.vm1: dns istiod.istio-system.svc", "vm.vm1: unit istio", "vm.vm1: cert " + istio.RootCertPath,
		"vm.vm1: cert " + istio.WorkloadCertPath, "vm.vm1: token " + istio.TokenPath} {
		r.find(t, name)
	}
	vmIP := l.VM("vm1").Address
	endpoints := []string{"service.details: istiod endpoints bookinfo/details", "service.mysqldb: istiod endpoints bookinfo/mysqldb"}
	for _, name := range endpoints {
		if c := r.find(t, name); c.Observed != vmIP {
			t.Errorf("%s: istiod lists %q, want %s", name, c.Observed, vmIP)
		}
	}
	e2etest.Contains(t, "token", r.find(t, "vm.vm1: token "+istio.TokenPath).Observed, "hours left")
	istiod := r.find(t, "cluster.control: ilb istiod-ilb").Observed
	if c := r.find(t, "vm.vm1: dns istiod.istio-system.svc"); c.Observed != istiod {
		t.Errorf("istiod resolved to %q on the VM, want its ILB %s", c.Observed, istiod)
	}
	r.find(t, "vm.vm1: tcp istiod-ilb "+istiod+":15012")

	// The unit stopped, with its logs left to root as the sidecars of the
	// setupMeshEx.sh era leave them (a VM switched from a legacy profile
	// by destroy and apply): only the unit check fails, and apply starts
	// an agent that can write its logs.
	t.Run("unit stopped, logs root's", func(t *testing.T) {
		breaking(t, w)
		vmExec(t, l, "sh", "-c", "systemctl stop istio && chown root:root "+istio.AgentLogPath+" "+istio.AgentErrLogPath)
		r := verify(t, w)
		if got, want := r.failing(), []string{"vm.vm1: unit istio"}; !slices.Equal(got, want) {
			t.Fatalf("failing %v, want %v", got, want)
		}
		e2etest.Contains(t, "fix", r.find(t, "vm.vm1: unit istio").Fix, "systemctl status istio")
		w.Must(0, "apply", "-auto-approve")
		// The unit is active for a moment each time it restarts, so the
		// agent's own process says it runs: istio-start.sh execs
		// pilot-agent as istio-proxy only once its logs opened.
		e2etest.Eventually(t, "pilot-agent runs as istio-proxy and verify passes", time.Minute, func() (bool, string) {
			if _, _, err := l.VMExec(e2etest.Step(t), "vm1", "pgrep", "-u", istio.ProxyUser, "-x", "pilot-agent"); err != nil {
				return false, "no pilot-agent of " + istio.ProxyUser + ": " + err.Error()
			}
			r := verify(t, w)
			return r.OK, fmt.Sprintf("failing %v", r.failing())
		})
	})

	t.Run("WorkloadEntry deleted behind meshx's back", func(t *testing.T) {
		breaking(t, w)
		wes := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "workloadentries"}
		if err := controlDynamic(t, l).Resource(wes).Namespace("bookinfo").Delete(t.Context(), "vm1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		r := eventuallyFailing(t, w, endpoints)
		for _, name := range endpoints {
			c := r.find(t, name)
			if c.Observed != "no addresses" || c.Expected != vmIP {
				t.Errorf("%s: observed %q expected %q", name, c.Observed, c.Expected)
			}
			e2etest.Contains(t, name, c.Fix, "does not list "+vmIP, "Run meshx apply")
		}
		w.Must(0, "apply", "-auto-approve")
		eventuallyFailing(t, w, nil)
	})

	t.Run("istiod's debug endpoint unset or unreachable", func(t *testing.T) {
		args := w.Args
		t.Cleanup(func() { w.Args = args })
		for _, url := range []string{"", "http://127.0.0.1:1"} {
			// After the lab's vars file, which sets it.
			w.Args = append(slices.Clone(args), "-var", "istiod_debug_url="+url)
			res := w.Meshx("verify", "-json")
			var r report
			if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil || res.Code != 0 || !r.OK {
				t.Fatalf("debug_url %q: %v\n%s", url, err, res)
			}
			if got := r.skipped(); !slices.Equal(got, endpoints) {
				t.Errorf("debug_url %q: skipped %v, want %v", url, got, endpoints)
			}
			c := r.find(t, endpoints[0])
			e2etest.Contains(t, "skip", c.Fix, "port-forward deploy/istiod 15014", "debug_url")
			if url != "" {
				e2etest.Contains(t, "skip", c.Observed, "cannot reach http://127.0.0.1:1/debug/endpointz")
			}
			table := w.Meshx("verify")
			e2etest.Contains(t, "table", table.Stdout, "Skipped checks, and how to make them:", "; 2 skipped.")
		}
	})

	t.Run("istiod's /etc/hosts line removed", func(t *testing.T) {
		breaking(t, w)
		vmExec(t, l, "sed", "-i", "/istiod.istio-system.svc/d", istio.HostsPath)
		r := verify(t, w)
		want := []string{"vm.vm1: dns istiod.istio-system.svc"}
		if got := r.failing(); !slices.Equal(got, want) {
			t.Fatalf("failing %v, want %v", got, want)
		}
		e2etest.Contains(t, "fix", r.find(t, want[0]).Fix, "Run meshx apply: it writes istiod's line in /etc/hosts")
		repair(t, w)
	})

	t.Run("workload certificate gone", func(t *testing.T) {
		breaking(t, w)
		// An agent restarted by the last repair writes its first
		// certificate a moment later, and would put back the one this
		// test removes: wait for it to have written since it started.
		written := fmt.Sprintf(`pid=$(systemctl show -p MainPID --value istio) && [ "$pid" -gt 0 ] && `+
			`[ $(stat -c %%Y %s) -ge $(( $(date +%%s) - $(ps -o etimes= -p "$pid") )) ]`, istio.WorkloadCertPath)
		e2etest.Eventually(t, "the agent wrote its certificate since it started", time.Minute, func() (bool, string) {
			_, errOut, err := l.VMExec(e2etest.Step(t), "vm1", "sh", "-c", written)
			return err == nil, fmt.Sprintf("%v %s", err, errOut)
		})
		vmExec(t, l, "rm", "-f", istio.WorkloadCertPath)
		r := verify(t, w)
		want := []string{"vm.vm1: cert " + istio.WorkloadCertPath}
		if got := r.failing(); !slices.Equal(got, want) {
			t.Fatalf("failing %v, want %v", got, want)
		}
		e2etest.Contains(t, "fix", r.find(t, want[0]).Fix, "journalctl -u istio")
		// The agent writes it again once it has a new one from istiod.
		vmExec(t, l, "systemctl", "restart", "istio")
		eventuallyFailing(t, w, nil)
	})

	t.Run("token near expiry", func(t *testing.T) {
		breaking(t, w)
		// A token of the same shape, minted 20 hours ago for a day: in
		// the last third of its life, when apply re-mints it.
		now := time.Now()
		claims := fmt.Sprintf(`{"aud":["istio-ca"],"exp":%d,"iat":%d,"sub":"system:serviceaccount:bookinfo:bookinfo-vm"}`,
			now.Add(4*time.Hour).Unix(), now.Add(-20*time.Hour).Unix())
		jwt := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2lnbmF0dXJl"
		if _, errOut, err := l.VMExecInput(e2etest.Step(t), "vm1", strings.NewReader(jwt), "sh", "-c", "cat > "+istio.TokenPath); err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		r := verify(t, w)
		want := []string{"vm.vm1: token " + istio.TokenPath}
		if got := r.failing(); !slices.Equal(got, want) {
			t.Fatalf("failing %v, want %v", got, want)
		}
		c := r.find(t, want[0])
		e2etest.Contains(t, "token", c.Observed, "hours left")
		e2etest.Contains(t, "token", c.Fix, "last third of its life", "run meshx apply")
		if res := w.Meshx("verify"); res.Code != 1 || strings.Contains(res.Stdout+res.Stderr, jwt) {
			t.Errorf("verify exits %d (want 1) or prints the token:\n%s", res.Code, res)
		}
		repair(t, w)
	})

	t.Run("token removed", func(t *testing.T) {
		breaking(t, w)
		vmExec(t, l, "rm", "-f", istio.TokenPath)
		r := verify(t, w)
		if got, want := r.failing(), []string{"vm.vm1: token " + istio.TokenPath}; !slices.Equal(got, want) {
			t.Fatalf("failing %v, want %v", got, want)
		}
		repair(t, w)
	})

	// The token never leaves the VM: no output holds it.
	token, errOut, err := l.VMExec(e2etest.Step(t), "vm1", "cat", istio.TokenPath)
	if token = strings.TrimSpace(token); err != nil || token == "" {
		t.Fatalf("reading the token: %v: %s", err, errOut)
	}
	for _, args := range [][]string{{"verify"}, {"verify", "-json"}, {"verify", "-format=markdown"}} {
		out := w.Must(0, args...)
		if strings.Contains(out.Stdout+out.Stderr, token) || strings.Contains(out.Stdout+out.Stderr, "eyJ") {
			t.Errorf("%v printed the token:\n%s", args, out)
		}
	}
}

// TestVerifyEastWest applies examples/vm-modern with istiod_exposure =
// "eastwest" through the east-west gateway e2e/modern's TestEastWest
// builds, and shows verify following the exposure: the control cluster's
// checks are the gateway's address and the Gateway and VirtualService
// meshx wrote, the VM's are istiod's name resolving to the gateway and
// 15012 through it, and nothing names istiod-ilb. Then one thing at a
// time breaks: the gateway's address changes behind meshx's back (the
// VM's dns and tcp checks fail, saying where it is now), the
// VirtualService is deleted (its check alone fails); each exits 1 until
// meshx apply repairs it.
func TestVerifyEastWest(t *testing.T) {
	l := lab.Get(t)
	if l.Istio == nil || l.Istio.SidecarDeb == "" {
		t.Fatal("the lab runs no istiod or built no modern sidecar .deb")
	}
	// Before the World, so that its destroy runs first at cleanup: the
	// plan reads the gateway.
	gw := e2etest.EastWestGateway(t, l)
	w := e2etest.Example(t, l, "vm-modern", "-var-file="+l.ExamplesVars, "-no-color", "-var", "istiod_exposure=eastwest")
	w.Must(0, "apply", "-auto-approve")
	cs := w.Client("control")
	gw, err := cs.CoreV1().Services("istio-system").Get(t.Context(), gw.Name, e2etest.Get)
	if err != nil || len(gw.Status.LoadBalancer.Ingress) == 0 {
		t.Fatalf("the gateway has no address: %v", err)
	}
	gwIP := gw.Status.LoadBalancer.Ingress[0].IP

	// The agent gets its certificate through the gateway asynchronously.
	var r report
	e2etest.Eventually(t, "verify passes once the agent holds a workload certificate", 2*time.Minute, func() (bool, string) {
		r = verify(t, w)
		return r.OK && len(r.skipped()) == 0, fmt.Sprintf("failing %v, skipped %v", r.failing(), r.skipped())
	})
	const (
		gwCheck = "cluster.control: eastwest gateway istio-eastwestgateway"
		vsCheck = "cluster.control: virtualservice istio-system/istiod-vs"
		dns     = "vm.vm1: dns istiod.istio-system.svc"
	)
	tcp := "vm.vm1: tcp eastwest gateway istio-eastwestgateway " + gwIP + ":15012"
	if c := r.find(t, gwCheck); c.Observed != gwIP {
		t.Errorf("%s: %q, want the gateway's %s", gwCheck, c.Observed, gwIP)
	}
	r.find(t, "cluster.control: gateway istio-system/istiod-gateway")
	r.find(t, vsCheck)
	if c := r.find(t, dns); c.Observed != gwIP {
		t.Errorf("istiod resolved to %q on the VM, want the gateway's %s", c.Observed, gwIP)
	}
	r.find(t, tcp)
	for _, c := range r.Checks {
		if strings.Contains(c.Check, "ilb") {
			t.Errorf("%s: %s names a load balancer meshx does not make with eastwest exposure", c.Subject, c.Check)
		}
	}
	table := w.Must(0, "verify")
	e2etest.Contains(t, "table", table.Stdout, "eastwest gateway istio-eastwestgateway", "Verify: all ")

	t.Run("gateway address changed behind meshx's back", func(t *testing.T) {
		breaking(t, w)
		moved := moveAddress(t, l, gw.Name)
		r := eventuallyFailing(t, w, []string{dns, tcp})
		if c := r.find(t, gwCheck); c.Observed != moved {
			t.Errorf("%s: %q, want %s", gwCheck, c.Observed, moved)
		}
		if c := r.find(t, dns); c.Observed != gwIP || c.Expected != moved {
			t.Errorf("%s: observed %q expected %q, want %s and %s", dns, c.Observed, c.Expected, gwIP, moved)
		}
		e2etest.Contains(t, "dns fix", r.find(t, dns).Fix, "the east-west gateway istio-eastwestgateway no longer has", "run meshx apply")
		e2etest.Contains(t, "tcp fix", r.find(t, tcp).Fix, "no longer the address of the east-west gateway istio-eastwestgateway (it is "+moved+" now)")
		res := w.Meshx("verify")
		if res.Code != 1 {
			t.Errorf("verify exits %d, want 1:\n%s", res.Code, res)
		}
		e2etest.Contains(t, "table", res.Stdout, "Failed checks, and what to do:", "it is "+moved+" now")
		t.Logf("verify, the gateway moved:\n%s", res.Stdout)
		w.Must(0, "apply", "-auto-approve")
		r = eventuallyFailing(t, w, nil)
		if c := r.find(t, dns); c.Observed != moved {
			t.Errorf("after apply istiod resolves to %q on the VM, want %s", c.Observed, moved)
		}
		r.find(t, "vm.vm1: tcp eastwest gateway istio-eastwestgateway "+moved+":15012")
	})

	t.Run("VirtualService deleted behind meshx's back", func(t *testing.T) {
		breaking(t, w)
		vss := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
		if err := controlDynamic(t, l).Resource(vss).Namespace("istio-system").Delete(t.Context(), istio.IstiodVirtualServiceName, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		r := verify(t, w)
		if got, want := r.failing(), []string{vsCheck}; !slices.Equal(got, want) {
			t.Fatalf("failing %v, want %v", got, want)
		}
		c := r.find(t, vsCheck)
		if c.Observed != "missing" {
			t.Errorf("%s: observed %q", vsCheck, c.Observed)
		}
		e2etest.Contains(t, "fix", c.Fix, "Run meshx apply: it writes istiod-vs", "expose-istiod.yaml")
		res := w.Meshx("verify")
		if res.Code != 1 {
			t.Errorf("verify exits %d, want 1:\n%s", res.Code, res)
		}
		e2etest.Contains(t, "table", res.Stdout, "virtualservice istio-system/istiod-vs", "Run meshx apply: it writes istiod-vs")
		t.Logf("verify, the VirtualService deleted:\n%s", res.Stdout)
		repair(t, w)
	})
}
