package modern

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/providers/vm/envfile"
)

var (
	workloadGroups  = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "workloadgroups"}
	workloadEntries = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "workloadentries"}
)

// workloadCert returns the workload certificate the agent wrote on the VM,
// or why there is none yet.
func workloadCert(w *e2etest.World, vm string) (*x509.Certificate, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _, err := w.Lab.VMExec(ctx, vm, "cat", istio.WorkloadCertPath)
	if err != nil {
		logs, _, _ := w.Lab.VMExec(ctx, vm, "sh", "-c", "systemctl status istio; tail -5 /var/log/istio/istio.err.log /var/log/istio/istio.log")
		return nil, fmt.Sprintf("%v\n%s", err, logs)
	}
	b, _ := pem.Decode([]byte(out))
	if b == nil {
		return nil, "not PEM"
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, err.Error()
	}
	return c, ""
}

// waitCert waits for a workload certificate with SAN spiffe and a serial
// other than not (nil: any), and returns it.
func waitCert(t *testing.T, w *e2etest.World, vm, spiffe string, not *x509.Certificate) *x509.Certificate {
	t.Helper()
	var got *x509.Certificate
	e2etest.Eventually(t, "a workload certificate for "+spiffe, 2*time.Minute, func() (bool, string) {
		c, why := workloadCert(w, vm)
		if c == nil {
			return false, why
		}
		if len(c.URIs) != 1 || c.URIs[0].String() != spiffe {
			return false, fmt.Sprintf("URI SANs %v", c.URIs)
		}
		if not != nil && c.SerialNumber.Cmp(not.SerialNumber) == 0 {
			return false, "still the certificate issued before"
		}
		got = c
		return true, ""
	})
	return got
}

// spiffe is the identity istiod signs for examples/vm-modern's VM.
const spiffe = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-vm"

// vmModern returns the package's lab, a World of examples/vm-modern run
// with the lab's vars file and args, and a dynamic client of the control
// cluster for Istio's objects.
func vmModern(t *testing.T, args ...string) (*lab.Lab, *e2etest.World, dynamic.Interface) {
	t.Helper()
	l := lab.Get(t)
	if l.Istio == nil || l.Istio.SidecarDeb == "" {
		t.Fatal("the lab runs no istiod or built no modern sidecar .deb")
	}
	w := e2etest.Example(t, l, "vm-modern", append([]string{"-var-file=" + l.ExamplesVars, "-no-color"}, args...)...)
	rc, err := l.ControlCluster().RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return l, w, dyn
}

// agedToken is a JWT whose claims say it was issued 50 minutes ago for an
// hour: what the VM holds 50 minutes after an apply with token_lifetime 1h.
func agedToken() string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now()
	return enc(map[string]string{"alg": "RS256"}) + "." +
		enc(map[string]any{"aud": []string{"istio-ca"}, "iat": now.Add(-50 * time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix()}) + ".c2ln"
}

