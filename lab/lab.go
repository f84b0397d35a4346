package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/lab/internal/proc"
	"github.com/meshx-dev/meshx/lab/kubelab"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Lab is a running instance as lab.json describes it.
type Lab struct {
	Name        string
	Dir         string
	SubnetIndex int
	Subnet      string // 10.251.<index>.0/24: VM bridge, VMs and LB pools
	Clusters    []Cluster
	VMs         []VM
	BridgeIP    string // the host's address on the VM bridge ("" without VMs)

	SSHPrivateKey     string // file; the key logs in as VM.User on every VM
	KnownHosts        string // file with every VM's host key
	SidecarDeb        string // file: the stand-in istio-sidecar.deb
	SidecarURL        string // where VMs can download it
	SidecarSHA256     string
	Debs              []Deb  // every sidecar version built, oldest first (upgrade tests)
	LegacyDebs        []Deb  // Istio 0.2–0.4's three sidecar packages, in install order
	SudoUser          string // a non-root VM user with passwordless sudo
	IstioRootCert     string // file: the root every istio.<sa> secret chains to
	ExamplesVars      string // file: HCL variables for examples/
	KubernetesVersion string // KubernetesVersion the clusters run
	Istio             *Istio // nil unless Options.Istio
}

// Cluster is one cluster of a lab.
type Cluster struct {
	Name         string
	Role         string // "control" or "remote"
	Kubeconfig   string // admin kubeconfig file (system:masters)
	Server       string // https://127.0.0.1:<port>
	PodCIDR      string
	ServiceCIDR  string
	CACertFile   string // the API server's CA
	LBPool       string // first-last address LoadBalancers get in ip mode
	DNSServiceIP string // ClusterIP of kube-system/kube-dns
	dir          string
}

// labFile is lab.json, version 1. It keeps its own field names so Go
// renames never break scripts and examples that read it.
type labFile struct {
	Version           int           `json:"version"`
	Name              string        `json:"name"`
	Dir               string        `json:"dir"`
	KubernetesVersion string        `json:"kubernetesVersion"`
	SubnetIndex       int           `json:"subnetIndex"`
	Subnet            string        `json:"subnet"`
	BridgeIP          string        `json:"bridgeIP,omitempty"`
	Clusters          []clusterFile `json:"clusters"`
	VMs               []vmFile      `json:"vms"`
	SSHPrivateKey     string        `json:"sshPrivateKey,omitempty"`
	KnownHosts        string        `json:"knownHosts,omitempty"`
	Sidecar           *sidecarFile  `json:"sidecarPackage,omitempty"`
	IstioRootCert     string        `json:"istioRootCert"`
	ExamplesVars      string        `json:"examplesVars"`
	Istio             *istioFile    `json:"istio,omitempty"`
}

type clusterFile struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Kubeconfig   string `json:"kubeconfig"`
	Server       string `json:"server"`
	PodCIDR      string `json:"podCIDR"`
	ServiceCIDR  string `json:"serviceCIDR"`
	CACertFile   string `json:"caCertFile"`
	LBPool       string `json:"lbPool"`
	DNSServiceIP string `json:"dnsServiceIP"`
}

type vmFile struct {
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	Address  string `json:"address"`
	SSHPort  int    `json:"sshPort"`
	User     string `json:"user"`
	SudoUser string `json:"sudoUser,omitempty"`
	NetNS    string `json:"netns"`
}

