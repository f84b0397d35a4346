package lab_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/lab"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// istioLab returns the package's lab, which runs a real istiod.
func istioLab(t *testing.T) *lab.Lab {
	t.Helper()
	l := lab.Get(t)
	if l.Istio == nil {
		t.Fatalf("lab %s runs no istiod (Options.Istio)", l.Name)
	}
	return l
}

// rootCertConfigMap waits for istiod to publish istio-ca-root-cert in ns
// and returns its root-cert.pem.
func rootCertConfigMap(t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	var root string
	poll(t, 30*time.Second, "istio-ca-root-cert in "+ns, func(ctx context.Context) (bool, error) {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "istio-ca-root-cert", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		root = cm.Data["root-cert.pem"]
		return root != "", nil
	})
	return root
}

func TestIstiodPublishesRootCertAndDebug(t *testing.T) {
	t.Parallel()
	l := istioLab(t)
	cs := l.Clientset(t, l.ControlCluster().Name)
	ns := newNamespace(t, cs, "istiod")
	root := rootCertConfigMap(t, cs, ns)
	b, _ := pem.Decode([]byte(root))
	if b == nil {
		t.Fatalf("root-cert.pem is not PEM: %q", root)
	}
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		t.Fatalf("root-cert.pem: %v", err)
	}
	for _, path := range []string{"/debug/registryz", "/debug/endpointz", "/debug/clusterz"} {
		resp, err := http.Get(l.Istio.DebugURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s: %s", path, resp.Status, body)
		}
		// What an install has in front of istiod, and the kubernetes
		// Service every cluster has.
		for _, host := range []string{"kubernetes.default", "istiod.istio-system", "istio-pilot.istio-system"} {
			if path == "/debug/registryz" && !strings.Contains(string(body), host+".svc.cluster.local") {
				t.Errorf("registryz does not list %s: %.300s", host, body)
			}
		}
	}
	for _, f := range []string{l.Istio.Istioctl, l.Istio.PilotAgent} {
		if fi, err := os.Stat(f); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("lab.json names %s, which is not an executable (%v)", f, err)
		}
	}
}

// createIstiodLB creates a LoadBalancer Service selecting istiod with its
// xDS/CA and webhook ports, as an east-west gateway exposes them, and
// returns its address.
func createIstiodLB(t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	_, err := cs.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "istiod"},
			Ports: []corev1.ServicePort{
				{Name: "tls-istiod", Port: 15012, TargetPort: intstr.FromInt32(15012)},
				{Name: "tls-webhook", Port: 15017, TargetPort: intstr.FromInt32(15017)},
			}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lbIngress(t, cs, ns, name, 20*time.Second).IP
}

// TestLoadBalancerReachesIstiod: a LoadBalancer Service selecting istiod
// carries a TLS handshake from a VM to istiod, and a 1.0 stand-in's ILB
// accepts connections.
func TestLoadBalancerReachesIstiod(t *testing.T) {
	t.Parallel()
	l := istioLab(t)
	ctx := context.Background()
	cs := l.Clientset(t, l.ControlCluster().Name)
	ip := createIstiodLB(t, cs, "istio-system", "istiod-lb-test")
	root := rootCertConfigMap(t, cs, "istio-system")
	vm := l.VMs[0].Name
	if _, _, err := l.VMExecInput(ctx, vm, strings.NewReader(root), "sh", "-c", "cat > /tmp/istiod-lb-root.pem"); err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"15012", "15017"} {
		out, stderr, err := l.VMExecInput(ctx, vm, strings.NewReader(""), "openssl", "s_client",
			"-connect", ip+":"+port, "-servername", "istiod.istio-system.svc",
			"-CAfile", "/tmp/istiod-lb-root.pem", "-verify_return_error", "-verify_hostname", "istiod.istio-system.svc")
		if err != nil {
			t.Fatalf("openssl s_client to %s:%s in %s: %v\n%s", ip, port, vm, err, stderr)
		}
		if !strings.Contains(out, "Verify return code: 0 (ok)") {
			t.Errorf("handshake with %s:%s did not verify against istiod's root:\n%s", ip, port, out)
		}
	}

	// The 1.0-era stand-in for mixer has no process behind it; its ILB
	// accepts connections all the same.
	_, err := cs.CoreV1().Services("istio-system").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "mixer-ilb-test"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"istio": "mixer", "istio-mixer-type": "telemetry"},
			Ports:    []corev1.ServicePort{{Name: "grpc-mixer", Port: 9091}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mixer := lbIngress(t, cs, "istio-system", "mixer-ilb-test", 20*time.Second).IP
	poll(t, 10*time.Second, "TCP connect to mixer-ilb from "+vm, func(ctx context.Context) (bool, error) {
		_, _, err := l.VMExec(ctx, vm, "bash", "-c", "exec 3<>/dev/tcp/"+mixer+"/9091")
		return err == nil, err
	})
}

