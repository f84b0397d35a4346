package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshx-dev/meshx/lab/internal/proc"
	"github.com/meshx-dev/meshx/lab/kubelab"
	"github.com/meshx-dev/meshx/lab/vmlab"
)

// ErrUnavailable wraps the reasons a lab cannot run on this machine at all
// (not root, no namespaces, binaries not built), as opposed to a lab that
// failed. Tests skip on it unless MESHX_LAB_REQUIRED=1.
var ErrUnavailable = errors.New("lab unavailable")

// Up brings the instance described by opts up, or reuses it when it runs
// already with the same shape (clusters, VM count) and is healthy: Up is
// idempotent. It returns the lab.json data.
func Up(ctx context.Context, opts Options) (*Lab, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(o.Dir, func() { fmt.Fprintf(o.Log, "waiting for lab %s (in use by another process)\n", o.Name) })
	if err != nil {
		return nil, fmt.Errorf("lab %s: lock %s: %w", o.Name, o.Dir, err)
	}
	defer unlock()
	return up(ctx, o, false)
}

// Down stops every process, removes every namespace, mount, bridge and
// file the instance made (by its records, nothing else) and its directory.
// A directory that is not a lab instance (no InstanceMarker, no lab.json
// naming it) is refused and left alone.
func Down(ctx context.Context, opts Options) error {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	if _, err := os.Stat(o.Dir); errors.Is(err, os.ErrNotExist) {
		return releaseSubnet(o.Dir)
	}
	unlock, err := lockDir(o.Dir, func() { fmt.Fprintf(o.Log, "waiting for lab %s (in use by another process)\n", o.Name) })
	if err != nil {
		return fmt.Errorf("lab %s: lock %s: %w", o.Name, o.Dir, err)
	}
	defer unlock()
	return down(ctx, o.Dir, o.Log, true)
}

// Preconditions returns an ErrUnavailable error saying why the instance
// opts describes cannot run here, or nil.
func Preconditions(opts Options) error {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	return preconditions(o)
}

