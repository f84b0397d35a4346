package lab_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/lab/kubelab"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "labtest", VMs: 1, Istio: true}))
}

// poll calls cond every 50ms until it reports done, failing the test after
// limit with the last error.
func poll(t *testing.T, limit time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, limit, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s (last error: %v)", what, limit, last)
	}
}

func newNamespace(t *testing.T, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func TestClustersAnswer(t *testing.T) {
	l := lab.Get(t)
	if got := len(l.Clusters); got != 2 {
		t.Fatalf("%d clusters, want control and remote1", got)
	}
	for _, c := range l.Clusters {
		t.Run(c.Name, func(t *testing.T) {
			cs := l.Clientset(t, c.Name)
			nss, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range nss.Items {
				names = append(names, n.Name)
			}
			for _, want := range []string{"default", "kube-system", "istio-system"} {
				if !slices.Contains(names, want) {
					t.Errorf("namespaces %v lack %s", names, want)
				}
			}
			u, err := netip.ParseAddrPort(strings.TrimPrefix(c.Server, "https://"))
			if err != nil || !u.Addr().IsLoopback() {
				t.Errorf("server %s is not a loopback address (%v)", c.Server, err)
			}
			// The planner discovers the service CIDR through the ServiceCIDR API.
			sc, err := cs.NetworkingV1().ServiceCIDRs().Get(context.Background(), "kubernetes", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{c.ServiceCIDR}, sc.Spec.CIDRs); diff != "" {
				t.Errorf("ServiceCIDR kubernetes (-want +got):\n%s", diff)
			}
		})
	}
	// Multicluster Istio needs distinct pod and service ranges.
	var ps []netip.Prefix
	for _, c := range l.Clusters {
		ps = append(ps, netip.MustParsePrefix(c.PodCIDR), netip.MustParsePrefix(c.ServiceCIDR))
	}
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if ps[i].Overlaps(ps[j]) {
				t.Errorf("%s overlaps %s", ps[i], ps[j])
			}
		}
	}
}

func TestLoadedLabMatches(t *testing.T) {
	l := lab.Get(t)
	got, err := lab.Load(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l, got, cmp.AllowUnexported(lab.Cluster{})); diff != "" {
		t.Errorf("lab.json does not round-trip (-up +loaded):\n%s", diff)
	}
}

func TestExamplesVars(t *testing.T) {
	l := lab.Get(t)
	src, err := os.ReadFile(l.ExamplesVars)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, l.ExamplesVars, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]string{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if name == "vm_addresses" {
			for it := v.ElementIterator(); it.Next(); {
				k, addr := it.Element()
				got["vm_addresses."+k.AsString()] = addr.AsString()
			}
			continue
		}
		if name == "legacy_sidecar_packages" {
			// Istio 0.2–0.4's three packages: name → {url, sha256}.
			for it := v.ElementIterator(); it.Next(); {
				k, pkg := it.Element()
				got[k.AsString()+".url"] = pkg.GetAttr("url").AsString()
				got[k.AsString()+".sha256"] = pkg.GetAttr("sha256").AsString()
			}
			continue
		}
		got[name] = v.AsString()
	}
	want := map[string]string{
		"control_kubeconfig":     l.Cluster("control").Kubeconfig,
		"remote1_kubeconfig":     l.Cluster("remote1").Kubeconfig,
		"vm_address":             l.VMs[0].Address,
		"ssh_private_key":        l.SSHPrivateKey,
		"known_hosts":            l.KnownHosts,
		"sidecar_package_url":    l.SidecarURL,
		"sidecar_package_sha256": l.SidecarSHA256,
	}
	for _, v := range l.VMs {
		want["vm_addresses."+v.Name] = v.Address
	}
	if l.Istio != nil {
		want["istio_sidecar_deb"] = l.Istio.SidecarDeb
		want["istiod_debug_url"] = "http://" + l.Istio.MonitoringAddress
	}
	if len(l.LegacyDebs) != 3 {
		t.Errorf("lab has %d legacy sidecar packages, want 3", len(l.LegacyDebs))
	}
	for _, d := range l.LegacyDebs {
		want[d.Package+".url"], want[d.Package+".sha256"] = d.URL, d.SHA256
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("examples.vars (-want +got):\n%s", diff)
	}
	for name, v := range want {
		if v == "" {
			t.Errorf("%s is empty", name)
		}
	}
}

