package kubelab

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshx-dev/meshx/lab/internal/proc"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Roles of a cluster. The control cluster also gets the Istio control-plane
// pods; remote clusters only the baseline.
const (
	RoleControl = "control"
	RoleRemote  = "remote"
)

// Names of the lab's own objects in every cluster.
const (
	NodeName          = "lab-node"
	ConfigNamespace   = "kube-system"
	ConfigMapName     = "meshx-lab"        // lb-mode, lb-delay: written by tests
	StatusConfigMap   = "meshx-lab-status" // what the controller applied
	IstioNamespace    = "istio-system"
	ServiceAccountIss = "https://kubernetes.default.svc.cluster.local"
)

// LB modes, the values of key lb-mode in ConfigMap kube-system/meshx-lab.
const (
	LBModeIP       = "ip"       // ingress[0].ip from the pool
	LBModeHostname = "hostname" // ingress[0].hostname, as AWS does
	LBModeNever    = "never"    // no address ever: for timeout tests
)

// Config says how to start one cluster.
type Config struct {
	Name        string
	Role        string       // RoleControl or RoleRemote
	Dir         string       // this cluster's own directory; Start owns all of it
	BinDir      string       // holds etcd, kube-apiserver, kube-controller-manager
	Kubeconfig  string       // where the admin kubeconfig goes
	PodCIDR     netip.Prefix // fake pod IPs come from here
	ServiceCIDR netip.Prefix
	LBFirst     netip.Addr // LoadBalancer address pool, inclusive
	LBLast      netip.Addr
	LBMode      string        // initial lb-mode; "" is LBModeIP
	LBDelay     time.Duration // initial lb-delay
	IstioCACert string        // the lab's Istio root CA, shared by all clusters
	IstioCAKey  string
	// LBDevice is the interface (the lab's VM bridge) LoadBalancer
	// addresses go on so they carry traffic; "" leaves them labels only.
	LBDevice string
	// Controller is the argv and extra environment that run RunController
	// for Dir in a new process (see package lab: the lab re-executes its
	// own binary).
	Controller    []string
	ControllerEnv []string
}

// State is what Start records in Dir/cluster.json: everything a user of
// the cluster, Stop and the lab controller need.
type State struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Kubeconfig   string `json:"kubeconfig"`
	Server       string `json:"server"`
	PodCIDR      string `json:"podCIDR"`
	ServiceCIDR  string `json:"serviceCIDR"`
	CACertFile   string `json:"caCertFile"`
	LBFirst      string `json:"lbFirst"`
	LBLast       string `json:"lbLast"`
	LBMode       string `json:"lbMode"`
	LBDelay      string `json:"lbDelay"`
	IstioCACert  string `json:"istioCACert"`
	IstioCAKey   string `json:"istioCAKey"`
	DNSServiceIP string `json:"dnsServiceIP"`
	LBDevice     string `json:"lbDevice,omitempty"`
}

func stateFile(dir string) string     { return filepath.Join(dir, "cluster.json") }
func processesFile(dir string) string { return filepath.Join(dir, "processes.json") }

// LoadState reads Dir/cluster.json.
func LoadState(dir string) (*State, error) {
	var s State
	if err := proc.ReadJSON(stateFile(dir), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Start brings the cluster described by cfg up and returns when its API
// answers, the controller manager and the lab controller work, and the
// baseline objects exist. A cluster already running in cfg.Dir with the same
// configuration is reused; anything else there is stopped and replaced.
func Start(ctx context.Context, cfg Config) (*State, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if st, err := reuse(ctx, cfg); err == nil {
		return st, nil
	}
	if err := Stop(cfg.Dir); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "pki"), 0o700); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
	}
	st, err := start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
	}
	return st, nil
}

func (cfg *Config) check() error {
	if cfg.Name == "" || cfg.Dir == "" || cfg.BinDir == "" || cfg.Kubeconfig == "" {
		return errors.New("kubelab: Name, Dir, BinDir and Kubeconfig are required")
	}
	if cfg.Role == "" {
		cfg.Role = RoleRemote
	}
	if cfg.LBMode == "" {
		cfg.LBMode = LBModeIP
	}
	if !ValidLBMode(cfg.LBMode) {
		return fmt.Errorf("cluster %s: lb mode %q: want ip, hostname or never", cfg.Name, cfg.LBMode)
	}
	if !cfg.PodCIDR.IsValid() || !cfg.ServiceCIDR.IsValid() || !cfg.LBFirst.IsValid() || !cfg.LBLast.IsValid() {
		return fmt.Errorf("cluster %s: pod CIDR, service CIDR and LB pool are required", cfg.Name)
	}
	if len(cfg.Controller) == 0 {
		return fmt.Errorf("cluster %s: no controller command", cfg.Name)
	}
	return nil
}