// TestDNSILBAnswersClusterNames: a VM whose dnsmasq forwards cluster.local
// to dns-ilb resolves a Service name to its ClusterIP, answered by the
// cluster's CoreDNS.
func TestDNSILBAnswersClusterNames(t *testing.T) {
	t.Parallel()
	l := istioLab(t)
	ctx := context.Background()
	c := l.Cluster("remote1")
	cs := l.Clientset(t, c.Name)
	_, err := cs.CoreV1().Services("kube-system").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "dns-ilb"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"k8s-app": "kube-dns"},
			Ports:    []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dnsILB := lbIngress(t, cs, "kube-system", "dns-ilb", 20*time.Second).IP
	pilot, err := cs.CoreV1().Services("istio-system").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-pilot"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"istio": "pilot"},
			Ports: []corev1.ServicePort{{Name: "http-discovery", Port: 8080}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vm := l.VMs[0].Name
	conf := "/etc/dnsmasq.d/lab-test-kubedns"
	if _, _, err := l.VMExec(ctx, vm, "sh", "-c", "echo server=/cluster.local/"+dnsILB+" > "+conf+" && systemctl restart dnsmasq"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, _, err := l.VMExec(context.Background(), vm, "sh", "-c", "rm -f "+conf+" && systemctl stop dnsmasq"); err != nil {
			t.Error(err)
		}
	})
	var out string
	poll(t, 20*time.Second, "host istio-pilot in "+vm, func(ctx context.Context) (bool, error) {
		var err error
		out, _, err = l.VMExec(ctx, vm, "host", "-t", "A", "istio-pilot.istio-system.svc.cluster.local.")
		return err == nil && strings.Contains(out, "has address "+pilot.Spec.ClusterIP), err
	})
}

