package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/lab/kubelab"
	"github.com/meshx-dev/meshx/lab/vmlab"
)

// DefaultName is the instance `make lab-up` runs, in <repo>/.lab.
const DefaultName = "meshx"

// Defaults of Options.
const (
	DefaultVMs     = 2
	DefaultLBDelay = time.Second
)

// Options describe one lab instance. The zero value is the default
// instance: clusters control and remote1, two VMs, in <repo>/.lab.
type Options struct {
	// Name identifies the instance; everything it makes is derived from it
	// or allocated for it. Lower-case letters, digits and '-'. Default
	// "meshx".
	Name string
	// Dir holds everything of the instance. Default <repo>/.lab for the
	// instance "meshx", else $TMPDIR/meshx-lab/<name>.
	Dir string
	// Clusters default to control (role control) and remote1 (remote).
	Clusters []ClusterOptions
	// VMs is the number of VMs. When Name is empty too (all defaults), 0
	// means DefaultVMs; a named instance gets exactly VMs.
	VMs int
	// BinDir holds etcd, kube-apiserver and kube-controller-manager.
	// Default BinDir().
	BinDir string
	// Istio runs a real Istio control plane: the Istio CRDs in every
	// cluster and istiod against the control cluster (see Istio). Off by
	// default; `meshx-lab up` turns it on.
	Istio bool
	// IstioBinDir holds pilot-discovery, pilot-agent, istioctl, coredns
	// and the Istio files. Default IstioBinDir().
	IstioBinDir string
	// Log receives one line per step; nil discards.
	Log io.Writer
}

// ClusterOptions describe one cluster of an instance.
type ClusterOptions struct {
	Name string
	// Role is "control" or "remote"; default: the first cluster is the
	// control cluster, the others are remote.
	Role string
	// PodCIDR and ServiceCIDR default to 10.(20+i).0.0/16 and
	// 10.(100+i).0.0/20 for the i-th cluster: never overlapping within an
	// instance (as multicluster Istio requires); instances may share them.
	PodCIDR, ServiceCIDR string
	// LBMode is the initial lb-mode: "ip" (default), "hostname" or "never".
	LBMode string
	// LBDelay is how long a LoadBalancer waits for its address; 0 means
	// DefaultLBDelay, negative means none.
	LBDelay time.Duration
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// withDefaults returns o completed and checked.
func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
		if o.VMs == 0 {
			o.VMs = DefaultVMs
		}
	}
	if !nameRE.MatchString(o.Name) {
		return o, fmt.Errorf("lab name %q: use 1-32 lower-case letters, digits and '-'", o.Name)
	}
	if o.VMs < 0 || o.VMs > vmlab.MaxVMs {
		return o, fmt.Errorf("lab %s: %d VMs: want 0 to %d", o.Name, o.VMs, vmlab.MaxVMs)
	}
	if o.Dir == "" {
		d, err := DefaultDir(o.Name)
		if err != nil {
			return o, err
		}
		o.Dir = d
	}
	d, err := filepath.Abs(o.Dir)
	if err != nil {
		return o, err
	}
	o.Dir = d
	if o.BinDir == "" {
		o.BinDir = BinDir()
	}
	if o.IstioBinDir == "" {
		o.IstioBinDir = IstioBinDir()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Clusters) == 0 {
		o.Clusters = []ClusterOptions{{Name: "control"}, {Name: "remote1"}}
	}
	if len(o.Clusters) > 50 {
		return o, fmt.Errorf("lab %s: %d clusters: at most 50", o.Name, len(o.Clusters))
	}
	o.Clusters = append([]ClusterOptions(nil), o.Clusters...)
	seen := map[string]bool{}
	var prefixes []netip.Prefix
	for i := range o.Clusters {
		c := &o.Clusters[i]
		if !nameRE.MatchString(c.Name) {
			return o, fmt.Errorf("lab %s: cluster name %q: use lower-case letters, digits and '-'", o.Name, c.Name)
		}
		if seen[c.Name] {
			return o, fmt.Errorf("lab %s: cluster %s twice", o.Name, c.Name)
		}
		seen[c.Name] = true
		if c.Role == "" {
			c.Role = kubelab.RoleRemote
			if i == 0 {
				c.Role = kubelab.RoleControl
			}
		}
		if c.Role != kubelab.RoleControl && c.Role != kubelab.RoleRemote {
			return o, fmt.Errorf("lab %s: cluster %s: role %q: want control or remote", o.Name, c.Name, c.Role)
		}
		if c.PodCIDR == "" {
			c.PodCIDR = fmt.Sprintf("10.%d.0.0/16", 20+i)
		}
		if c.ServiceCIDR == "" {
			c.ServiceCIDR = fmt.Sprintf("10.%d.0.0/20", 100+i)
		}
		for _, s := range []string{c.PodCIDR, c.ServiceCIDR} {
			p, err := netip.ParsePrefix(s)
			if err != nil || !p.Addr().Is4() {
				return o, fmt.Errorf("lab %s: cluster %s: %q is not an IPv4 CIDR", o.Name, c.Name, s)
			}
			for _, q := range prefixes {
				if p.Overlaps(q) {
					return o, fmt.Errorf("lab %s: cluster %s: %s overlaps %s", o.Name, c.Name, p, q)
				}
			}
			if p.Overlaps(vmSupernet) {
				return o, fmt.Errorf("lab %s: cluster %s: %s overlaps the VM subnets %s", o.Name, c.Name, p, vmSupernet)
			}
			prefixes = append(prefixes, p)
		}
		if c.LBMode == "" {
			c.LBMode = kubelab.LBModeIP
		}
		if !kubelab.ValidLBMode(c.LBMode) {
			return o, fmt.Errorf("lab %s: cluster %s: lb mode %q: want ip, hostname or never", o.Name, c.Name, c.LBMode)
		}
		switch {
		case c.LBDelay == 0:
			c.LBDelay = DefaultLBDelay
		case c.LBDelay < 0:
			c.LBDelay = 0
		}
	}
	return o, nil
}

// DefaultDir is where an instance lives unless Options.Dir says otherwise.
func DefaultDir(name string) (string, error) {
	if name == DefaultName {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		return filepath.Join(root, ".lab"), nil
	}
	return filepath.Join(os.TempDir(), "meshx-lab", name), nil
}

// RepoRoot finds the meshx checkout the working directory is in.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isMeshxModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the meshx repository (no go.mod of github.com/meshx-dev/meshx above the working directory)")
		}
		dir = parent
	}
}

func isMeshxModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.TrimSpace(m) == "github.com/meshx-dev/meshx"
		}
	}
	return false
}