func lbIngress(t *testing.T, cs kubernetes.Interface, ns, name string, limit time.Duration) corev1.LoadBalancerIngress {
	t.Helper()
	var got corev1.LoadBalancerIngress
	poll(t, limit, "service "+ns+"/"+name+" load balancer", func(ctx context.Context) (bool, error) {
		s, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(s.Status.LoadBalancer.Ingress) == 0 {
			return false, nil
		}
		got = s.Status.LoadBalancer.Ingress[0]
		return true, nil
	})
	return got
}

func createLB(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	_, err := cs.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"istio": "pilot"},
			Ports:    []corev1.ServicePort{{Name: "grpc", Port: 15011}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoadBalancerIP uses the control cluster; the mode tests use remote1,
// so the two can run side by side.
func TestLoadBalancerIP(t *testing.T) {
	t.Parallel()
	l := lab.Get(t)
	c := l.Cluster("control")
	cs := l.Clientset(t, c.Name)
	ns := newNamespace(t, cs, "lb")
	createLB(t, cs, ns, "pilot-ilb")
	in := lbIngress(t, cs, ns, "pilot-ilb", 20*time.Second)
	ip, err := netip.ParseAddr(in.IP)
	if err != nil {
		t.Fatalf("ingress %+v has no IP", in)
	}
	first, last, _ := strings.Cut(c.LBPool, "-")
	if ip.Compare(netip.MustParseAddr(first)) < 0 || ip.Compare(netip.MustParseAddr(last)) > 0 {
		t.Errorf("LB address %s outside the cluster's pool %s", ip, c.LBPool)
	}
	if !netip.MustParsePrefix(l.Subnet).Contains(ip) {
		t.Errorf("LB address %s outside the lab subnet %s", ip, l.Subnet)
	}
	// Another service gets another address.
	createLB(t, cs, ns, "dns-ilb")
	if in2 := lbIngress(t, cs, ns, "dns-ilb", 20*time.Second); in2.IP == in.IP {
		t.Errorf("two services share %s", in.IP)
	}
}

func TestLoadBalancerModes(t *testing.T) {
	t.Parallel()
	l := lab.Get(t)
	ctx := context.Background()
	const cluster = "remote1"
	cs := l.Clientset(t, cluster)
	t.Cleanup(func() {
		if err := l.SetLB(ctx, cluster, "ip", time.Second); err != nil {
			t.Error(err)
		}
	})
	ns := newNamespace(t, cs, "lbmode")

	if err := l.SetLB(ctx, cluster, "hostname", 0); err != nil {
		t.Fatal(err)
	}
	createLB(t, cs, ns, "aws-like")
	in := lbIngress(t, cs, ns, "aws-like", 20*time.Second)
	if in.IP != "" || !strings.HasSuffix(in.Hostname, "."+cluster+".elb.meshx.test") {
		t.Errorf("hostname mode gave %+v, want only a hostname under %s.elb.meshx.test", in, cluster)
	}
	// The cluster's DNS answers the name with the address from the pool
	// that stands behind it, as the annotation records it.
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "aws-like", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := svc.Annotations[kubelab.AddressAnnotation]
	first, last, _ := strings.Cut(l.Cluster(cluster).LBPool, "-")
	if a, err := netip.ParseAddr(want); err != nil || a.Compare(netip.MustParseAddr(first)) < 0 || a.Compare(netip.MustParseAddr(last)) > 0 {
		t.Errorf("annotation %s = %q, want an address of the pool %s", kubelab.AddressAnnotation, want, l.Cluster(cluster).LBPool)
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, l.Istio.DNS[cluster])
	}}
	var got []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = r.LookupHost(ctx, in.Hostname); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // CoreDNS reads the hosts file again every second
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("the lab's DNS answers %s with %v (%v), want %s", in.Hostname, got, err, want)
	}

	if err := lab.SetLBMode(ctx, l.Cluster(cluster), "never"); err != nil {
		t.Fatal(err)
	}
	createLB(t, cs, ns, "stuck")
	// Absence can only be shown by waiting: well past the (zero) delay.
	time.Sleep(2 * time.Second)
	s, err := cs.CoreV1().Services(ns).Get(ctx, "stuck", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("never mode gave %+v", s.Status.LoadBalancer.Ingress)
	}
	// Switching back provisions what waited.
	if err := l.SetLBMode(ctx, cluster, "ip"); err != nil {
		t.Fatal(err)
	}
	if in := lbIngress(t, cs, ns, "stuck", 20*time.Second); in.IP == "" {
		t.Errorf("ip mode gave %+v", in)
	}
	if err := l.SetLBMode(ctx, cluster, "sometimes"); err == nil {
		t.Error("SetLBMode accepted mode \"sometimes\"")
	}
}

