package vmlab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshx-dev/meshx/lab/internal/proc"
)

// Options configure a lab's VMs.
type Options struct {
	// Prefix names the lab's kernel objects: bridge "<prefix>br", veths
	// "<prefix>v<N>", network namespaces "<prefix>-<vm>". Lower-case
	// letters and digits, at most 9, unique among labs running at once.
	Prefix string
	// Dir is the lab's state directory (e.g. .lab/vms). Up records
	// everything it creates there; Down removes the directory.
	Dir string
	// Count is the number of VMs, vm1…vmN (1 to MaxVMs; 2 when 0).
	Count int
	// SubnetIndex selects the lab subnet 10.251.<SubnetIndex>.0/24 (0–200).
	SubnetIndex int
}

// VM is one lab VM.
type VM struct {
	Name     string `json:"name"`     // vm1, vm2, …
	Hostname string `json:"hostname"` // same as Name
	Address  string `json:"address"`  // on the lab bridge, e.g. 10.251.0.10
	NetNS    string `json:"netns"`    // network namespace, "<prefix>-<name>"
	SSHPort  int    `json:"ssh_port"` // 22
	User     string `json:"user"`     // root; SudoUser also works
	RootDir  string `json:"root_dir"` // merged overlay root, for tests to inspect
	Veth     string `json:"veth"`     // host side of the VM's veth pair
	PID      int    `json:"pid"`      // host PID of the VM's PID 1 (its service manager)
}

// State describes a running lab's VMs.
type State struct {
	VMs            []VM   `json:"vms"`
	BridgeIP       string `json:"bridge_ip"`
	KeyFile        string `json:"key_file"`         // ed25519 client key (OpenSSH format, 0600)
	KnownHostsFile string `json:"known_hosts_file"` // every VM's host key
	DebPath        string `json:"deb_path"`         // istio-sidecar DebVersions[0]
	DebURL         string `json:"deb_url"`
	DebSHA256      string `json:"deb_sha256"`
	LBPoolStart    string `json:"lb_pool_start"` // .200 of the subnet, for the cluster LB controller
	LBPoolEnd      string `json:"lb_pool_end"`   // .250

	Dir         string `json:"dir"`
	Prefix      string `json:"prefix"`
	SubnetIndex int    `json:"subnet_index"`
	Subnet      string `json:"subnet"`    // 10.251.<idx>.0/24
	Bridge      string `json:"bridge"`    // bridge interface
	HTTPAddr    string `json:"http_addr"` // BridgeIP:DebPort, serving the debs
	Debs        []Deb  `json:"debs"`      // every version built, oldest first
	// LegacyDebs are the stand-ins of Istio 0.2–0.4's istio-agent,
	// istio-auth-node-agent and istio-proxy, in install order.
	LegacyDebs []Deb  `json:"legacy_debs"`
	SudoUser   string `json:"sudo_user"` // non-root user with passwordless sudo
}

// VM returns the VM called name.
func (s *State) VM(name string) (VM, bool) {
	for _, v := range s.VMs {
		if v.Name == name {
			return v, true
		}
	}
	return VM{}, false
}

// record is what Up writes to <Dir>/lab.json: everything it created.
type record struct {
	Prefix      string      `json:"prefix"`
	SubnetIndex int         `json:"subnet_index"`
	Bridge      string      `json:"bridge"`
	Account     account     `json:"account"`
	VMs         []*vmRecord `json:"vms"`
	HTTP        procRef     `json:"http"`
	Disk        string      `json:"disk,omitempty"` // tmpfs for upper layers when Dir is on overlayfs
	State       *State      `json:"state,omitempty"`
}

type vmRecord struct {
	Name    string  `json:"name"`
	Index   int     `json:"index"`
	Subnet  int     `json:"subnet"` // SubnetIndex of the lab
	Address string  `json:"address"`
	NetNS   string  `json:"netns"`
	Veth    string  `json:"veth"`
	Dir     string  `json:"dir"`      // <Dir>/<name>: upper, work, root, logs
	HostKey string  `json:"host_key"` // authorized_keys form
	Init    procRef `json:"init"`
}

