package modernmc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/providers/kube"
)

// The names istioctl create-remote-secret and Istio's charts give the
// reader and the secret, for the lab's istio-system and remote1.
const (
	readerSA    = "istio-reader-service-account"
	readerRole  = "istio-reader-clusterrole-istio-system"
	tokenSecret = "istio-reader-service-account-istio-remote-secret-token"
	remoteSec   = "istio-remote-secret-remote1"
	istioNS     = "istio-system"
)

// config is the test's configuration: the control cluster, whose istiod
// is the lab's, and, unless remote is "", remote1 with the given extra
// attributes.
func config(l *lab.Lab, remote string) string {
	ctl := l.ControlCluster()
	s := fmt.Sprintf(`meshx {
  environment = "modernmc"
  istio {
    namespace = "istio-system"
    profile   = "1.28"
  }
}

cluster "control" {
  role         = "control"
  kubeconfig   = %q
  pod_cidr     = %q
  service_cidr = %q
}
`, ctl.Kubeconfig, ctl.PodCIDR, ctl.ServiceCIDR)
	if remote != "" {
		r := l.Cluster("remote1")
		s += fmt.Sprintf(`
cluster "remote1" {
  kubeconfig   = %q
  pod_cidr     = %q
  service_cidr = %q
  %s
}
`, r.Kubeconfig, r.PodCIDR, r.ServiceCIDR, remote)
	}
	return s
}

// write replaces the world's configuration.
func write(w *e2etest.World, text string) {
	w.T.Helper()
	if err := os.WriteFile(filepath.Join(w.Dir, "main.hcl"), []byte(text), 0o644); err != nil {
		w.T.Fatal(err)
	}
}

// remoteSynced waits until istiod reads remote1 through the secret meshx
// wrote and reports it synced.
func remoteSynced(t *testing.T, l *lab.Lab) {
	t.Helper()
	e2etest.Eventually(t, "istiod reports remote1 synced", 2*time.Minute, func() (bool, string) {
		cs, err := e2etest.IstiodClusters(l.Istio.DebugURL)
		if err != nil {
			return false, err.Error()
		}
		for _, c := range cs {
			if c.ID == "remote1" && c.SecretName == istioNS+"/"+remoteSec && c.SyncStatus == "synced" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("clusterz %+v", cs)
	})
}

// serviceInRemote creates, in remote1, a selector-less Service name in
// namespace ns with an EndpointSlice holding ip, and waits until istiod
// has the service in its registry and ip among its endpoints.
func serviceInRemote(t *testing.T, l *lab.Lab, rcs kubernetes.Interface, ns, name, ip string) {
	t.Helper()
	c := t.Context()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}}
	if _, err := rcs.CoreV1().Services(ns).Create(c, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port, proto, portName := int32(8080), corev1.ProtocolTCP, "http"
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "e2e.meshx.dev"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
	}
	if _, err := rcs.DiscoveryV1().EndpointSlices(ns).Create(c, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	host := name + "." + ns + ".svc.cluster.local"
	e2etest.Eventually(t, "istiod has "+host+" from remote1 with endpoint "+ip, 2*time.Minute, func() (bool, string) {
		hosts, err := e2etest.IstiodServices(l.Istio.DebugURL)
		if err != nil {
			return false, err.Error()
		}
		if !slices.Contains(hosts, host) {
			return false, fmt.Sprintf("registryz has %v", hosts)
		}
		eps, err := e2etest.IstiodEndpoints(l.Istio.DebugURL, host)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(eps, ip), "endpointz for " + host + ": " + eps
	})
}