func TestIstioSecretInNewNamespace(t *testing.T) {
	t.Parallel()
	l := lab.Get(t)
	for _, c := range l.Clusters {
		t.Run(c.Name, func(t *testing.T) {
			cs := l.Clientset(t, c.Name)
			ns := newNamespace(t, cs, "citadel")
			var sec *corev1.Secret
			poll(t, 20*time.Second, "secret istio.default in "+ns, func(ctx context.Context) (bool, error) {
				s, err := cs.CoreV1().Secrets(ns).Get(ctx, "istio.default", metav1.GetOptions{})
				sec = s
				return err == nil, err
			})
			if sec.Type != "istio.io/key-and-cert" {
				t.Errorf("type %q, want istio.io/key-and-cert", sec.Type)
			}
			root, err := os.ReadFile(l.IstioRootCert)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sec.Data["root-cert.pem"], root) {
				t.Error("root-cert.pem is not the lab's Istio root")
			}
			cert := parseCert(t, sec.Data["cert-chain.pem"])
			if got, want := fmt.Sprint(cert.URIs), "[spiffe://cluster.local/ns/"+ns+"/sa/default]"; got != want {
				t.Errorf("URI SANs %s, want %s", got, want)
			}
			if got := cert.NotAfter.Sub(cert.NotBefore); got != 90*24*time.Hour {
				t.Errorf("validity %s, want 90 days", got)
			}
			if time.Since(cert.NotBefore) < 0 || time.Since(cert.NotBefore) > time.Minute {
				t.Errorf("NotBefore %s is not now", cert.NotBefore)
			}
			roots := x509.NewCertPool()
			roots.AddCert(parseCert(t, root))
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("cert-chain.pem does not verify against root-cert.pem: %v", err)
			}
			blk, _ := pem.Decode(sec.Data["key.pem"])
			if blk == nil {
				t.Fatal("key.pem is not PEM")
			}
			key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatalf("key.pem: %v", err)
			}
			if !key.PublicKey.Equal(cert.PublicKey) {
				t.Error("key.pem does not match cert-chain.pem")
			}

			// A new ServiceAccount gets its own; deleting it takes the secret.
			_, err = cs.CoreV1().ServiceAccounts(ns).Create(context.Background(),
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "details"}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			poll(t, 20*time.Second, "secret istio.details", func(ctx context.Context) (bool, error) {
				_, err := cs.CoreV1().Secrets(ns).Get(ctx, "istio.details", metav1.GetOptions{})
				return err == nil, err
			})
			if err := cs.CoreV1().ServiceAccounts(ns).Delete(context.Background(), "details", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			poll(t, 20*time.Second, "secret istio.details gone", func(ctx context.Context) (bool, error) {
				_, err := cs.CoreV1().Secrets(ns).Get(ctx, "istio.details", metav1.GetOptions{})
				return apierrors.IsNotFound(err), err
			})
		})
	}
}

func parseCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestControlPlanePods(t *testing.T) {
	l := lab.Get(t)
	ctx := context.Background()
	selectors := []struct{ ns, sel string }{
		{"istio-system", "istio=pilot"},
		{"istio-system", "istio=mixer,istio-mixer-type=policy"},
		{"istio-system", "istio=mixer,istio-mixer-type=telemetry"},
		{"istio-system", "istio=citadel"},
		{"istio-system", "istio=statsd-prom-bridge"},
		{"istio-system", "app=jaeger"},
		{"kube-system", "k8s-app=kube-dns"},
	}
	for _, c := range l.Clusters {
		t.Run(c.Name, func(t *testing.T) {
			cs := l.Clientset(t, c.Name)
			podCIDR := netip.MustParsePrefix(c.PodCIDR)
			for _, s := range selectors {
				pods, err := cs.CoreV1().Pods(s.ns).List(ctx, metav1.ListOptions{LabelSelector: s.sel})
				if err != nil {
					t.Fatal(err)
				}
				wantN := 1
				if c.Role != "control" && s.ns == "istio-system" {
					wantN = 0 // remote clusters have no Istio control plane
				}
				if c.Role == "control" && s.sel == "istio=pilot" && l.Istio != nil {
					wantN = 2 // istio-pilot-0 and istiod-0, labelled as an install labels istiod
				}
				if len(pods.Items) != wantN {
					t.Errorf("%s %s: %d pods, want %d", s.ns, s.sel, len(pods.Items), wantN)
					continue
				}
				for _, p := range pods.Items {
					ip, err := netip.ParseAddr(p.Status.PodIP)
					if p.Status.Phase != corev1.PodRunning || err != nil || !podCIDR.Contains(ip) {
						t.Errorf("pod %s: phase %s, IP %q; want Running with an IP in %s", p.Name, p.Status.Phase, p.Status.PodIP, podCIDR)
					}
				}
			}
			dns, err := cs.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]string{"k8s-app": "kube-dns"}, dns.Spec.Selector); diff != "" {
				t.Errorf("kube-dns selector (-want +got):\n%s", diff)
			}
			if dns.Spec.ClusterIP != c.DNSServiceIP {
				t.Errorf("kube-dns ClusterIP %s, lab.json says %s", dns.Spec.ClusterIP, c.DNSServiceIP)
			}
			// The endpoints controller sees the simulated pod as ready.
			poll(t, 20*time.Second, "kube-dns endpoints", func(ctx context.Context) (bool, error) {
				ep, err := cs.CoreV1().Endpoints("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
				return err == nil && len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1, err
			})
		})
	}
}