func (v *vmRecord) root() string { return filepath.Join(v.Dir, "root") }

const recordFile = "lab.json"

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,8}$`)

func (o *Options) check() error {
	if !prefixRE.MatchString(o.Prefix) {
		return fmt.Errorf("vmlab: prefix %q: want 1 to 9 lower-case letters and digits, starting with a letter", o.Prefix)
	}
	if o.Dir == "" {
		return errors.New("vmlab: Options.Dir is empty")
	}
	if strings.ContainsAny(o.Dir, ",:\n") {
		return fmt.Errorf("vmlab: dir %q: overlayfs cannot use paths with ',' or ':'", o.Dir)
	}
	if o.Count == 0 {
		o.Count = 2
	}
	if o.Count < 1 || o.Count > MaxVMs {
		return fmt.Errorf("vmlab: count %d: want 1 to %d", o.Count, MaxVMs)
	}
	if o.SubnetIndex < 0 || o.SubnetIndex > 200 {
		return fmt.Errorf("vmlab: subnet index %d: want 0 to 200", o.SubnetIndex)
	}
	return nil
}

// Load reads the state of the lab recorded in dir.
func Load(dir string) (*State, error) {
	rec, err := readRecord(dir)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.State == nil {
		return nil, fmt.Errorf("vmlab: no lab in %s", dir)
	}
	return rec.State, nil
}

func readRecord(dir string) (*record, error) {
	var rec record
	err := proc.ReadJSON(filepath.Join(dir, recordFile), &rec)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vmlab: %w", err)
	}
	return &rec, nil
}

func writeRecord(dir string, rec *record) error {
	if err := proc.WriteJSON(filepath.Join(dir, recordFile), rec, 0o644); err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	return nil
}

// lockDir serialises Up and Down on one lab directory.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vmlab: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("vmlab: lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

// Up brings the lab's VMs up and returns their state. It is idempotent:
// VMs recorded in o.Dir that still run are reused (their sshd restarted if
// it was stopped); dead ones are restarted on their existing disk like a
// reboot; VMs beyond o.Count are removed. If Up fails, what it created is
// recorded and Down removes it.
func Up(ctx context.Context, o Options) (*State, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("vmlab: Up needs root (network namespaces, overlay mounts)")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("vmlab: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vmlab: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	rec, err := readRecord(dir)
	if err != nil {
		return nil, err
	}
	fresh := rec == nil
	if fresh {
		acct, err := pickAccount()
		if err != nil {
			return nil, err
		}
		rec = &record{Prefix: o.Prefix, SubnetIndex: o.SubnetIndex, Bridge: o.Prefix + "br", Account: acct}
	} else if rec.Prefix != o.Prefix || rec.SubnetIndex != o.SubnetIndex {
		return nil, fmt.Errorf("vmlab: %s holds a lab with prefix %q and subnet index %d; run Down first", dir, rec.Prefix, rec.SubnetIndex)
	}
	if fresh {
		// Refuse to adopt kernel objects some other lab created.
		if linkExists(rec.Bridge) {
			return nil, fmt.Errorf("vmlab: interface %s exists but %s records no lab: is prefix %q used by another lab?", rec.Bridge, dir, o.Prefix)
		}
	}
	// Record every VM before creating anything, so Down finds it all.
	for i := len(rec.VMs) + 1; i <= o.Count; i++ {
		name := "vm" + strconv.Itoa(i)
		v := &vmRecord{
			Name: name, Index: i, Subnet: o.SubnetIndex, Address: hostAddr(o.SubnetIndex, vmHost(i)),
			NetNS: o.Prefix + "-" + name, Veth: fmt.Sprintf("%sv%d", o.Prefix, i),
			Dir: filepath.Join(dir, name),
		}
		if fresh && (netnsExists(v.NetNS) || linkExists(v.Veth)) {
			return nil, fmt.Errorf("vmlab: network namespace %s or interface %s exists but %s records no lab: is prefix %q used by another lab?", v.NetNS, v.Veth, dir, o.Prefix)
		}
		rec.VMs = append(rec.VMs, v)
	}
	if err := writeRecord(dir, rec); err != nil {
		return nil, err
	}

	if rec.Disk == "" {
		if rec.Disk, err = diskFor(dir); err != nil {
			return nil, err
		}
		if err := writeRecord(dir, rec); err != nil {
			return nil, err
		}
	}
	bin, err := installSelf(filepath.Join(dir, "bin"))
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "ssh", "id_ed25519")
	clientKey, err := ensureClientKey(keyFile)
	if err != nil {
		return nil, err
	}
	if err := raiseInotifyInstances(o.Count); err != nil {
		return nil, err
	}
	if err := ensureBridge(ctx, rec.Bridge, o.SubnetIndex); err != nil {
		return nil, err
	}
	bridgeIP := hostAddr(o.SubnetIndex, 1)
	httpAddr := net.JoinHostPort(bridgeIP, strconv.Itoa(DebPort))
	debDir := filepath.Join(dir, "debs")
	type debResult struct {
		debs, legacy []Deb
		err          error
	}
	debc := make(chan debResult, 1)
	go func() {
		debs, err := buildDebs(ctx, debDir, "http://"+httpAddr)
		var legacy []Deb
		if err == nil {
			legacy, err = buildLegacyDebs(ctx, debDir, "http://"+httpAddr)
		}
		debc <- debResult{debs, legacy, err}
	}()

	// VMs beyond Count go; dead VMs are cleaned up and started again.
	var keep []*vmRecord
	var start []*vmRecord
	reused := map[*vmRecord]bool{}
	var errs []error
	for _, v := range rec.VMs {
		switch {
		case v.Index > o.Count:
			if err := teardownVM(ctx, v); err != nil {
				errs = append(errs, err)
				keep = append(keep, v)
				continue
			}
			for _, d := range []string{v.Dir, filepath.Join(rec.Disk, v.Name)} {
				if rec.Disk == "" && d != v.Dir {
					continue
				}
				if err := os.RemoveAll(d); err != nil {
					errs = append(errs, fmt.Errorf("vmlab: %w", err))
				}
			}
		case v.Init.alive():
			keep = append(keep, v)
			reused[v] = true
		default:
			if err := teardownVM(ctx, v); err != nil {
				errs = append(errs, err)
			}
			keep = append(keep, v)
			start = append(start, v)
		}
	}
	rec.VMs = keep
	if len(errs) > 0 {
		writeRecord(dir, rec)
		return nil, errors.Join(errs...)
	}
	if err := startVMs(ctx, rec, start, bin, dir, clientKey); err != nil {
		writeRecord(dir, rec)
		return nil, err
	}
	if err := writeRecord(dir, rec); err != nil {
		return nil, err
	}
	if err := ensureHTTP(ctx, rec, bin, debDir, httpAddr, filepath.Join(dir, "http.log")); err != nil {
		writeRecord(dir, rec)
		return nil, err
	}
	if err := writeRecord(dir, rec); err != nil {
		return nil, err
	}
	if err := waitSSH(ctx, rec.VMs, reused); err != nil {
		return nil, err
	}
	knownHosts := filepath.Join(dir, "ssh", "known_hosts")
	if err := writeKnownHosts(knownHosts, rec.VMs); err != nil {
		return nil, err
	}
	dr := <-debc
	if dr.err != nil {
		return nil, dr.err
	}
	st := &State{
		BridgeIP: bridgeIP, KeyFile: keyFile, KnownHostsFile: knownHosts,
		DebPath: dr.debs[0].Path, DebURL: dr.debs[0].URL, DebSHA256: dr.debs[0].SHA256,
		LBPoolStart: hostAddr(o.SubnetIndex, 200), LBPoolEnd: hostAddr(o.SubnetIndex, 250),
		Dir: dir, Prefix: o.Prefix, SubnetIndex: o.SubnetIndex, Subnet: subnet(o.SubnetIndex).String(),
		Bridge: rec.Bridge, HTTPAddr: httpAddr, Debs: dr.debs, LegacyDebs: dr.legacy, SudoUser: SudoUser,
	}
	for _, v := range rec.VMs {
		st.VMs = append(st.VMs, VM{
			Name: v.Name, Hostname: v.Name, Address: v.Address, NetNS: v.NetNS, SSHPort: 22,
			User: "root", RootDir: v.root(), Veth: v.Veth, PID: v.Init.PID,
		})
	}
	rec.State = st
	if err := writeRecord(dir, rec); err != nil {
		return nil, err
	}
	return st, nil
}

// startVMs creates the networks of vms in one batch, then prepares and
// boots each VM in parallel.
func startVMs(ctx context.Context, rec *record, vms []*vmRecord, bin, dir string, clientKey keyPair) error {
	if len(vms) == 0 {
		return nil
	}
	if err := createNets(ctx, rec.Bridge, vms); err != nil {
		return err
	}
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := bootVM(ctx, rec, v, bin, dir, clientKey); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// bootVM prepares a VM's disk (first boot only), mounts it, configures its
// network and starts its PID 1.
func bootVM(ctx context.Context, rec *record, v *vmRecord, bin, dir string, clientKey keyPair) error {
	disk := v.Dir
	if rec.Disk != "" {
		disk = filepath.Join(rec.Disk, v.Name)
	}
	upper, work, root := filepath.Join(disk, "upper"), filepath.Join(disk, "work"), v.root()
	if err := os.MkdirAll(disk, 0o755); err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	if _, err := os.Stat(upper); errors.Is(err, os.ErrNotExist) {
		hk, err := newKeyPair("root@" + v.Name)
		if err != nil {
			return fmt.Errorf("vmlab: %s: host key: %w", v.Name, err)
		}
		if err := os.MkdirAll(v.Dir, 0o755); err != nil {
			return fmt.Errorf("vmlab: %w", err)
		}
		tmp := upper + ".new"
		os.RemoveAll(tmp)
		if err := prepareUpper(tmp, vmFiles{name: v.Name, address: v.Address, hostKey: hk, clientKey: clientKey.public, acct: rec.Account}); err != nil {
			return err
		}
		if err := os.Rename(tmp, upper); err != nil {
			return fmt.Errorf("vmlab: %w", err)
		}
	}
	pub, err := os.ReadFile(filepath.Join(upper, "etc/ssh/ssh_host_ed25519_key.pub"))
	if err != nil {
		return fmt.Errorf("vmlab: %s: host key: %w", v.Name, err)
	}
	v.HostKey = strings.TrimSpace(string(pub))
	for _, d := range []string{work, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("vmlab: %w", err)
		}
	}
	if !isMountPoint(root) {
		if err := mountOverlay(upper, work, root); err != nil {
			return fmt.Errorf("vmlab: %s: %w", v.Name, err)
		}
	}
	if err := configureNet(ctx, v); err != nil {
		return err
	}
	cfg := initConfig{Name: v.Name, RootDir: root, HideDir: dir, Bin: bin, Boot: bootUnits(upper)}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(v.Dir, "init.json")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(v.Dir, "init.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	defer logf.Close()
	// ip netns exec runs the VM's PID 1 (it execs, it does not fork) in the
	// VM's network namespace; the clone flags give it its own PID, mount,
	// UTS and IPC namespaces.
	cmd := exec.Command("ip", "netns", "exec", v.NetNS, bin, "init", cfgPath)
	cmd.Env = []string{"PATH=" + hostPath}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("vmlab: %s: start: %w", v.Name, err)
	}
	v.Init = refOf(cmd.Process.Pid)
	go cmd.Wait() // reap it if it dies while this process lives
	if err := os.WriteFile(filepath.Join(v.Dir, "init.pid"), []byte(fmt.Sprintf("%d %d\n", v.Init.PID, v.Init.Start)), 0o644); err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	return nil
}

// bootUnits returns what a VM starts at boot: sshd, and the units enabled
// inside the VM since it was created (multi-user.target.wants links in its
// upper layer), as systemd would. Units the host itself has enabled are not
// started: the VMs would all run the host's services.
func bootUnits(upper string) []string {
	units := []string{"ssh.service"}
	ents, err := os.ReadDir(filepath.Join(upper, "etc/systemd/system/multi-user.target.wants"))
	if err != nil {
		return units
	}
	for _, e := range ents {
		if e.Type()&os.ModeSymlink != 0 && e.Name() != "ssh.service" && e.Name() != "sshd.service" {
			units = append(units, e.Name())
		}
	}
	return units
}

const hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ensureHTTP starts the deb server unless the recorded one still runs.
func ensureHTTP(ctx context.Context, rec *record, bin, debDir, addr, logPath string) error {
	if rec.HTTP.alive() && dialOK(addr) {
		return nil
	}
	if err := rec.HTTP.kill(5 * time.Second); err != nil {
		return fmt.Errorf("vmlab: http server: %w", err)
	}
	if err := os.MkdirAll(debDir, 0o755); err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve-http", debDir, addr)
	cmd.Env = []string{"PATH=" + hostPath}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("vmlab: http server: %w", err)
	}
	rec.HTTP = refOf(cmd.Process.Pid)
	go cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for !dialOK(addr) {
		if !rec.HTTP.alive() || time.Now().After(deadline) {
			return fmt.Errorf("vmlab: http server on %s did not come up: %s", addr, tail(logPath, 5))
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sshReady reports whether an SSH server answers on addr:22 with its
// banner.
func sshReady(addr string) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "22"), 500*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// waitSSH waits until every VM's sshd answers. In reused VMs whose sshd was
// stopped (StopSSHD) it starts ssh.service again.
func waitSSH(ctx context.Context, vms []*vmRecord, reused map[*vmRecord]bool) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if reused[v] && !sshReady(v.Address) {
				if _, _, err := execIn(ctx, v.Init, v.Name, nil, "systemctl", "start", "ssh"); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
			if err := waitVMSSH(ctx, v, 60*time.Second); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func waitVMSSH(ctx context.Context, v *vmRecord, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for delay := 5 * time.Millisecond; !sshReady(v.Address); delay = min(2*delay, 200*time.Millisecond) {
		if !v.Init.alive() {
			return fmt.Errorf("vmlab: %s: VM died while booting: %s", v.Name, vmDiagnostics(v))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vmlab: %s: sshd on %s:22 did not answer within %v: %s", v.Name, v.Address, timeout, vmDiagnostics(v))
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return err
		}
	}
	return nil
}

// vmDiagnostics returns the tails of a VM's init log and ssh unit log.
func vmDiagnostics(v *vmRecord) string {
	s := "init.log: " + tail(filepath.Join(v.Dir, "init.log"), 10)
	if v.Init.alive() {
		s += "; ssh.service log: " + tail(fmt.Sprintf("/proc/%d/root/run/meshx-systemctl/log/ssh.service.log", v.Init.PID), 10)
	}
	return s
}

func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Reboot restarts VM name of the lab in dir on its own disk: every process
// in it ends, /run and /tmp start empty, and at boot sshd and the units
// enabled inside the VM start. It returns when sshd answers again.
func Reboot(ctx context.Context, dir, name string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := readRecord(dir)
	if err != nil {
		return err
	}
	if rec == nil || rec.State == nil {
		return fmt.Errorf("vmlab: no lab in %s", dir)
	}
	var v *vmRecord
	for _, r := range rec.VMs {
		if r.Name == name {
			v = r
		}
	}
	if v == nil {
		return fmt.Errorf("vmlab: no VM %q in %s", name, dir)
	}
	if err := teardownVM(ctx, v); err != nil {
		return err
	}
	bin := filepath.Join(dir, "bin", selfName)
	if err := startVMs(ctx, rec, []*vmRecord{v}, bin, dir, keyPair{}); err != nil {
		writeRecord(dir, rec)
		return err
	}
	for i := range rec.State.VMs {
		if rec.State.VMs[i].Name == name {
			rec.State.VMs[i].PID = v.Init.PID
		}
	}
	if err := writeRecord(dir, rec); err != nil {
		return err
	}
	return waitVMSSH(ctx, v, 60*time.Second)
}

// teardownVM stops a VM and removes its mounts and network, keeping its
// disk (upper layer).
func teardownVM(ctx context.Context, v *vmRecord) error {
	var errs []error
	if err := v.Init.kill(10 * time.Second); err != nil {
		errs = append(errs, fmt.Errorf("vmlab: %s: %w", v.Name, err))
	}
	v.Init = procRef{}
	if err := unmountAll(v.root()); err != nil {
		errs = append(errs, fmt.Errorf("vmlab: %s: %w", v.Name, err))
	}
	if err := deleteNet(ctx, v); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Down removes everything the lab recorded in dir: VM processes (by PID and
// start time; killing a VM's PID 1 ends every process in it), the HTTP
// server, overlay mounts, veths, network namespaces, the bridge and the
// directory itself. A directory without a lab is not an error.
func Down(ctx context.Context, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := readRecord(dir)
	if err != nil {
		return err
	}
	var errs []error
	if rec != nil {
		refs := []procRef{rec.HTTP}
		for _, v := range rec.VMs {
			refs = append(refs, v.Init)
		}
		if err := killAll(refs, 10*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("vmlab: %w", err))
		}
		for _, v := range rec.VMs {
			if err := unmountAll(v.root()); err != nil {
				errs = append(errs, fmt.Errorf("vmlab: %s: %w", v.Name, err))
			}
		}
		if err := deleteNets(ctx, rec.VMs); err != nil {
			errs = append(errs, err)
		}
		if linkExists(rec.Bridge) {
			if _, err := run(ctx, "", "ip", "link", "del", rec.Bridge); err != nil && linkExists(rec.Bridge) {
				errs = append(errs, fmt.Errorf("vmlab: %w", err))
			}
		}
	}
	if err := unmountAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("vmlab: %w", err))
	}
	// Never walk into a mounted overlay: it shows the host's root.
	if ms, _ := mountsUnder(dir); len(ms) > 0 {
		errs = append(errs, fmt.Errorf("vmlab: %s still has mounts %v; not removing it", dir, ms))
		return errors.Join(errs...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	return nil
}

// inotifyInstances is the host's limit on inotify instances per user.
const inotifyInstances = "/proc/sys/fs/inotify/max_user_instances"

// raiseInotifyInstances makes room for the inotify instances of count
// VMs. Every process in every VM runs as a host user (root, mostly), so
// they share the per-user limit, 128 by default: dnsmasq, which every
// mesh VM runs, takes one and refuses to start without it, so beyond about
// a hundred VMs (fewer with other labs up) it failed. The limit is only
// ever raised, to 128 plus 8 per VM; it is the host's and stays after Down.
func raiseInotifyInstances(count int) error {
	b, err := os.ReadFile(inotifyInstances)
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	cur, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("vmlab: %s: %w", inotifyInstances, err)
	}
	want := 128 + 8*count
	if cur >= want {
		return nil
	}
	if err := os.WriteFile(inotifyInstances, []byte(strconv.Itoa(want)+"\n"), 0o644); err != nil {
		return fmt.Errorf("vmlab: raise %s to %d for %d VMs: %w", inotifyInstances, want, count, err)
	}
	return nil
}