func (cfg *Config) state(server string) *State {
	return &State{
		Name:         cfg.Name,
		Role:         cfg.Role,
		Kubeconfig:   cfg.Kubeconfig,
		Server:       server,
		PodCIDR:      cfg.PodCIDR.String(),
		ServiceCIDR:  cfg.ServiceCIDR.String(),
		CACertFile:   filepath.Join(cfg.Dir, "pki", "ca.crt"),
		LBFirst:      cfg.LBFirst.String(),
		LBLast:       cfg.LBLast.String(),
		LBMode:       cfg.LBMode,
		LBDelay:      cfg.LBDelay.String(),
		IstioCACert:  cfg.IstioCACert,
		IstioCAKey:   cfg.IstioCAKey,
		DNSServiceIP: nthAddr(cfg.ServiceCIDR, 10).String(),
		LBDevice:     cfg.LBDevice,
	}
}

// reuse returns the recorded state when every process of the cluster in
// cfg.Dir runs, the API is ready, and it was started with cfg's settings.
func reuse(ctx context.Context, cfg Config) (*State, error) {
	old, err := LoadState(cfg.Dir)
	if err != nil {
		return nil, err
	}
	want := cfg.state(old.Server)
	if *old != *want {
		return nil, errors.New("configuration changed")
	}
	recs, err := proc.Load(processesFile(cfg.Dir))
	if err != nil || len(recs) != 4 {
		return nil, errors.New("not all processes recorded")
	}
	for _, r := range recs {
		if !r.Alive() {
			return nil, fmt.Errorf("%s is not running", r.Name)
		}
	}
	rc, err := RESTConfig(old.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := waitReady(cctx, cfg, rc); err != nil {
		return nil, err
	}
	return old, nil
}

func start(ctx context.Context, cfg Config) (*State, error) {
	pki := filepath.Join(cfg.Dir, "pki")
	ca, err := LoadOrCreateCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"),
		pkix.Name{CommonName: "meshx-lab-" + cfg.Name + "-ca"}, 10*365*24*time.Hour, false)
	if err != nil {
		return nil, err
	}
	kubeSvcIP := nthAddr(cfg.ServiceCIDR, 1)
	srvCert, srvKey, err := ca.Issue(Leaf{
		Subject:  pkix.Name{CommonName: "kube-apiserver"},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs:      []net.IP{net.IPv4(127, 0, 0, 1), net.IP(kubeSvcIP.AsSlice())},
		Server:   true,
		Validity: 10 * 365 * 24 * time.Hour,
	})
	if err != nil {
		return nil, err
	}
	admCert, admKey, err := ca.Issue(Leaf{
		Subject:  pkix.Name{CommonName: "meshx-lab-admin", Organization: []string{"system:masters"}},
		Client:   true,
		Validity: 10 * 365 * 24 * time.Hour,
	})
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"apiserver.crt": srvCert, "apiserver.key": srvKey,
		"admin.crt": admCert, "admin.key": admKey,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(pki, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	if err := writeNewKey(filepath.Join(pki, "sa.key")); err != nil {
		return nil, err
	}
	if err := writePublicKey(filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")); err != nil {
		return nil, err
	}

	var recs []proc.Record
	record := func(r proc.Record) error {
		recs = append(recs, r)
		return proc.Save(processesFile(cfg.Dir), recs)
	}

	// etcd listens on a unix socket (no port to collide on); its peer
	// listener takes a kernel-chosen loopback port nobody connects to.
	sock := filepath.Join(cfg.Dir, "etcd.sock")
	if len(sock) > 100 {
		return nil, fmt.Errorf("etcd socket path %s is too long for a unix socket; use a shorter lab directory", sock)
	}
	etcd, err := proc.Start(proc.Spec{
		Name: "etcd",
		Argv: []string{filepath.Join(cfg.BinDir, "etcd"),
			"--name=" + cfg.Name,
			"--data-dir=" + filepath.Join(cfg.Dir, "etcd"),
			"--listen-client-urls=unix://" + sock,
			"--advertise-client-urls=http://127.0.0.111:0",
			"--listen-peer-urls=http://127.0.0.1:0",
			"--initial-advertise-peer-urls=http://127.0.0.1:0",
			"--initial-cluster=" + cfg.Name + "=http://127.0.0.1:0",
			"--log-level=warn",
			"--unsafe-no-fsync", // throwaway data; fsync on a shared disk costs seconds
			"--quota-backend-bytes=" + strconv.Itoa(2<<30),
		},
		Log: filepath.Join(cfg.Dir, "etcd.log"),
	})
	if err != nil {
		return nil, err
	}
	if err := record(etcd); err != nil {
		return nil, err
	}

	rc, server, apiserver, err := startAPIServer(ctx, cfg, sock)
	if err != nil {
		return nil, err
	}
	if err := record(apiserver); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(cfg.Kubeconfig, cfg.Name, server, ca.CertPEM, admCert, admKey); err != nil {
		return nil, err
	}
	st := cfg.state(server)
	if err := proc.WriteJSON(stateFile(cfg.Dir), st, 0o600); err != nil {
		return nil, err
	}

	kcm, err := proc.Start(proc.Spec{
		Name: "kube-controller-manager",
		Argv: []string{filepath.Join(cfg.BinDir, "kube-controller-manager"),
			"--kubeconfig=" + cfg.Kubeconfig,
			"--secure-port=0",
			"--leader-elect=false",
			"--cluster-name=" + cfg.Name,
			"--service-account-private-key-file=" + filepath.Join(pki, "sa.key"),
			"--root-ca-file=" + filepath.Join(pki, "ca.crt"),
			"--cluster-signing-cert-file=" + filepath.Join(pki, "ca.crt"),
			"--cluster-signing-key-file=" + filepath.Join(pki, "ca.key"),
			"--service-cluster-ip-range=" + cfg.ServiceCIDR.String(),
			"--cluster-cidr=" + cfg.PodCIDR.String(),
			// No kubelet ever reports: node lifecycle would taint the
			// lab node and evict every pod after five minutes.
			"--controllers=*,-node-lifecycle-controller,-taint-eviction-controller",
			"--use-service-account-credentials=false",
			"-v=1",
		},
		Log: filepath.Join(cfg.Dir, "kube-controller-manager.log"),
	})
	if err != nil {
		return nil, err
	}
	if err := record(kcm); err != nil {
		return nil, err
	}
	ctl, err := proc.Start(proc.Spec{
		Name: "lab-controller",
		Argv: cfg.Controller,
		Env:  cfg.ControllerEnv,
		Log:  filepath.Join(cfg.Dir, "controller.log"),
	})
	if err != nil {
		return nil, err
	}
	if err := record(ctl); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, apiServerReadyLimit)
	defer cancel()
	if err := waitReady(wctx, cfg, rc); err != nil {
		return nil, err
	}
	return st, nil
}