// secretKubeconfig returns the kubeconfig of the remote secret.
func secretKubeconfig(t *testing.T, cs kubernetes.Interface) []byte {
	t.Helper()
	sec, err := cs.CoreV1().Secrets(istioNS).Get(t.Context(), remoteSec, e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	return sec.Data["remote1"]
}

// TestModernRemoteCluster joins remote1 to the lab's istiod-era mesh as
// istioctl create-remote-secret would, done right: a plan refuses a
// cluster ID another secret registers; apply writes the reader, its
// rules, a token and istio-remote-secret-remote1; the real istiod reads
// it, reports remote1 synced and serves a Service created in remote1; a
// second plan is empty; the long-lived token gives way to TokenRequest
// tokens, which are re-minted in the last third of their life while istiod
// stays synced and sees a Service created after the rotation; removing the
// cluster block removes the reader and the secret.
func TestModernRemoteCluster(t *testing.T) {
	l := lab.Get(t)
	if l.Istio == nil {
		t.Fatal("the lab runs no istiod")
	}
	w := &e2etest.World{T: t, Lab: l, Dir: t.TempDir(), Env: "modernmc"}
	cs, rcs, c := w.Client("control"), w.Client("remote1"), t.Context()
	remote := l.Cluster("remote1")
	write(w, config(l, "# a long-lived token Secret"))
	w.DestroyOnCleanup()

	// Another secret already registers remote1 with istiod: meshx's would
	// be ignored, and the plan says so at the cluster block, for each
	// disagreement.
	stale := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istio-remote-secret-stale", Namespace: istioNS,
		Labels:      map[string]string{"istio/multiCluster": "true"},
		Annotations: map[string]string{"networking.istio.io/cluster": "stale"}},
		Data: map[string][]byte{"remote1": []byte("not a kubeconfig")}}
	if _, err := cs.CoreV1().Secrets(istioNS).Create(c, stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// And remote1's own Istio install calls it otherwise.
	injector := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "istio-sidecar-injector", Namespace: istioNS},
		Data: map[string]string{"values": `{"global":{"multiCluster":{"clusterName":"remote-one"}}}`}}
	if _, err := rcs.CoreV1().Namespaces().Create(c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := rcs.CoreV1().ConfigMaps(istioNS).Create(c, injector, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plan := w.Must(1, "plan", "-no-color")
	e2etest.Contains(t, "plan with another install's cluster ID", plan.Stderr,
		`cluster.remote1.reader: The Istio install in cluster "remote1" calls its cluster "remote-one" (ConfigMap istio-system/istio-sidecar-injector, values global.multiCluster.clusterName), but its cluster_id here is "remote1"`,
		`Set cluster_id = "remote-one"`)
	if err := rcs.CoreV1().ConfigMaps(istioNS).Delete(c, injector.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e2etest.Contains(t, "plan with a stale remote secret", plan.Stderr, "Error: Conflicting object", "main.hcl line 16",
		`Secret istio-system/istio-remote-secret-stale in the control cluster, owned by field manager "modernmc.test", already registers cluster ID "remote1"`,
		"kubectl -n istio-system delete secret istio-remote-secret-stale")
	if err := cs.CoreV1().Secrets(istioNS).Delete(c, stale.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	w.Must(0, "apply", "-auto-approve", "-no-color")
	t.Logf("apply: %s", time.Since(start).Round(time.Millisecond))

	// The reader in remote1, as the istio-discovery chart has it.
	if _, err := rcs.CoreV1().ServiceAccounts(istioNS).Get(c, readerSA, e2etest.Get); err != nil {
		t.Errorf("ServiceAccount %s in remote1: %v", readerSA, err)
	}
	if role, err := rcs.RbacV1().ClusterRoles().Get(c, readerRole, e2etest.Get); err != nil {
		t.Errorf("ClusterRole %s in remote1: %v", readerRole, err)
	} else if len(role.Rules) != 11 || !slices.Contains(role.Rules[1].Resources, "endpoints") || role.Rules[9].Resources[0] != "tokenreviews" {
		t.Errorf("ClusterRole %s rules = %+v", readerRole, role.Rules)
	}
	if b, err := rcs.RbacV1().ClusterRoleBindings().Get(c, readerRole, e2etest.Get); err != nil {
		t.Errorf("ClusterRoleBinding %s in remote1: %v", readerRole, err)
	} else if b.RoleRef.Name != readerRole || len(b.Subjects) != 1 || b.Subjects[0].Name != readerSA || b.Subjects[0].Namespace != istioNS {
		t.Errorf("ClusterRoleBinding %s = %+v %+v", readerRole, b.RoleRef, b.Subjects)
	}
	if sec, err := rcs.CoreV1().Secrets(istioNS).Get(c, tokenSecret, e2etest.Get); err != nil {
		t.Errorf("token Secret %s in remote1: %v", tokenSecret, err)
	} else if sec.Type != corev1.SecretTypeServiceAccountToken || sec.Annotations["kubernetes.io/service-account.name"] != readerSA {
		t.Errorf("token Secret %s: type %s annotations %v", tokenSecret, sec.Type, sec.Annotations)
	}
	// The control cluster's secret, as create-remote-secret writes it.
	sec, err := cs.CoreV1().Secrets(istioNS).Get(c, remoteSec, e2etest.Get)
	if err != nil {
		t.Fatalf("Secret %s in control: %v", remoteSec, err)
	}
	if sec.Labels["istio/multiCluster"] != "true" || sec.Annotations["networking.istio.io/cluster"] != "remote1" || len(sec.Data) != 1 || len(sec.Data["remote1"]) == 0 {
		t.Errorf("Secret %s: labels %v annotations %v %d data keys", remoteSec, sec.Labels, sec.Annotations, len(sec.Data))
	}
	kc := sec.Data["remote1"]
	if rc, err := clientcmd.RESTConfigFromKubeConfig(kc); err != nil || rc.Host != remote.Server {
		t.Errorf("the secret's kubeconfig: %v, server %v, want %s", err, rc, remote.Server)
	}

	// The real istiod reads it.
	remoteSynced(t, l)
	if _, err := rcs.CoreV1().Namespaces().Create(c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mc-probe"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcs.CoreV1().Namespaces().Delete(e2etest.Step(t), "mc-probe", metav1.DeleteOptions{}) })
	serviceInRemote(t, l, rcs, "mc-probe", "probe", "10.99.0.7")
	e2etest.Contains(t, "second plan", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")
	// meshx verify uses the stored kubeconfig as istiod does.
	e2etest.Contains(t, "verify", w.Must(0, "verify", "-no-color").Stdout,
		"system:serviceaccount:istio-system:"+readerSA, "endpoints, namespaces", "endpointslices.discovery.k8s.io", "Verify: all 3 checks passed.")

	// TokenRequest tokens instead: the long-lived one goes (revoked), the
	// secret gets a token of an hour.
	write(w, config(l, `token_lifetime = "1h"`))
	plan = w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	e2etest.Contains(t, "plan to TokenRequest tokens", plan.Stdout, "cluster.remote1.reader will be updated in-place", "cluster.remote1.secret will be updated in-place")
	applyUpdating(t, w, l, "with a TokenRequest token")
	if _, err := rcs.CoreV1().Secrets(istioNS).Get(c, tokenSecret, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("token Secret %s after the switch to TokenRequest tokens: %v, want NotFound", tokenSecret, err)
	}
	kc2 := secretKubeconfig(t, cs)
	if string(kc2) == string(kc) {
		t.Fatal("the switch to TokenRequest tokens kept the kubeconfig")
	}
	e2etest.Contains(t, "plan after the switch", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")

	// 45 minutes later, by the record of the token on the reader's
	// account (what the plan reads): past two thirds of its life, so the
	// plan re-mints it and rewrites the secret; istiod swaps to the new
	// kubeconfig and stays synced.
	ageReaderToken(t, rcs, 45*time.Minute)
	plan = w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	e2etest.Contains(t, "rotation plan", plan.Stdout, "cluster.remote1.reader will be updated in-place", "cluster.remote1.secret will be updated in-place")
	applyUpdating(t, w, l, "from the rotated secret")
	if kc3 := secretKubeconfig(t, cs); string(kc3) == string(kc2) {
		t.Fatal("the rotation kept the kubeconfig")
	}
	serviceInRemote(t, l, rcs, "mc-probe", "after-rotation", "10.99.0.8")
	e2etest.Contains(t, "plan after the rotation", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")

	// remote_secret { tls_server_name }, one of the names in the API
	// server's certificate: istiod takes the new kubeconfig and stays
	// synced. (A name the certificate lacks is tried last, below.)
	tls := func(name string) string {
		return fmt.Sprintf("token_lifetime = \"1h\"\n  remote_secret {\n    tls_server_name = %q\n  }", name)
	}
	write(w, config(l, tls("kubernetes.default.svc")))
	e2etest.Contains(t, "plan with a TLS server name", w.Must(2, "plan", "-detailed-exitcode", "-no-color").Stdout,
		"cluster.remote1.secret will be updated in-place")
	applyUpdating(t, w, l, "with the TLS server name")
	if rc, err := clientcmd.RESTConfigFromKubeConfig(secretKubeconfig(t, cs)); err != nil || rc.TLSClientConfig.ServerName != "kubernetes.default.svc" {
		t.Fatalf("the secret's kubeconfig: %v, TLS server name %q", err, rc.TLSClientConfig.ServerName)
	}
	serviceInRemote(t, l, rcs, "mc-probe", "after-tls", "10.99.0.9")
	e2etest.Contains(t, "plan after the TLS server name", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")

	// Without the cluster block, the inventory's record of remote1 plans
	// the undo: the reader and the secret go, and istiod drops remote1.
	write(w, config(l, ""))
	plan = w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	e2etest.Contains(t, "plan without remote1", plan.Stdout, "cluster.remote1.reader will be destroyed", "cluster.remote1.secret will be destroyed")
	w.Must(0, "apply", "-auto-approve", "-no-color")
	if _, err := cs.CoreV1().Secrets(istioNS).Get(c, remoteSec, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("Secret %s after the removal: %v, want NotFound", remoteSec, err)
	}
	if _, err := rcs.CoreV1().ServiceAccounts(istioNS).Get(c, readerSA, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("ServiceAccount %s after the removal: %v, want NotFound", readerSA, err)
	}
	if _, err := rcs.RbacV1().ClusterRoles().Get(c, readerRole, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole %s after the removal: %v, want NotFound", readerRole, err)
	}
	if _, err := rcs.RbacV1().ClusterRoleBindings().Get(c, readerRole, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRoleBinding %s after the removal: %v, want NotFound", readerRole, err)
	}
	e2etest.Eventually(t, "istiod drops remote1", 2*time.Minute, func() (bool, string) {
		cs, err := e2etest.IstiodClusters(l.Istio.DebugURL)
		if err != nil {
			return false, err.Error()
		}
		for _, c := range cs {
			if c.ID == "remote1" {
				return false, fmt.Sprintf("clusterz %+v", cs)
			}
		}
		return true, ""
	})
	e2etest.Contains(t, "plan after the removal", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")

	// Joined again with a long-lived token, then meshx destroy: nothing of
	// the reader, its token or the secret is left.
	write(w, config(l, "# a long-lived token Secret"))
	w.Must(0, "apply", "-auto-approve", "-no-color")
	remoteSynced(t, l)
	// Before that, a TLS server name the API server's certificate lacks:
	// istiod checks the certificate against it and says so. It comes
	// last: after a client of remote1 that never synced, this istiod was
	// seen not to read remote1's secret when it was deleted and created
	// again.
	write(w, config(l, "remote_secret {\n    tls_server_name = \"not-the-apiserver.example\"\n  }"))
	w.Must(0, "apply", "-auto-approve", "-no-color")
	e2etest.Eventually(t, "istiod refuses the API server's certificate for not-the-apiserver.example", 2*time.Minute, func() (bool, string) {
		return strings.Contains(istiodLog(t, l), "not not-the-apiserver.example"), "no x509 error naming it in istiod's log"
	})
	w.Must(0, "destroy", "-auto-approve", "-no-color")
	for what, err := range map[string]error{
		"Secret " + remoteSec + " in control": get(cs.CoreV1().Secrets(istioNS).Get(c, remoteSec, e2etest.Get)),
		"ServiceAccount " + readerSA:          get(rcs.CoreV1().ServiceAccounts(istioNS).Get(c, readerSA, e2etest.Get)),
		"ClusterRole " + readerRole:           get(rcs.RbacV1().ClusterRoles().Get(c, readerRole, e2etest.Get)),
		"ClusterRoleBinding " + readerRole:    get(rcs.RbacV1().ClusterRoleBindings().Get(c, readerRole, e2etest.Get)),
		"token Secret " + tokenSecret:         get(rcs.CoreV1().Secrets(istioNS).Get(c, tokenSecret, e2etest.Get)),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s after destroy: %v, want NotFound", what, err)
		}
	}
}

// get drops the object of a client-go Get, keeping its error.
func get[T any](_ T, err error) error { return err }

// ageReaderToken moves the record of the reader's token on its account
// back by d, as meshx's own field manager, so the account's other fields
// keep their owner: what the account says after d has passed.
func ageReaderToken(t *testing.T, rcs kubernetes.Interface, d time.Duration) {
	t.Helper()
	c := t.Context()
	sa, err := rcs.CoreV1().ServiceAccounts(istioNS).Get(c, readerSA, e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := corev1ac.ExtractServiceAccount(sa, kube.FieldManager)
	if err != nil {
		t.Fatal(err)
	}
	ann := map[string]string{}
	for _, k := range []string{"meshx.dev/token-issued", kube.AnnotationTokenExpires} {
		at, err := time.Parse(time.RFC3339, sa.Annotations[k])
		if err != nil {
			t.Fatalf("annotation %s of the reader's account: %v", k, err)
		}
		ann[k] = at.Add(-d).Format(time.RFC3339)
	}
	cfg.WithAnnotations(ann)
	if _, err := rcs.CoreV1().ServiceAccounts(istioNS).Apply(c, cfg, metav1.ApplyOptions{FieldManager: kube.FieldManager}); err != nil {
		t.Fatal(err)
	}
}

// applyUpdating applies, then waits until istiod updates remote1 from the
// rewritten secret (one more "Update cluster" line in its log) and
// reports it synced.
func applyUpdating(t *testing.T, w *e2etest.World, l *lab.Lab, why string) {
	t.Helper()
	before := strings.Count(istiodLog(t, l), "Update cluster")
	w.Must(0, "apply", "-auto-approve", "-no-color")
	e2etest.Eventually(t, "istiod updates remote1 "+why, 2*time.Minute, func() (bool, string) {
		n := strings.Count(istiodLog(t, l), "Update cluster")
		return n > before, fmt.Sprintf("%d \"Update cluster\" lines in istiod's log, %d before the apply", n, before)
	})
	remoteSynced(t, l)
}

// istiodLog returns istiod's log so far.
func istiodLog(t *testing.T, l *lab.Lab) string {
	t.Helper()
	b, err := os.ReadFile(l.Istio.Log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
