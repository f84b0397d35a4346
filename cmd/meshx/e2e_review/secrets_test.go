package e2e_review

import (
	"encoding/base64"
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
	mustContain(t, "plan", p.Stdout, `vm.vm1.file["/etc/certs/key.pem"]`, "cluster.remote1.secret")
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