type sidecarFile struct {
	Path   string `json:"path"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

func labJSON(dir string) string { return filepath.Join(dir, "lab.json") }

func (l *Lab) save() error {
	f := labFile{
		Version: 1, Name: l.Name, Dir: l.Dir, KubernetesVersion: l.KubernetesVersion,
		SubnetIndex: l.SubnetIndex, Subnet: l.Subnet, BridgeIP: l.BridgeIP,
		SSHPrivateKey: l.SSHPrivateKey, KnownHosts: l.KnownHosts,
		IstioRootCert: l.IstioRootCert, ExamplesVars: l.ExamplesVars,
		Clusters: []clusterFile{}, VMs: []vmFile{}, Istio: l.Istio.file(),
	}
	if l.SidecarDeb != "" || l.SidecarURL != "" {
		f.Sidecar = &sidecarFile{Path: l.SidecarDeb, URL: l.SidecarURL, SHA256: l.SidecarSHA256}
	}
	for _, c := range l.Clusters {
		f.Clusters = append(f.Clusters, clusterFile{Name: c.Name, Role: c.Role, Kubeconfig: c.Kubeconfig, Server: c.Server,
			PodCIDR: c.PodCIDR, ServiceCIDR: c.ServiceCIDR, CACertFile: c.CACertFile, LBPool: c.LBPool, DNSServiceIP: c.DNSServiceIP})
	}
	for _, v := range l.VMs {
		f.VMs = append(f.VMs, vmFile{Name: v.Name, Hostname: v.Hostname, Address: v.Address, SSHPort: v.SSHPort, User: v.User, SudoUser: l.SudoUser, NetNS: v.NetNS})
	}
	return proc.WriteJSON(labJSON(l.Dir), f, 0o644)
}

// Load reads the lab.json of the instance in dir.
func Load(dir string) (*Lab, error) {
	var f labFile
	if err := proc.ReadJSON(labJSON(dir), &f); err != nil {
		return nil, err
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: version %d, want 1", labJSON(dir), f.Version)
	}
	l := &Lab{
		Name: f.Name, Dir: f.Dir, KubernetesVersion: f.KubernetesVersion, SubnetIndex: f.SubnetIndex, Subnet: f.Subnet,
		BridgeIP: f.BridgeIP, SSHPrivateKey: f.SSHPrivateKey, KnownHosts: f.KnownHosts,
		IstioRootCert: f.IstioRootCert, ExamplesVars: f.ExamplesVars, Istio: f.Istio.istio(),
	}
	if f.Sidecar != nil {
		l.SidecarDeb, l.SidecarURL, l.SidecarSHA256 = f.Sidecar.Path, f.Sidecar.URL, f.Sidecar.SHA256
	}
	for _, c := range f.Clusters {
		l.Clusters = append(l.Clusters, Cluster{Name: c.Name, Role: c.Role, Kubeconfig: c.Kubeconfig, Server: c.Server,
			PodCIDR: c.PodCIDR, ServiceCIDR: c.ServiceCIDR, CACertFile: c.CACertFile, LBPool: c.LBPool, DNSServiceIP: c.DNSServiceIP,
			dir: clusterDir(f.Dir, c.Name)})
	}
	for _, v := range f.VMs {
		l.VMs = append(l.VMs, VM{Name: v.Name, Hostname: v.Hostname, Address: v.Address, SSHPort: v.SSHPort, User: v.User, NetNS: v.NetNS})
		l.SudoUser = v.SudoUser
	}
	if len(l.VMs) > 0 {
		l.loadVMs()
	}
	return l, nil
}

func clusterDir(dir, name string) string { return filepath.Join(dir, "clusters", name) }

// Cluster returns the cluster called name, or nil.
func (l *Lab) Cluster(name string) *Cluster {
	for i := range l.Clusters {
		if l.Clusters[i].Name == name {
			return &l.Clusters[i]
		}
	}
	return nil
}

// ControlCluster returns the cluster with role control.
func (l *Lab) ControlCluster() *Cluster {
	for i := range l.Clusters {
		if l.Clusters[i].Role == kubelab.RoleControl {
			return &l.Clusters[i]
		}
	}
	return nil
}

// VM returns the VM called name, or nil.
func (l *Lab) VM(name string) *VM {
	for i := range l.VMs {
		if l.VMs[i].Name == name {
			return &l.VMs[i]
		}
	}
	return nil
}

// IstioCA is the lab's Istio root certificate authority, whose root
// every istio.<sa> secret chains to: tests issue their own workload
// certificates with it (one about to expire, say).
func (l *Lab) IstioCA() (*kubelab.CA, error) {
	return kubelab.LoadCA(l.IstioRootCert, istioRootKey(l.IstioRootCert))
}

// istioRootKey is where the key of the Istio root in certFile lives.
func istioRootKey(certFile string) string {
	return filepath.Join(filepath.Dir(certFile), "root-key.pem")
}

// RESTConfig returns an admin client configuration for the cluster.
func (c *Cluster) RESTConfig() (*rest.Config, error) { return kubelab.RESTConfig(c.Kubeconfig) }

// Clientset returns an admin clientset for the cluster called name, each
// request bounded by RequestTimeout; the test fails at once if there is no
// such cluster. It is for requests, not watches.
func (l *Lab) Clientset(t testing.TB, name string) kubernetes.Interface {
	t.Helper()
	c := l.Cluster(name)
	if c == nil {
		t.Fatalf("lab %s has no cluster %q", l.Name, name)
	}
	rc, err := c.RESTConfig()
	if err != nil {
		t.Fatalf("cluster %s: %v", name, err)
	}
	rc.Timeout = RequestTimeout
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatalf("cluster %s: %v", name, err)
	}
	return cs
}

// RequestTimeout bounds each request of a Clientset on its own, as
// kubectl's --request-timeout does. Tests pass t.Context() to client-go
// calls and never share a deadline between calls: a test that takes longer
// because the machine is loaded must not fail for it, and a request that
// hangs still fails within this bound.
const RequestTimeout = 30 * time.Second

// SetLBMode switches how the lab controller of the named cluster answers
// LoadBalancer Services from now on ("ip", "hostname" or "never") and
// returns once the controller has applied it. Services that already have
// an address keep it.
func (l *Lab) SetLBMode(ctx context.Context, cluster, mode string) error {
	return l.SetLB(ctx, cluster, mode, -1)
}

// SetLB is SetLBMode that also sets the delay before an address is given
// (empty mode or negative delay: unchanged).
func (l *Lab) SetLB(ctx context.Context, cluster, mode string, delay time.Duration) error {
	c := l.Cluster(cluster)
	if c == nil {
		return fmt.Errorf("lab %s has no cluster %q", l.Name, cluster)
	}
	return c.SetLB(ctx, mode, delay)
}

// SetLBMode is Lab.SetLBMode for a Cluster at hand.
func SetLBMode(ctx context.Context, c *Cluster, mode string) error {
	return c.SetLB(ctx, mode, -1)
}

// SetLB sets the cluster's lb-mode and lb-delay (empty mode or negative
// delay: unchanged) and waits until its lab controller applied them.
func (c *Cluster) SetLB(ctx context.Context, mode string, delay time.Duration) error {
	cs, err := kubelab.NewClientset(c.Kubeconfig)
	if err != nil {
		return err
	}
	if err := kubelab.SetLB(ctx, cs, mode, delay); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	return nil
}