func preconditions(o Options) error {
	if err := checkBinaries(o.BinDir); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if o.Istio {
		if err := checkIstioBinaries(o.IstioBinDir); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if o.VMs == 0 {
		return nil // the clusters need neither root nor namespaces
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: VMs need root (network namespaces, bridges, mounts); running as uid %d", ErrUnavailable, os.Geteuid())
	}
	if out, err := exec.Command("unshare", "--net", "--mount", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("%w: cannot create network and mount namespaces (unshare --net --mount: %v: %s)", ErrUnavailable, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// up does Up's work with the instance lock held. fresh replaces a running
// instance instead of reusing it.
func up(ctx context.Context, o Options, fresh bool) (*Lab, error) {
	if err := claimInstance(o.Dir); err != nil {
		return nil, fmt.Errorf("lab %s: %w", o.Name, err)
	}
	if err := preconditions(o); err != nil {
		return nil, err
	}
	begin := time.Now()
	if prev, err := Load(o.Dir); err == nil {
		if !fresh && sameShape(prev, o) {
			fmt.Fprintf(o.Log, "lab %s: checking the running instance\n", o.Name)
		} else {
			fmt.Fprintf(o.Log, "lab %s: replacing the previous instance\n", o.Name)
			if err := down(ctx, o.Dir, o.Log, false); err != nil {
				return nil, err
			}
		}
	} else if fresh || !errors.Is(err, os.ErrNotExist) {
		// Leftovers of an instance that never finished coming up.
		if err := down(ctx, o.Dir, o.Log, false); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	idx, err := allocateSubnet(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", o.Name, err)
	}
	subnet := Subnet(idx)
	l := &Lab{Name: o.Name, Dir: o.Dir, SubnetIndex: idx, Subnet: subnet.String(), KubernetesVersion: KubernetesVersion}

	caDir := filepath.Join(o.Dir, "istio-ca")
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		return nil, err
	}
	l.IstioRootCert = filepath.Join(caDir, "root-cert.pem")
	caKey := istioRootKey(l.IstioRootCert)
	if _, err := kubelab.LoadOrCreateCA(l.IstioRootCert, caKey, kubelab.IstioRootSubject, kubelab.IstioRootTTL, true); err != nil {
		return nil, fmt.Errorf("lab %s: istio root CA: %w", o.Name, err)
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		vms  *vmlab.State
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	l.Clusters = make([]Cluster, len(o.Clusters))
	for i, co := range o.Clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			c, err := startCluster(ctx, o, co, i, subnet, l.IstioRootCert, caKey)
			if err != nil {
				fail(err)
				return
			}
			l.Clusters[i] = *c
			fmt.Fprintf(o.Log, "cluster %s: %s (pods %s, services %s) ready in %s\n", c.Name, c.Server, c.PodCIDR, c.ServiceCIDR, time.Since(t0).Round(10*time.Millisecond))
		}()
	}
	if o.VMs > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			r, err := startVMs(ctx, o, idx)
			if err != nil {
				fail(fmt.Errorf("lab %s: VMs: %w", o.Name, err))
				return
			}
			if r.BridgeIP != "" {
				if a, err := netip.ParseAddr(r.BridgeIP); err != nil || !subnet.Contains(a) {
					fail(fmt.Errorf("lab %s: VM bridge %s is outside the instance subnet %s", o.Name, r.BridgeIP, subnet))
					return
				}
			}
			vms = r
			fmt.Fprintf(o.Log, "%d VMs ready in %s\n", len(r.VMs), time.Since(t0).Round(10*time.Millisecond))
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if vms != nil {
		l.VMs, l.BridgeIP, l.Debs, l.LegacyDebs, l.SudoUser = vms.VMs, vms.BridgeIP, vms.Debs, vms.LegacyDebs, vms.SudoUser
		l.SSHPrivateKey, l.KnownHosts = vms.KeyFile, vms.KnownHostsFile
		l.SidecarDeb, l.SidecarURL, l.SidecarSHA256 = vms.DebPath, vms.DebURL, vms.DebSHA256
	}
	if o.Istio {
		if l.Istio, err = startIstio(ctx, o, l); err != nil {
			return nil, err
		}
	} else if err := stopIstio(o.Dir); err != nil {
		return nil, err
	}
	if err := l.writeExamplesVars(); err != nil {
		return nil, err
	}
	if err := l.save(); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "lab %s up in %s: %s\n", o.Name, time.Since(begin).Round(10*time.Millisecond), labJSON(o.Dir))
	return l, nil
}

// sameShape reports whether the recorded instance has the clusters and VM
// count o asks for (kubelab.Start checks each cluster's settings itself).
func sameShape(l *Lab, o Options) bool {
	if len(l.VMs) != o.VMs || len(l.Clusters) != len(o.Clusters) {
		return false
	}
	for i, c := range o.Clusters {
		if l.Clusters[i].Name != c.Name {
			return false
		}
	}
	return true
}

func startCluster(ctx context.Context, o Options, co ClusterOptions, i int, subnet netip.Prefix, caCert, caKey string) (*Cluster, error) {
	dir := clusterDir(o.Dir, co.Name)
	argv, env, err := controllerCommand(dir)
	if err != nil {
		return nil, err
	}
	first, last := lbPool(subnet, i, len(o.Clusters))
	dev := ""
	if o.VMs > 0 {
		// vmlab names the bridge "<prefix>br"; it comes up meanwhile, and
		// the controller retries until it exists.
		dev = vmPrefix(int(subnet.Addr().As4()[2])) + "br"
	}
	cfg := kubelab.Config{
		Name: co.Name, Role: co.Role, Dir: dir, BinDir: o.BinDir,
		Kubeconfig:  filepath.Join(o.Dir, co.Name+".kubeconfig"),
		PodCIDR:     netip.MustParsePrefix(co.PodCIDR),
		ServiceCIDR: netip.MustParsePrefix(co.ServiceCIDR),
		LBFirst:     first, LBLast: last,
		LBMode: co.LBMode, LBDelay: co.LBDelay,
		IstioCACert: caCert, IstioCAKey: caKey,
		LBDevice:   dev,
		Controller: argv, ControllerEnv: env,
	}
	st, err := kubelab.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{
		Name: st.Name, Role: st.Role, Kubeconfig: st.Kubeconfig, Server: st.Server,
		PodCIDR: st.PodCIDR, ServiceCIDR: st.ServiceCIDR, CACertFile: st.CACertFile,
		LBPool: st.LBFirst + "-" + st.LBLast, DNSServiceIP: st.DNSServiceIP, dir: dir,
	}, nil
}

// down stops what the instance in dir recorded and removes its files (and
// dir itself when removeDir). Files stay when something could not be
// stopped, so a second down can try again with the same records.
//
// It refuses a directory that is not an instance (checkInstance).
func down(ctx context.Context, dir string, log io.Writer, removeDir bool) error {
	if err := checkInstance(dir); err != nil {
		return err
	}
	var errs []error
	if err := stopIstio(dir); err != nil {
		errs = append(errs, fmt.Errorf("istio: %w", err))
	}
	if _, err := os.Stat(vmDir(dir)); err == nil {
		if err := stopVMs(ctx, dir); err != nil {
			errs = append(errs, fmt.Errorf("VMs: %w", err))
		}
	}
	clusters, _ := filepath.Glob(filepath.Join(dir, "clusters", "*"))
	sort.Strings(clusters)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := kubelab.Stop(c); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("cluster %s: %w", filepath.Base(c), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := releaseSubnet(dir); err != nil {
		return err
	}
	if removeDir {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		// The shared parent of temporary instances goes with the last one
		// (Remove fails, harmlessly, while another instance lives there).
		if parent := filepath.Dir(dir); parent == filepath.Join(os.TempDir(), "meshx-lab") {
			os.Remove(parent)
		}
	} else {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.Name() == InstanceMarker {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if removeDir {
		fmt.Fprintf(log, "lab in %s is down\n", dir)
	}
	return nil
}

// ProcessStatus is one recorded process of a lab.
type ProcessStatus struct {
	Owner string // cluster or VM name
	proc.Record
	Alive bool
}

// Status loads the instance and checks its recorded processes.
func Status(opts Options) (*Lab, []ProcessStatus, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	l, err := Load(o.Dir)
	if err != nil {
		return nil, nil, err
	}
	var out []ProcessStatus
	for _, c := range l.Clusters {
		recs, err := kubelab.Processes(c.dir)
		if err != nil {
			return l, out, err
		}
		for _, r := range recs {
			out = append(out, ProcessStatus{Owner: c.Name, Record: r, Alive: r.Alive()})
		}
	}
	if recs, err := proc.Load(istioProcessesFile(l.Dir)); err == nil {
		for _, r := range recs {
			out = append(out, ProcessStatus{Owner: "istio", Record: r, Alive: r.Alive()})
		}
	}
	// A VM counts as running when its sshd accepts connections.
	for _, v := range l.VMs {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(v.Address, strconv.Itoa(v.SSHPort)), time.Second)
		if err == nil {
			conn.Close()
		}
		out = append(out, ProcessStatus{Owner: v.Name, Record: proc.Record{Name: "vm (sshd)", PID: v.PID}, Alive: err == nil})
	}
	return l, out, nil
}