// dropBlock removes from the configuration file the top-level block whose
// header starts with header (`service "mysqldb"`), up to its closing
// brace at the start of a line.
func dropBlock(t *testing.T, file, header string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	i := strings.Index(src, "\n"+header)
	if i < 0 {
		t.Fatalf("%s has no block %s", file, header)
	}
	j := strings.Index(src[i+1:], "\n}\n")
	if j < 0 {
		t.Fatalf("%s: block %s does not end", file, header)
	}
	if err := os.WriteFile(file, []byte(src[:i+1]+src[i+1+j+3:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

// plannedDeletes returns the instances a plan -json deletes (or
// replaces), sorted.
func plannedDeletes(t *testing.T, stream string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(stream), "\n") {
		var m struct {
			Type   string `json:"type"`
			Change struct {
				Resource struct {
					Addr string `json:"addr"`
				} `json:"resource"`
				Action string `json:"action"`
			} `json:"change"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("plan -json: %v\n%s", err, line)
		}
		if m.Type == "planned_change" && (m.Change.Action == "delete" || m.Change.Action == "replace") {
			out = append(out, m.Change.Resource.Addr)
		}
	}
	slices.Sort(out)
	return out
}

// TestVMModernExample applies examples/vm-modern, unchanged, with the
// values the lab writes, and checks that the real pilot-agent started by
// meshx's unit gets a workload certificate from the real istiod, that
// istiod lists the VM behind details and mysqldb, the files against
// istioctl's, a reboot, token renewal, auto-registration and destroy.
func TestVMModernExample(t *testing.T) {
	l, w, dyn := vmModern(t)
	vm := l.VMs[0].Name
	vmIP := l.VMs[0].Address
	c := t.Context()
	cs := w.Client("control")

	// A certificate an earlier agent left in its output directory is not
	// one this apply's agent obtained.
	cert, _ := workloadCert(w, vm)
	start := time.Now()
	apply := w.Must(0, "apply", "-auto-approve")
	e2etest.Contains(t, "apply", apply.Stdout, "Apply complete!")
	t.Logf("first apply: %s", time.Since(start).Round(100*time.Millisecond))

	t.Run("the agent started by meshx's unit obtains a workload certificate", func(t *testing.T) {
		cert = waitCert(t, w, vm, spiffe, cert)
	})
	w.Must(0, "plan", "-detailed-exitcode")

	t.Run("istiod lists the VM behind details and mysqldb", func(t *testing.T) {
		for _, host := range []string{"details.bookinfo.svc.cluster.local", "mysqldb.bookinfo.svc.cluster.local"} {
			e2etest.Eventually(t, "istiod lists "+host+" with the VM's IP", time.Minute, func() (bool, string) {
				eps, err := e2etest.IstiodEndpoints(l.Istio.DebugURL, host)
				return err == nil && strings.Contains(eps, strconv.Quote(vmIP)), fmt.Sprintf("%v %.300s", err, eps)
			})
		}
		svc, err := cs.CoreV1().Services("bookinfo").Get(c, "details", e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"app": "bookinfo-vm"}, svc.Spec.Selector); diff != "" {
			t.Errorf("details selector (-want +got):\n%s", diff)
		}
		we, err := dyn.Resource(workloadEntries).Namespace("bookinfo").Get(c, "vm1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a, _, _ := unstructured.NestedString(we.Object, "spec", "address"); a != vmIP {
			t.Errorf("WorkloadEntry address %q, want %q", a, vmIP)
		}
	})

	t.Run("files, modes and the token's place", func(t *testing.T) {
		for path, want := range map[string]string{
			istio.ClusterEnvPath:  "644 istio-proxy istio-proxy",
			istio.MeshConfigPath:  "644 istio-proxy istio-proxy",
			istio.RootCertPath:    "644 istio-proxy istio-proxy",
			istio.TokenPath:       "600 istio-proxy istio-proxy",
			istio.TokenDropInPath: "644 root root",
		} {
			if got := w.VMStat(vm, path); got != want {
				t.Errorf("%s: %s, want %s", path, got, want)
			}
		}
		if got := strings.TrimSpace(w.VMExec(vm, "readlink", istio.TokenLinkPath)); got != istio.TokenPath {
			t.Errorf("%s links to %q, want %s", istio.TokenLinkPath, got, istio.TokenPath)
		}
		ilb, err := cs.CoreV1().Services("istio-system").Get(c, "istiod-ilb", e2etest.Get)
		if err != nil || len(ilb.Status.LoadBalancer.Ingress) == 0 {
			t.Fatalf("istiod-ilb: %v", err)
		}
		line := ilb.Status.LoadBalancer.Ingress[0].IP + " istiod.istio-system.svc"
		if n := strings.TrimSpace(w.VMExec(vm, "grep", "-cxF", line, "/etc/hosts")); n != "1" {
			t.Errorf("/etc/hosts has %q %s times, want once", line, n)
		}
		if got := strings.TrimSpace(w.VMExec(vm, "systemctl", "is-enabled", "istio")); got != "enabled" {
			t.Errorf("istio unit is %s, want enabled", got)
		}
	})

	t.Run("the files match istioctl's key by key", func(t *testing.T) {
		ilb, err := cs.CoreV1().Services("istio-system").Get(c, "istiod-ilb", e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		cmd := exec.CommandContext(c, l.Istio.Istioctl, "--kubeconfig", l.ControlCluster().Kubeconfig, "x", "workload", "entry", "configure",
			"--name", "bookinfo-vm", "-n", "bookinfo", "-o", out, "--clusterID", "control", "--ingressIP", ilb.Status.LoadBalancer.Ingress[0].IP)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("istioctl x workload entry configure: %v\n%s", err, b)
		}
		read := func(name string) string {
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		theirs := envfile.Values(read("cluster.env"))
		ours := envfile.Values(w.VMExec(vm, "cat", istio.ClusterEnvPath))
		// On purpose (docs/modern-istio.md): meshx sets the VM's mesh IP
		// (istioctl only with --internalIP), points the agent at the root
		// certificate meshx keeps outside the agent's output directory,
		// and writes the inbound ports sorted (istioctl in map order).
		for k, want := range map[string]string{"ISTIO_SVC_IP": vmIP, "CA_ROOT_CA": istio.RootCertPath, "XDS_ROOT_CA": istio.RootCertPath} {
			if ours[k] != want {
				t.Errorf("%s = %q, want %q", k, ours[k], want)
			}
			delete(ours, k)
		}
		sortPorts := func(s string) string {
			p := strings.Split(s, ",")
			slices.Sort(p)
			return strings.Join(p, ",")
		}
		theirs["ISTIO_INBOUND_PORTS"] = sortPorts(theirs["ISTIO_INBOUND_PORTS"])
		if diff := cmp.Diff(theirs, ours); diff != "" {
			t.Errorf("cluster.env (-istioctl +meshx):\n%s", diff)
		}
		var theirMesh, ourMesh map[string]any
		if err := yaml.Unmarshal([]byte(read("mesh.yaml")), &theirMesh); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal([]byte(w.VMExec(vm, "cat", istio.MeshConfigPath)), &ourMesh); err != nil {
			t.Fatal(err)
		}
		pick := func(m map[string]any) map[string]any {
			dc, _ := m["defaultConfig"].(map[string]any)
			return map[string]any{"discoveryAddress": dc["discoveryAddress"], "proxyMetadata": dc["proxyMetadata"]}
		}
		if diff := cmp.Diff(pick(theirMesh), pick(ourMesh), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("mesh config (-istioctl +meshx):\n%s", diff)
		}
		if theirs, ours := read("root-cert.pem"), w.VMExec(vm, "cat", istio.RootCertPath); theirs != ours {
			t.Errorf("root-cert.pem differs:\n%s\n%s", theirs, ours)
		}
		if theirs := strings.TrimSpace(read("hosts")); !strings.Contains(w.VMExec(vm, "cat", "/etc/hosts"), theirs+"\n") {
			t.Errorf("/etc/hosts lacks istioctl's line %q", theirs)
		}
		// The token: istioctl writes it 0744 to copy to tmpfs; meshx keeps
		// it 0600 istio-proxy on disk (checked above).
		if fi, err := os.Stat(filepath.Join(out, "istio-token")); err != nil || fi.Mode().Perm() != 0o744 {
			t.Logf("istioctl's istio-token: %v %v", fi.Mode(), err)
		}
	})

	t.Run("after a reboot the sidecar starts again and gets a certificate", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.RebootVM(ctx, vm); err != nil {
			t.Fatal(err)
		}
		cert = waitCert(t, w, vm, spiffe, cert)
		if got := strings.TrimSpace(w.VMExec(vm, "readlink", istio.TokenLinkPath)); got != istio.TokenPath {
			t.Errorf("after reboot %s links to %q", istio.TokenLinkPath, got)
		}
		w.Must(0, "plan", "-detailed-exitcode")
	})

	t.Run("a token past two thirds of its life is re-minted", func(t *testing.T) {
		w.VMExec(vm, "sh", "-c", "printf %s '"+agedToken()+"' > "+istio.TokenPath)
		plan := w.Must(2, "plan", "-detailed-exitcode")
		e2etest.Contains(t, "plan", plan.Stdout, `vm.vm1.file["`+istio.TokenPath+`"]`, "expires in 10m; re-minted")
		w.Must(0, "apply", "-auto-approve")
		w.Must(0, "plan", "-detailed-exitcode")
		w.VMExec(vm, "systemctl", "restart", "istio")
		cert = waitCert(t, w, vm, spiffe, cert)
	})

	t.Run("auto-registration: istiod creates the WorkloadEntry, plans stay empty", func(t *testing.T) {
		w.Must(0, "apply", "-auto-approve", "-var", "auto_register=true")
		if _, err := dyn.Resource(workloadEntries).Namespace("bookinfo").Get(c, "vm1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("meshx's WorkloadEntry is still there: %v", err)
		}
		e2etest.Eventually(t, "istiod auto-registers the VM", time.Minute, func() (bool, string) {
			list, err := dyn.Resource(workloadEntries).Namespace("bookinfo").List(c, metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, we := range list.Items {
				if a, _, _ := unstructured.NestedString(we.Object, "spec", "address"); a == vmIP {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d WorkloadEntries, none with %s", len(list.Items), vmIP)
		})
		w.Must(0, "plan", "-detailed-exitcode", "-var", "auto_register=true")
		for _, host := range []string{"details.bookinfo.svc.cluster.local", "mysqldb.bookinfo.svc.cluster.local"} {
			e2etest.Eventually(t, "istiod lists "+host+" with the auto-registered VM", time.Minute, func() (bool, string) {
				eps, err := e2etest.IstiodEndpoints(l.Istio.DebugURL, host)
				return err == nil && strings.Contains(eps, strconv.Quote(vmIP)), fmt.Sprintf("%v %.300s", err, eps)
			})
		}
	})

	t.Run("removing a service block removes its Service alone", func(t *testing.T) {
		details, err := cs.CoreV1().Services("bookinfo").Get(c, "details", e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		dropBlock(t, filepath.Join(w.Dir, "main.hcl"), `service "mysqldb"`)
		// The output names the removed service: it goes with it.
		dropBlock(t, filepath.Join(w.Dir, "main.hcl"), `output "mysqldb_host"`)
		plan := w.Must(2, "plan", "-json", "-detailed-exitcode", "-var", "auto_register=true")
		if got := plannedDeletes(t, plan.Stdout); !slices.Equal(got, []string{"service.mysqldb.service"}) {
			t.Errorf("the plan deletes %v, want service.mysqldb.service alone", got)
		}
		w.Must(0, "apply", "-auto-approve", "-var", "auto_register=true")
		if _, err := cs.CoreV1().Services("bookinfo").Get(c, "mysqldb", e2etest.Get); !apierrors.IsNotFound(err) {
			t.Errorf("Service mysqldb left: %v", err)
		}
		after, err := cs.CoreV1().Services("bookinfo").Get(c, "details", e2etest.Get)
		if err != nil || after.UID != details.UID {
			t.Errorf("Service details was not kept: %v", err)
		}
		w.Must(0, "plan", "-detailed-exitcode", "-var", "auto_register=true")
	})

	t.Run("destroy leaves nothing behind", func(t *testing.T) {
		w.Must(0, "destroy", "-auto-approve", "-var", "auto_register=true")
		if _, err := dyn.Resource(workloadGroups).Namespace("bookinfo").Get(c, "bookinfo-vm", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("WorkloadGroup left: %v", err)
		}
		e2etest.Eventually(t, "no WorkloadEntries left", time.Minute, func() (bool, string) {
			list, err := dyn.Resource(workloadEntries).Namespace("bookinfo").List(c, metav1.ListOptions{})
			if err != nil {
				return apierrors.IsNotFound(err), err.Error()
			}
			return len(list.Items) == 0, fmt.Sprintf("%d left", len(list.Items))
		})
		for _, path := range []string{istio.TokenPath, istio.ClusterEnvPath, istio.RootCertPath, istio.TokenDropInPath} {
			if got := w.VMStat(vm, path); got != "absent" {
				t.Errorf("%s left: %s", path, got)
			}
		}
		// The sidecar package's postinst made the mesh config an empty
		// placeholder, which dpkg -r leaves: meshx empties it again.
		if got := w.VMExec(vm, "sh", "-c", "cat "+istio.MeshConfigPath+" 2>/dev/null || true"); got != "" {
			t.Errorf("%s keeps meshx's content: %q", istio.MeshConfigPath, got)
		}
		if got := w.VMExec(vm, "sh", "-c", "grep -c istiod.istio-system.svc /etc/hosts || true"); strings.TrimSpace(got) != "0" {
			t.Errorf("/etc/hosts keeps %s istiod lines", got)
		}
		for _, name := range []string{"details", "mysqldb"} {
			if _, err := cs.CoreV1().Services("bookinfo").Get(c, name, e2etest.Get); !apierrors.IsNotFound(err) {
				t.Errorf("Service %s left: %v", name, err)
			}
		}
	})
}