// TestServiceAccountTokens checks what multicluster setup relies on: the
// token controller fills a manually created token Secret, TokenRequest
// works, and RBAC refuses a ServiceAccount what it was not granted.
func TestServiceAccountTokens(t *testing.T) {
	t.Parallel()
	l := lab.Get(t)
	c := l.Cluster("remote1")
	cs := l.Clientset(t, c.Name)
	ctx := context.Background()
	ns := newNamespace(t, cs, "tokens")
	poll(t, 20*time.Second, "default service account", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "reader-token", Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var token []byte
	poll(t, 20*time.Second, "token controller fills reader-token", func(ctx context.Context) (bool, error) {
		s, err := cs.CoreV1().Secrets(ns).Get(ctx, "reader-token", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		token = s.Data["token"]
		return len(token) > 0 && len(s.Data["ca.crt"]) > 0, nil
	})
	caPEM, err := os.ReadFile(c.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	as, err := kubernetes.NewForConfig(&rest.Config{Host: c.Server, BearerToken: string(token), TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = as.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("a ServiceAccount without grants created a ConfigMap: err = %v, want Forbidden", err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "default", &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil || tr.Status.Token == "" {
		t.Errorf("TokenRequest: %v", err)
	}
}

func TestSSHIntoVM(t *testing.T) {
	l := lab.Get(t)
	if len(l.VMs) == 0 {
		t.Fatal("lab has no VMs")
	}
	vm := l.VMs[0]
	keyPEM, err := os.ReadFile(l.SSHPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal("parse lab SSH key failed") // never print key material
	}
	hostKeys, err := knownhosts.New(l.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(vm.Address, strconv.Itoa(vm.SSHPort))
	client, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            vm.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKeys, // only keys the lab recorded: no trust on first use
		Timeout:         10 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh %s@%s: %v", vm.User, addr, err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Output("hostname")
	if err != nil {
		t.Fatalf("hostname: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != vm.Hostname {
		t.Errorf("hostname %q, want %q", got, vm.Hostname)
	}

	// A host key the lab did not record is refused.
	other, err := knownhosts.New(writeTemp(t, "known_hosts", "10.251.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1eJd5/FZbg3SCT5KTxxTXgh2NsQdP8/J3ZrCCYDe0F\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{User: vm.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: other, Timeout: 10 * time.Second})
	if err == nil {
		t.Error("ssh accepted a host that is not in known_hosts")
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVMPassThroughs(t *testing.T) {
	l := lab.Get(t)
	ctx := context.Background()
	vm := l.VMs[0]
	out, _, err := l.VMExec(ctx, vm.Name, "hostname")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != vm.Hostname {
		t.Errorf("VMExec hostname = %q, want %q", got, vm.Hostname)
	}
	if _, _, err := l.VMExec(ctx, "no-such-vm", "true"); err == nil {
		t.Error("VMExec on a missing VM succeeded")
	}
	addr := net.JoinHostPort(vm.Address, strconv.Itoa(vm.SSHPort))
	if err := l.StopSSHD(ctx, vm.Name); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("sshd still accepts connections after StopSSHD")
	}
	if err := l.StartSSHD(ctx, vm.Name); err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("sshd does not accept connections after StartSSHD: %v", err)
	}
	c.Close()
}
