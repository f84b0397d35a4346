package kubelab

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The test binary doubles as the lab controller: Start re-executes it with
// this variable set to the cluster directory.
const controllerEnv = "KUBELAB_TEST_CONTROLLER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(controllerEnv); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := RunController(ctx, dir, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func binDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("MESHX_LAB_CACHE")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "meshx-lab")
	}
	bin := filepath.Join(root, "k8s-v1.37.2")
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			msg := fmt.Sprintf("lab binaries not built (%v); run make lab-binaries", err)
			if os.Getenv("MESHX_LAB_REQUIRED") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return bin
}

// startCluster starts one cluster in a temporary directory and stops it
// when the test ends.
func startCluster(t *testing.T, role string) (*State, kubernetes.Interface) {
	t.Helper()
	st, cs, _ := startClusterConfig(t, role)
	return st, cs
}

func startClusterConfig(t *testing.T, role string) (*State, kubernetes.Interface, Config) {
	t.Helper()
	bin := binDir(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "istio-ca")
	if err := os.Mkdir(ca, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(filepath.Join(ca, "root.crt"), filepath.Join(ca, "root.key"), IstioRootSubject, IstioRootTTL, true); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cdir := filepath.Join(dir, "c1")
	cfg := Config{
		Name: "c1", Role: role, Dir: cdir, BinDir: bin,
		Kubeconfig:  filepath.Join(dir, "c1.kubeconfig"),
		PodCIDR:     netip.MustParsePrefix("10.20.0.0/16"),
		ServiceCIDR: netip.MustParsePrefix("10.100.0.0/20"),
		LBFirst:     netip.MustParseAddr("10.251.99.200"),
		LBLast:      netip.MustParseAddr("10.251.99.202"),
		LBDelay:     200 * time.Millisecond,
		IstioCACert: filepath.Join(ca, "root.crt"), IstioCAKey: filepath.Join(ca, "root.key"),
		Controller:    []string{exe, "-test.run=^$"},
		ControllerEnv: []string{controllerEnv + "=" + cdir},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if err := Stop(cdir); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	start := time.Now()
	st, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("cluster up in %s", time.Since(start).Round(time.Millisecond))
	cs, err := NewClientset(st.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return st, cs, cfg
}

func TestPoolExhaustionAndRelease(t *testing.T) {
	_, cs := startCluster(t, RoleRemote)
	ctx := context.Background()
	svc := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
	}
	// The pool has three addresses.
	var got []string
	for _, n := range []string{"a", "b", "c"} {
		if _, err := cs.CoreV1().Services("default").Create(ctx, svc(n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got = append(got, waitLB(t, cs, n))
	}
	if diff := cmp.Diff([]string{"10.251.99.200", "10.251.99.201", "10.251.99.202"}, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc("d"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // d must stay pending while the pool is full
	if s, _ := cs.CoreV1().Services("default").Get(ctx, "d", metav1.GetOptions{}); len(s.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("d got %v from a full pool", s.Status.LoadBalancer.Ingress)
	}
	if err := cs.CoreV1().Services("default").Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ip := waitLB(t, cs, "d"); ip != "10.251.99.201" {
		t.Errorf("d got %s, want the released 10.251.99.201", ip)
	}
}

func waitLB(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s, err := cs.CoreV1().Services("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && len(s.Status.LoadBalancer.Ingress) > 0 {
			return s.Status.LoadBalancer.Ingress[0].IP
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("service %s got no load balancer address in 30s", name)
	return ""
}

func TestStartReusesOrReplaces(t *testing.T) {
	st, _, cfg := startClusterConfig(t, RoleControl)
	ctx := context.Background()
	before, err := Processes(cfg.Dir)
	if err != nil || len(before) != 4 {
		t.Fatalf("processes: %v %v", before, err)
	}
	pids := func() []int {
		recs, _ := Processes(cfg.Dir)
		var out []int
		for _, r := range recs {
			out = append(out, r.PID)
		}
		return out
	}
	first := pids()

	again, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.Server != st.Server || !cmp.Equal(first, pids()) {
		t.Errorf("same config: server %s pids %v, want the running %s %v", again.Server, pids(), st.Server, first)
	}

	// A dead lab controller means the cluster is replaced, old processes gone.
	if err := before[3].Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	repl, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range before {
		if r.Alive() {
			t.Errorf("%s (pid %d) of the replaced cluster still runs", r.Name, r.PID)
		}
	}
	second := pids()
	if cmp.Equal(first, second) || repl.Server == "" {
		t.Errorf("cluster with a dead controller was reused: %v", second)
	}

	// Another configuration replaces it too.
	cfg.LBMode = LBModeNever
	if _, err := Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(second, pids()) {
		t.Error("changed configuration reused the running cluster")
	}
	ls, err := LoadState(cfg.Dir)
	if err != nil || ls.LBMode != LBModeNever {
		t.Errorf("state after replace: %+v, %v", ls, err)
	}
}

func TestCAFiles(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"), pkix.Name{CommonName: "x"}, time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"), pkix.Name{CommonName: "x"}, time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.Equal(again.Cert) {
		t.Error("second LoadOrCreateCA made a new CA")
	}
	fi, err := os.Stat(filepath.Join(dir, "a.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