// TestIstioctlWorkloadEntryConfigure runs the real istioctl against the
// control cluster: it reads a WorkloadGroup and writes the VM's files.
func TestIstioctlWorkloadEntryConfigure(t *testing.T) {
	t.Parallel()
	l := istioLab(t)
	ctx := context.Background()
	ctl := l.ControlCluster()
	cs := l.Clientset(t, ctl.Name)
	ns := newNamespace(t, cs, "wg")
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "vmsa"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rootCertConfigMap(t, cs, ns)
	dir := t.TempDir()
	wg := filepath.Join(dir, "workloadgroup.yaml")
	err := os.WriteFile(wg, []byte(`apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: details
  namespace: `+ns+`
spec:
  metadata:
    labels:
      app: details
  template:
    serviceAccount: vmsa
    network: ""
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.CommandContext(ctx, l.Istio.Istioctl, "--kubeconfig", ctl.Kubeconfig, "x", "workload", "entry", "configure",
		"-f", wg, "-o", out, "--clusterID", ctl.Name, "--ingressIP", "10.251.0.250", "--autoregister")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("istioctl x workload entry configure: %v\n%s", err, b)
	}
	for _, f := range []string{"cluster.env", "mesh.yaml", "root-cert.pem", "istio-token", "hosts"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("istioctl did not write %s (%v)", f, err)
		}
	}
	env, _ := os.ReadFile(filepath.Join(out, "cluster.env"))
	for _, want := range []string{"SERVICE_ACCOUNT='vmsa'", "ISTIO_META_AUTO_REGISTER_GROUP='details'", "ISTIO_META_CLUSTER_ID='" + ctl.Name + "'"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("cluster.env lacks %s:\n%s", want, env)
		}
	}
	hosts, _ := os.ReadFile(filepath.Join(out, "hosts"))
	if got := strings.TrimSpace(string(hosts)); got != "10.251.0.250 istiod.istio-system.svc" {
		t.Errorf("hosts = %q", got)
	}
}

// TestModernSidecarObtainsWorkloadCert installs the modern istio-sidecar
// .deb on a VM, writes by hand what `istioctl x workload entry configure`
// and the istio.io VM steps would, starts the istio unit and waits for the
// real pilot-agent to obtain a workload certificate from istiod, for
// istiod to list the proxy (the stand-in envoy's ADS stream), for the
// agent to find Envoy ready (the stand-in's admin interface) and for
// istiod to auto-register a WorkloadEntry with the VM's address for its
// WorkloadGroup. This hand-written setup is the reference meshx must
// reproduce. Not parallel: istio-start.sh changes the VM's iptables while
// the unit runs.
func TestModernSidecarObtainsWorkloadCert(t *testing.T) {
	l := istioLab(t)
	if l.Istio.SidecarDeb == "" {
		t.Fatal("lab.json names no modern sidecar .deb")
	}
	ctx := context.Background()
	ctl := l.ControlCluster()
	cs := l.Clientset(t, ctl.Name)
	ns := newNamespace(t, cs, "vmcert")
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "vmsa"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	root := rootCertConfigMap(t, cs, ns)
	secs := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "vmsa", &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{Audiences: []string{"istio-ca"}, ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lbIP := createIstiodLB(t, cs, "istio-system", "istiod-sidecar-test")

	vm := l.VMs[0].Name
	run := func(script string, stdin io.Reader) {
		t.Helper()
		if stdin == nil {
			stdin = strings.NewReader("")
		}
		if _, stderr, err := l.VMExecInput(ctx, vm, stdin, "bash", "-euc", script); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}
	deb, err := os.Open(l.Istio.SidecarDeb)
	if err != nil {
		t.Fatal(err)
	}
	defer deb.Close()
	run("cat > /tmp/istio-sidecar.deb && dpkg -i /tmp/istio-sidecar.deb >/dev/null && rm /tmp/istio-sidecar.deb", deb)
	t.Cleanup(func() {
		l.VMExec(context.Background(), vm, "bash", "-c", "systemctl stop istio; dpkg --purge istio-sidecar; sed -i '/istiod.istio-system.svc/d' /etc/hosts")
	})
	run("mkdir -p /etc/certs && cat > /etc/certs/root-cert.pem", strings.NewReader(root))
	run("mkdir -p /var/run/secrets/tokens && cat > /var/run/secrets/tokens/istio-token", strings.NewReader(tr.Status.Token))
	// A WorkloadGroup for the VM to join: istiod registers a WorkloadEntry
	// for it when its proxy connects (auto-registration).
	rc, err := ctl.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	wgs := dyn.Resource(schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "workloadgroups"}).Namespace(ns)
	_, err = wgs.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "WorkloadGroup",
		"metadata": map[string]any{"name": "details"},
		"spec": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "details"}},
			"template": map[string]any{"serviceAccount": "vmsa"},
		},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clusterEnv := "ISTIO_NAMESPACE='" + ns + "'\nSERVICE_ACCOUNT='vmsa'\nISTIO_META_CLUSTER_ID='" + ctl.Name + "'\nTRUST_DOMAIN='cluster.local'\nPOD_NAMESPACE='" + ns + "'\nISTIO_SERVICE='details." + ns + "'\n" +
		"ISTIO_META_AUTO_REGISTER_GROUP='details'\n"
	run("cat > /var/lib/istio/envoy/cluster.env", strings.NewReader(clusterEnv))
	run("mkdir -p /etc/istio/config && cat > /etc/istio/config/mesh", strings.NewReader("defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n"))
	run("echo '"+lbIP+" istiod.istio-system.svc' >> /etc/hosts", nil)
	run("mkdir -p /etc/istio/proxy && chown -R istio-proxy /var/lib/istio /etc/certs /etc/istio/proxy /etc/istio/config /var/run/secrets /etc/certs/root-cert.pem", nil)
	run("systemctl start istio", nil)

	want := "spiffe://cluster.local/ns/" + ns + "/sa/vmsa"
	poll(t, 90*time.Second, "workload certificate in /etc/certs", func(ctx context.Context) (bool, error) {
		out, _, err := l.VMExec(ctx, vm, "cat", "/etc/certs/cert-chain.pem")
		if err != nil {
			logs, _, _ := l.VMExec(ctx, vm, "bash", "-c", "systemctl status istio; tail -5 /var/log/istio/istio.err.log /var/log/istio/istio.log")
			return false, fmt.Errorf("%v\n%s", err, logs)
		}
		b, _ := pem.Decode([]byte(out))
		if b == nil {
			return false, fmt.Errorf("cert-chain.pem is not PEM")
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return false, err
		}
		if len(cert.URIs) != 1 || cert.URIs[0].String() != want {
			return false, fmt.Errorf("URI SANs %v, want %s", cert.URIs, want)
		}
		return true, nil
	})

	// The stand-in envoy opens ADS through the agent: istiod lists the
	// proxy, named <pod>.<namespace> (POD_NAME is the VM's short hostname).
	proxy := l.VMs[0].Hostname + "." + ns + "-"
	poll(t, 60*time.Second, "istiod lists the VM's proxy", func(ctx context.Context) (bool, error) {
		resp, err := http.Get(l.Istio.DebugURL + "/debug/connections")
		if err != nil {
			return false, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"connectionId":"`+proxy) {
			return false, fmt.Errorf("no connection %s* in %.500s", proxy, body)
		}
		return true, err
	})
	// pilot-agent's own readiness (its status port, 15020) asks the
	// stand-in envoy's admin interface for the CDS and LDS updates,
	// server.state and workers_started, as it asks Envoy.
	poll(t, 60*time.Second, "pilot-agent finds Envoy ready", func(ctx context.Context) (bool, error) {
		if _, _, err := l.VMExec(ctx, vm, "curl", "-fsS", "http://localhost:15020/healthz/ready"); err != nil {
			logs, _, _ := l.VMExec(ctx, vm, "bash", "-c", "grep -i ready /var/log/istio/istio.log | tail -3")
			return false, fmt.Errorf("%v\n%s", err, logs)
		}
		return true, nil
	})
	wes := dyn.Resource(schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "workloadentries"}).Namespace(ns)
	poll(t, 30*time.Second, "auto-registered WorkloadEntry", func(ctx context.Context) (bool, error) {
		list, err := wes.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, we := range list.Items {
			addr, _, _ := unstructured.NestedString(we.Object, "spec", "address")
			if addr == l.VMs[0].Address {
				return true, nil
			}
		}
		return false, fmt.Errorf("%d WorkloadEntries, none with address %s", len(list.Items), l.VMs[0].Address)
	})
}