// apiServerReadyLimit bounds the wait for a new kube-apiserver's /readyz,
// and then for the cluster's lab pods and controllers. On an idle machine
// each takes seconds; with the 2 cores at load 20–40 each took over a
// minute, so the bound is generous: a server that never comes up still
// fails as soon as its process exits.
const apiServerReadyLimit = 3 * time.Minute

// startAPIServer starts kube-apiserver on a free loopback port and waits for
// /readyz. Another process may take the port between choosing and binding
// it; then it tries again with another.
func startAPIServer(ctx context.Context, cfg Config, etcdSock string) (*rest.Config, string, proc.Record, error) {
	pki := filepath.Join(cfg.Dir, "pki")
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, "", proc.Record{}, err
		}
		server := "https://127.0.0.1:" + strconv.Itoa(port)
		logFile := filepath.Join(cfg.Dir, "kube-apiserver.log")
		r, err := proc.Start(proc.Spec{
			Name: "kube-apiserver",
			Argv: []string{filepath.Join(cfg.BinDir, "kube-apiserver"),
				"--bind-address=127.0.0.1",
				"--advertise-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(port),
				"--cert-dir=" + filepath.Join(cfg.Dir, "apiserver-certs"),
				"--tls-cert-file=" + filepath.Join(pki, "apiserver.crt"),
				"--tls-private-key-file=" + filepath.Join(pki, "apiserver.key"),
				"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
				"--etcd-servers=unix://" + etcdSock,
				"--service-cluster-ip-range=" + cfg.ServiceCIDR.String(),
				"--service-account-issuer=" + ServiceAccountIss,
				"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
				"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
				"--authorization-mode=Node,RBAC",
				"--allow-privileged=true",
				// The "kubernetes" Service may not point at loopback; nothing
				// in the lab reaches the API through it.
				"--endpoint-reconciler-type=none",
				"--profiling=false",
				"-v=1",
			},
			Log: logFile,
		})
		if err != nil {
			return nil, "", proc.Record{}, err
		}
		rc, err := adminRESTConfig(server, pki)
		if err != nil {
			r.Stop(time.Second)
			return nil, "", proc.Record{}, err
		}
		err = waitHTTP(ctx, rc, "/readyz", apiServerReadyLimit, r)
		if err == nil {
			return rc, server, r, nil
		}
		r.Stop(2 * time.Second)
		lastErr = fmt.Errorf("kube-apiserver: %w\n%s", err, proc.Tail(logFile, 15))
		if !strings.Contains(proc.Tail(logFile, 30), "address already in use") {
			break
		}
	}
	return nil, "", proc.Record{}, lastErr
}

func freePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n distinct TCP ports on loopback that were free a
// moment ago: each is held until all are chosen, so none repeats. A lab
// process started on one may still lose it to another process, so callers
// that can retry do.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func adminRESTConfig(server, pki string) (*rest.Config, error) {
	return &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   filepath.Join(pki, "ca.crt"),
			CertFile: filepath.Join(pki, "admin.crt"),
			KeyFile:  filepath.Join(pki, "admin.key"),
		},
		QPS:   200,
		Burst: 400,
	}, nil
}

// waitHTTP polls path on the API server until it answers 200, the process
// dies, or the time is up.
func waitHTTP(ctx context.Context, rc *rest.Config, path string, limit time.Duration, p proc.Record) error {
	tlsCfg, err := rest.TLSConfigFor(rc)
	if err != nil {
		return err
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 2 * time.Second}
	defer cl.CloseIdleConnections()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if !p.Alive() {
			return fmt.Errorf("exited")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rc.Host+path, nil)
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", path, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after %s: %v", limit, last)
}

func writeKubeconfig(file, name, server string, caPEM, certPEM, keyPEM []byte) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name+"-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name + "-admin"}
	cfg.CurrentContext = name
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return proc.WriteFileAtomic(file, b, 0o600)
}

// RESTConfig loads the admin kubeconfig written by Start.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kubeconfig, err)
	}
	rc.QPS, rc.Burst = 200, 400
	return rc, nil
}

// Stop ends every process recorded for the cluster in dir (controller first,
// etcd last) and leaves the directory to the caller. Missing records are
// fine: Stop is safe to run twice.
func Stop(dir string) error {
	recs, err := proc.Load(processesFile(dir))
	if err != nil {
		return err
	}
	// Order matters little (the data is thrown away) but stopping the
	// clients first keeps their logs free of connection errors.
	var errs []error
	var mu sync.Mutex
	stopAll := func(rs []proc.Record) {
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Stop(3 * time.Second); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	var clients, servers []proc.Record
	for _, r := range recs {
		if r.Name == "etcd" || r.Name == "kube-apiserver" {
			servers = append(servers, r)
		} else {
			clients = append(clients, r)
		}
	}
	stopAll(clients)
	stopAll(servers)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.Remove(processesFile(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Processes returns the process records of the cluster in dir.
func Processes(dir string) ([]proc.Record, error) { return proc.Load(processesFile(dir)) }

// NewClientset returns a clientset for the admin kubeconfig.
func NewClientset(kubeconfig string) (*kubernetes.Clientset, error) {
	rc, err := RESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// nthAddr returns the n-th address of p (0 is the network address).
func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	for i := 0; i < n; i++ {
		a = a.Next()
	}
	return a
}
