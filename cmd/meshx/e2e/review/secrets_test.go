package review

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/config"
)

// TestNoSecretsAnywhere applies an environment with a remote cluster (so
// a reader token and the remote secret's kubeconfig exist) and a VM (so
// its key.pem exists), makes the plan touch both secrets (the VM's key.pem
// and the remote secret edited by hand), and checks that neither the token
// nor the key appear, raw or base64, in any output of plan, apply and show
// (text, JSON, markdown) nor in the saved plan file. It also checks the
// kubeconfig meshx stored works and is read-only.
func TestNoSecretsAnywhere(t *testing.T) {
	w := e2etest.New(t, "secrets")
	w.VMs = []string{"vm1"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	remote := w.Lab.Cluster("remote1")
	if remote == nil {
		t.Fatal("the lab has no cluster remote1")
	}
	w.Extra = fmt.Sprintf(`
cluster "remote1" {
  kubeconfig = %q
  pod_cidr   = %q
}

service "reviews" {
  namespace = %q
  vm        = [vm.vm1]
  ports     = { http = 9082 }
  cluster   = cluster.remote1
}
`, remote.Kubeconfig, remote.PodCIDR, w.Namespace)
	w.Write()
	w.DestroyOnCleanup()

	outputs := map[string]string{}
	record := func(name string, r e2etest.Result) {
		outputs[name] = r.Stdout + "\n" + r.Stderr
	}
	record("plan -out before apply", w.Must(0, "plan", "-out=first.mxplan", "-no-color"))
	record("apply -json", w.Must(0, "apply", "-json", "-auto-approve"))

	cs, c := w.Client("control"), t.Context()
	// Make the plan handle both secrets: key.pem edited on the VM, and the
	// remote secret's label removed.
	w.VMExec("vm1", "sh", "-c", "echo tampered >> /etc/certs/key.pem")
	sec, err := cs.CoreV1().Secrets("istio-system").Get(c, "remote1", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	delete(sec.Labels, "istio/multiCluster")
	if _, err := cs.CoreV1().Secrets("istio-system").Update(c, sec, e2etest.Update); err != nil {
		t.Fatal(err)
	}

	p := w.Must(0, "plan", "-out=review.mxplan", "-no-color")
	record("plan -out", p)
	e2etest.Contains(t, "plan", p.Stdout, `vm.vm1.file["/etc/certs/key.pem"]`, "cluster.remote1.secret")
	record("plan -json", w.Must(0, "plan", "-json"))
	record("plan -format=markdown", w.Must(0, "plan", "-format=markdown"))
	record("show", w.Must(0, "show", "-no-color", "review.mxplan"))
	record("show -json", w.Must(0, "show", "-json", "review.mxplan"))
	record("show -format=markdown", w.Must(0, "show", "-format=markdown", "review.mxplan"))
	for _, f := range []string{"first.mxplan", "review.mxplan"} {
		b, err := os.ReadFile(filepath.Join(w.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		outputs["plan file "+f] = string(b)
	}
	record("apply -json PLANFILE", w.Must(0, "apply", "-json", "review.mxplan"))
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")

	// The real secrets, read after the repair.
	sec, err = cs.CoreV1().Secrets("istio-system").Get(c, "remote1", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Labels["istio/multiCluster"] != "true" {
		t.Errorf("remote secret label not repaired: %v", sec.Labels)
	}
	kubeconfig := sec.Data["remote1"]
	kc, err := clientcmd.Load(kubeconfig)
	if err != nil {
		t.Fatalf("the remote secret's kubeconfig: %v", err)
	}
	user := kc.AuthInfos["remote1"]
	if user == nil || user.Token == "" {
		t.Fatalf("the remote secret's kubeconfig has no token for user remote1: %v", kc.AuthInfos)
	}
	istio, err := cs.CoreV1().Secrets(w.Namespace).Get(c, "istio.default", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	key := istio.Data["key.pem"]
	if len(key) == 0 {
		t.Fatal("istio.default has no key.pem")
	}
	if got := w.VMExec("vm1", "cat", "/etc/certs/key.pem"); got != string(key) {
		t.Error("key.pem on the VM was not repaired")
	}

	secrets := []struct {
		what  string
		bytes []byte
		pem   bool
	}{
		{"reader token", []byte(user.Token), false},
		{"remote kubeconfig", kubeconfig, false},
		{"key.pem", key, true},
	}
	for _, s := range secrets {
		what := s.what
		for form, needle := range forms(s.bytes, s.pem) {
			for name, out := range outputs {
				if strings.Contains(out, needle) {
					t.Errorf("%s (%s) appears in %s", what, form, name)
				}
			}
		}
	}

	// The stored kubeconfig reads the remote cluster and cannot write to it.
	rc, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.CoreV1().Pods("").List(c, metav1.ListOptions{}); err != nil {
		t.Errorf("the reader cannot list pods in remote1: %v", err)
	}
	_, err = reader.CoreV1().ConfigMaps(w.Namespace).Create(c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "meshx-review-probe"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the reader creating a ConfigMap in remote1: %v, want Forbidden", err)
	}
}

// forms returns the ways a secret could leak: raw, base64 (standard, raw
// URL) and, for PEM, each body line (base64 of the key itself).
func forms(s []byte, pem bool) map[string]string {
	f := map[string]string{
		"raw":           string(s),
		"base64":        base64.StdEncoding.EncodeToString(s),
		"base64url-raw": base64.RawURLEncoding.EncodeToString(s),
	}
	for i, line := range strings.Split(string(s), "\n") {
		if line = strings.TrimSpace(line); pem && len(line) >= 24 && !strings.HasPrefix(line, "-----") {
			f[fmt.Sprintf("line %d", i+1)] = line
		}
	}
	return f
}

// TestSensitiveVariablesNeverShown uses a sensitive variable (from
// MESHX_VAR_secret, a unique marker) in sidecar_env, cluster_env and an
// output, and checks that neither its value nor a changed one appears, raw
// or base64, in any output of plan, show, apply, output and validate (text,
// JSON, markdown) nor in a saved plan; that the VM gets the real value;
// that a saved plan is refused once the secret changed (the config digest
// leaves secrets out, the fingerprints catch it); and that diagnostics of
// invalid configurations quote neither the secret nor a private key read
// with file().
func TestSensitiveVariablesNeverShown(t *testing.T) {
	secret1, secret2 := "mxsecret_"+randomHex(t), "mxsecret_"+randomHex(t)
	t.Setenv(config.EnvVarPrefix+"secret", secret1)
	w := e2etest.New(t, "sensvars")
	w.VMs = []string{"vm1"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	w.VMExtra = `
  sidecar_env = {
    MESHX_TEST_TOKEN = var.secret
    MESHX_TEST_PLAIN = "visible"
  }
  cluster_env = {
    MESHX_TEST_AUTH = "token-${var.secret}"
  }`
	valid := `
variable "secret" {
  sensitive = true
}

output "token" {
  value     = var.secret
  sensitive = true
}
`
	w.Extra = valid
	w.Write()
	w.DestroyOnCleanup()

	outputs := map[string]string{}
	record := func(name string, r e2etest.Result) e2etest.Result {
		outputs[name] = r.Stdout + "\n" + r.Stderr
		return r
	}
	planFile := func(name string) {
		b, err := os.ReadFile(filepath.Join(w.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		outputs["plan file "+name] = string(b)
	}
	setSecret := func(s string) { t.Setenv(config.EnvVarPrefix+"secret", s) }

	record("validate -json", w.Must(0, "validate", "-json"))
	p := record("plan -out", w.Must(0, "plan", "-out=first.mxplan", "-no-color"))
	e2etest.Contains(t, "plan", p.Stdout, "MESHX_TEST_TOKEN", "(sensitive value, sha256:", "visible")
	record("plan -json", w.Must(0, "plan", "-json"))
	record("plan -format=markdown", w.Must(0, "plan", "-format=markdown"))
	record("show", w.Must(0, "show", "-no-color", "first.mxplan"))
	record("show -json", w.Must(0, "show", "-json", "first.mxplan"))
	record("show -format=markdown", w.Must(0, "show", "-format=markdown", "first.mxplan"))
	planFile("first.mxplan")

	// Another secret since the plan: the saved plan is refused.
	setSecret(secret2)
	r := record("apply stale plan", w.Must(4, "apply", "-no-color", "first.mxplan"))
	e2etest.Contains(t, "apply of a plan made with another secret", r.Stdout+r.Stderr, "sensitive value changed")
	setSecret(secret1)
	record("apply -json PLANFILE", w.Must(0, "apply", "-json", "first.mxplan"))
	if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env"); !strings.Contains(got, "MESHX_TEST_TOKEN="+secret1) {
		t.Errorf("sidecar.env lacks the secret:\n%s", got)
	}
	if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/cluster.env"); !strings.Contains(got, "token-"+secret1) {
		t.Errorf("cluster.env lacks the secret:\n%s", got)
	}
	record("output", w.Must(0, "output", "-no-color"))
	record("output -json", w.Must(0, "output", "-json"))
	record("plan after apply", w.Must(0, "plan", "-detailed-exitcode", "-no-color"))

	// The secret changes: the update shows fingerprints only.
	setSecret(secret2)
	p = record("plan -out after the change", w.Must(0, "plan", "-out=second.mxplan", "-no-color"))
	e2etest.Contains(t, "plan after the secret changed", p.Stdout, `vm.vm1.env["/var/lib/istio/envoy/sidecar.env"]`, `vm.vm1.file["/var/lib/istio/envoy/cluster.env"]`, "(sensitive value, sha256:")
	record("show after the change", w.Must(0, "show", "-no-color", "second.mxplan"))
	record("show -json after the change", w.Must(0, "show", "-json", "second.mxplan"))
	planFile("second.mxplan")
	record("apply after the change", w.Must(0, "apply", "-no-color", "second.mxplan"))
	record("plan after the second apply", w.Must(0, "plan", "-detailed-exitcode", "-no-color"))
	if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env"); !strings.Contains(got, "MESHX_TEST_TOKEN="+secret2) {
		t.Errorf("sidecar.env lacks the new secret:\n%s", got)
	}

	// check looks for the secrets in what was recorded so far, then forgets it.
	key, err := os.ReadFile(w.Lab.SSHPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for what, s := range map[string][]byte{"the secret": []byte(secret1), "the changed secret": []byte(secret2), "the SSH private key": key} {
			for form, needle := range forms(s, what == "the SSH private key") {
				for name, out := range outputs {
					if strings.Contains(out, needle) {
						t.Errorf("%s (%s) appears in %s", what, form, name)
					}
				}
			}
		}
		clear(outputs)
	}
	check()

	// Invalid configurations: their diagnostics quote no secret.
	for _, tc := range []struct{ name, extra, want string }{
		{"pod_cidr", fmt.Sprintf(`
cluster "leak" {
  kubeconfig = %q
  pod_cidr   = var.secret
}
`, w.Lab.ControlCluster().Kubeconfig), "Invalid CIDR"},
		{"error_message", `
variable "secret" {
  sensitive = true
  validation {
    condition     = length(var.secret) < 3
    error_message = "The secret ${var.secret} is too long."
  }
}
`, "Invalid value for variable"},
		{"file of a private key", fmt.Sprintf(`
output "key" {
  value = file(%q)
}
`, w.Lab.SSHPrivateKey), "Output refers to sensitive values"},
	} {
		extra := valid + tc.extra
		if tc.name == "error_message" {
			extra = tc.extra
		}
		w.Extra = extra
		w.Write()
		for _, args := range [][]string{{"validate", "-no-color"}, {"validate", "-json"}, {"plan", "-no-color"}, {"plan", "-json"}} {
			r := record(tc.name+": "+strings.Join(args, " "), w.Must(1, args...))
			e2etest.Contains(t, tc.name+": "+strings.Join(args, " "), r.Stdout+r.Stderr, tc.want)
		}
	}
	w.Extra = valid
	w.Write()

	check()
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
