package vmlab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// requireLab skips the test when the machine cannot run the lab, and fails
// it instead when MESHX_LAB_REQUIRED=1 (CI).
func requireLab(t testing.TB) {
	t.Helper()
	reason := ""
	switch {
	case os.Geteuid() != 0:
		reason = "needs root (network namespaces, overlay mounts)"
	default:
		fs, _ := os.ReadFile("/proc/filesystems")
		if !strings.Contains(string(fs), "overlay") {
			reason = "needs overlayfs"
		}
		for _, tool := range []string{"ip", "nsenter", "/usr/sbin/sshd", "/usr/sbin/dnsmasq", "dpkg-deb", "host", "curl"} {
			if _, err := exec.LookPath(tool); err != nil {
				reason = fmt.Sprintf("needs %s (scripts/install-deps.sh)", tool)
			}
		}
		if reason == "" {
			if out, err := exec.Command("unshare", "--net", "--pid", "--mount", "--fork", "true").CombinedOutput(); err != nil {
				reason = fmt.Sprintf("cannot create namespaces: %v: %s", err, out)
			}
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("MESHX_LAB_REQUIRED") == "1" {
		t.Fatalf("lab required (MESHX_LAB_REQUIRED=1) but %s", reason)
	}
	t.Skip("skipping: " + reason)
}

// upLab brings up a lab of count VMs on a reserved subnet and registers its
// teardown.
func upLab(t testing.TB, count int) (*State, Options) {
	t.Helper()
	ctx := context.Background()
	idx, release, err := ReserveSubnet(ctx, 150, 200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	o := Options{Prefix: fmt.Sprintf("vt%d", idx), Dir: filepath.Join(t.TempDir(), "vms"), Count: count, SubnetIndex: idx}
	t.Cleanup(func() {
		if err := Down(context.Background(), o.Dir); err != nil {
			t.Errorf("Down: %v", err)
		}
	})
	start := time.Now()
	st, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Logf("Up of %d VMs took %v", count, time.Since(start).Round(time.Millisecond))
	return st, o
}

func dial(st *State, vm VM, user string) (*ssh.Client, error) {
	key, err := os.ReadFile(st.KeyFile)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, err
	}
	cb, err := knownhosts.New(st.KnownHostsFile)
	if err != nil {
		return nil, err
	}
	return ssh.Dial("tcp", net.JoinHostPort(vm.Address, strconv.Itoa(vm.SSHPort)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: cb, Timeout: 5 * time.Second,
	})
}

func sshRun(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("ssh %q: %v: %s", cmd, err, out)
	}
	return strings.TrimSpace(string(out))
}

// vmExec runs a command in a VM and fails the test if it fails.
func vmExec(t *testing.T, vm VM, argv ...string) string {
	t.Helper()
	out, _, err := Exec(context.Background(), vm, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sh(t *testing.T, vm VM, script string) string {
	t.Helper()
	return vmExec(t, vm, "sh", "-c", script)
}

// eventually polls cond until it holds or 20 s pass (processes end
// asynchronously after kill; this is not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestLab(t *testing.T) {
	requireLab(t)
	st, o := upLab(t, 2)
	vm1, vm2 := st.VMs[0], st.VMs[1]
	ctx := context.Background()

	t.Run("state", func(t *testing.T) {
		idx := o.SubnetIndex
		got := []string{vm1.Name, vm1.Address, vm1.NetNS, vm2.Name, vm2.Address, st.BridgeIP, st.LBPoolStart, st.LBPoolEnd, st.DebURL}
		want := []string{"vm1", fmt.Sprintf("10.251.%d.10", idx), o.Prefix + "-vm1", "vm2", fmt.Sprintf("10.251.%d.11", idx),
			fmt.Sprintf("10.251.%d.1", idx), fmt.Sprintf("10.251.%d.200", idx), fmt.Sprintf("10.251.%d.250", idx),
			fmt.Sprintf("http://10.251.%d.1:8081/istio-sidecar_1.0.0-lab1_all.deb", idx)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
		loaded, err := Load(o.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st, loaded); diff != "" {
			t.Errorf("Load (-want +got)\n%s", diff)
		}
		if fi, err := os.Stat(st.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("client key: %v %v", fi.Mode(), err)
		}
	})

	t.Run("ssh with the lab key and known_hosts only", func(t *testing.T) {
		for _, vm := range st.VMs {
			for _, user := range []string{"root", st.SudoUser} {
				c, err := dial(st, vm, user)
				if err != nil {
					t.Fatalf("%s@%s: %v", user, vm.Name, err)
				}
				if got := sshRun(t, c, "hostname"); got != vm.Name {
					t.Errorf("%s: hostname = %q", vm.Name, got)
				}
				if got := sshRun(t, c, "cat /etc/hostname; id -un"); got != vm.Name+"\n"+user {
					t.Errorf("%s@%s: /etc/hostname, id -un = %q", user, vm.Name, got)
				}
				if user == st.SudoUser {
					// Like systemd without polkit: queries work, changes need root.
					if got := sshRun(t, c, "systemctl is-active ssh; systemctl restart ssh 2>&1; echo $?"); got != "active\nFailed to restart ssh.service: Interactive authentication required.\nSee system logs and 'systemctl status' for details.\n4" {
						t.Errorf("%s: systemctl as %s:\n%s", vm.Name, user, got)
					}
					if _, err := exec.LookPath("sudo"); err == nil {
						if got := sshRun(t, c, "sudo -n id -un"); got != "root" {
							t.Errorf("%s: sudo -n id -un = %q", vm.Name, got)
						}
					} else if os.Getenv("MESHX_LAB_REQUIRED") == "1" {
						t.Errorf("sudo is not installed on the host, so not in the VMs: add it to scripts/install-deps.sh")
					} else {
						t.Logf("sudo is not installed on the host (so not in the VMs): skipping the sudo check")
					}
				}
				c.Close()
			}
		}
		// A wrong host key is refused: vm2 presented under vm1's address.
		cb, _ := knownhosts.New(st.KnownHostsFile)
		key, _ := os.ReadFile(st.KeyFile)
		signer, _ := ssh.ParsePrivateKey(key)
		_, err := ssh.Dial("tcp", vm2.Address+":22", &ssh.ClientConfig{
			User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, Timeout: 5 * time.Second,
			HostKeyCallback: func(_ string, remote net.Addr, k ssh.PublicKey) error {
				return cb(vm1.Address+":22", &net.TCPAddr{IP: net.ParseIP(vm1.Address), Port: 22}, k)
			},
		})
		if err == nil {
			t.Error("vm2's host key accepted for vm1")
		}
	})

	t.Run("isolation", func(t *testing.T) {
		const f = "/etc/meshx-isolation-test"
		c, err := dial(st, vm1, "root")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sshRun(t, c, "echo vm1 > "+f+" && mkdir -p /var/lib/meshx-test && echo x > /var/lib/meshx-test/x")
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("host sees %s: %v", f, err)
		}
		if _, err := os.Stat("/var/lib/meshx-test"); !os.IsNotExist(err) {
			t.Errorf("host sees /var/lib/meshx-test: %v", err)
		}
		if _, _, err := Exec(ctx, vm2, "cat", f); err == nil {
			t.Errorf("vm2 sees %s", f)
		}
		if b, err := os.ReadFile(filepath.Join(vm1.RootDir, f)); err != nil || string(b) != "vm1\n" {
			t.Errorf("RootDir of vm1: %q %v", b, err)
		}
		// Own PID namespace: PID 1 is the service manager, no host processes.
		if got := strings.TrimSpace(vmExec(t, vm1, "cat", "/proc/1/comm")); got != selfName {
			t.Errorf("PID 1 in vm1 is %q", got)
		}
		if n := len(strings.Fields(sh(t, vm1, "ls -d /proc/[0-9]*"))); n > 30 {
			t.Errorf("vm1 sees %d processes", n)
		}
		// Private /tmp and /run, private resolv.conf, host secrets hidden.
		sh(t, vm1, "touch /tmp/vm1-only /run/vm1-only")
		if out := sh(t, vm2, "ls /tmp /run"); strings.Contains(out, "vm1-only") {
			t.Errorf("vm2 sees vm1's /tmp or /run: %s", out)
		}
		if got := sh(t, vm1, "grep -v '^#' /etc/resolv.conf"); got != "nameserver 127.0.0.1\n" {
			t.Errorf("resolv.conf = %q", got)
		}
		if out := sh(t, vm1, "ls /etc/ssh/ | grep host_; ls -A /root/.ssh; ls "+o.Dir+" | wc -l"); out != "ssh_host_ed25519_key\nssh_host_ed25519_key.pub\nauthorized_keys\n0\n" {
			t.Errorf("vm1 sees:\n%s", out)
		}
		// Only the lab subnet is reachable; no default route.
		if out := sh(t, vm1, "ip -4 route"); strings.Contains(out, "default") {
			t.Errorf("vm1 has a default route:\n%s", out)
		}
		if out := vmExec(t, vm1, "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/"+vm2.Address+"/22 && head -c 7 <&3"); out != "SSH-2.0" {
			t.Errorf("vm1 cannot reach vm2's sshd: %q", out)
		}
	})

	t.Run("dnsmasq answers from kubedns", func(t *testing.T) {
		for _, ip := range []string{fmt.Sprintf("10.251.%d.201", o.SubnetIndex), fmt.Sprintf("10.251.%d.202", o.SubnetIndex)} {
			_, _, err := ExecInput(ctx, vm1, strings.NewReader("address=/istio-pilot.istio-system/"+ip+"\n"), "sh", "-c", "cat > /etc/dnsmasq.d/kubedns")
			if err != nil {
				t.Fatal(err)
			}
			vmExec(t, vm1, "systemctl", "restart", "dnsmasq")
			if got := vmExec(t, vm1, "systemctl", "is-active", "dnsmasq"); got != "active\n" {
				t.Fatalf("dnsmasq is-active: %q", got)
			}
			// The lab has no upstream resolver: dnsmasq refuses the AAAA and
			// MX queries host also makes (a real upstream would answer
			// NXDOMAIN), so only the A answer and getent's status count.
			for _, args := range [][]string{{"host", "istio-pilot.istio-system", "127.0.0.1"}, {"host", "istio-pilot.istio-system"}} {
				out, _, _ := Exec(ctx, vm1, args...)
				if !strings.Contains(out, "istio-pilot.istio-system has address "+ip) {
					t.Errorf("%v:\n%s", args, out)
				}
			}
			if out := vmExec(t, vm1, "getent", "hosts", "istio-pilot.istio-system"); !strings.HasPrefix(out, ip+" ") {
				t.Errorf("getent hosts: %q", out)
			}
		}
		// vm2 has no kubedns and no dnsmasq running.
		if _, _, err := Exec(ctx, vm2, "host", "-W", "1", "istio-pilot.istio-system"); err == nil {
			t.Error("vm2 resolves istio-pilot.istio-system")
		}
	})

	t.Run("systemctl", func(t *testing.T) {
		unit := "[Unit]\nDescription=lab test\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n"
		if _, _, err := ExecInput(ctx, vm2, strings.NewReader(unit), "sh", "-c", "cat > /etc/systemd/system/labtest.service"); err != nil {
			t.Fatal(err)
		}
		vmExec(t, vm2, "systemctl", "daemon-reload")
		isActive := func() (string, int) {
			out, _, err := Exec(ctx, vm2, "systemctl", "is-active", "labtest")
			return strings.TrimSpace(out), exitCode(err)
		}
		if s, code := isActive(); s != "inactive" || code != 3 {
			t.Errorf("before start: %q %d", s, code)
		}
		vmExec(t, vm2, "systemctl", "enable", "--now", "labtest")
		if s, code := isActive(); s != "active" || code != 0 {
			t.Errorf("after enable --now: %q %d", s, code)
		}
		if got := vmExec(t, vm2, "systemctl", "is-enabled", "labtest"); got != "enabled\n" {
			t.Errorf("is-enabled: %q", got)
		}
		link := filepath.Join(vm2.RootDir, "etc/systemd/system/multi-user.target.wants/labtest.service")
		if target, err := os.Readlink(link); err != nil || target != "/etc/systemd/system/labtest.service" {
			t.Errorf("wants link: %q %v", target, err)
		}
		if out := vmExec(t, vm2, "systemctl", "status", "labtest"); !strings.Contains(out, "Active: active (running)") {
			t.Errorf("status:\n%s", out)
		}
		pid := strings.TrimSpace(vmExec(t, vm2, "systemctl", "show", "-p", "MainPID", "--value", "labtest"))
		vmExec(t, vm2, "kill", "-9", pid)
		eventually(t, "the crash to show", func() bool { s, _ := isActive(); return s != "active" })
		if s, code := isActive(); s != "failed" || code != 3 {
			t.Errorf("after kill -9: %q %d", s, code)
		}
		out, _, err := Exec(ctx, vm2, "systemctl", "status", "labtest")
		if exitCode(err) != 3 || !strings.Contains(out, "Active: failed (Result: signal)") {
			t.Errorf("status after crash (exit %d):\n%s", exitCode(err), out)
		}
		vmExec(t, vm2, "systemctl", "restart", "labtest")
		if s, _ := isActive(); s != "active" {
			t.Errorf("after restart: %q", s)
		}
		vmExec(t, vm2, "systemctl", "stop", "labtest")
		if s, code := isActive(); s != "inactive" || code != 3 {
			t.Errorf("after stop: %q %d", s, code)
		}
		vmExec(t, vm2, "systemctl", "disable", "labtest")
		if _, _, err := Exec(ctx, vm2, "systemctl", "is-enabled", "labtest"); exitCode(err) != 1 {
			t.Errorf("is-enabled after disable: %v", err)
		}
		if _, err := os.Lstat(link); !os.IsNotExist(err) {
			t.Errorf("wants link after disable: %v", err)
		}
		// Debian links runlevel, reboot, ... to systemctl; the stand-in must
		// answer them itself (never run the test binary's tests in the VM).
		if got := vmExec(t, vm2, "runlevel"); got != "N 3\n" {
			t.Errorf("runlevel: %q", got)
		}
		// ssh runs from Debian's unit; dnsmasq is installed (host packages).
		if got := vmExec(t, vm2, "systemctl", "is-active", "ssh"); got != "active\n" {
			t.Errorf("ssh: %q", got)
		}
		if out := vmExec(t, vm2, "dpkg", "-s", "dnsmasq"); !strings.Contains(out, "Status: install ok installed") {
			t.Errorf("dpkg -s dnsmasq:\n%s", out)
		}
	})

	t.Run("istio-sidecar deb over HTTP", func(t *testing.T) {
		if len(st.Debs) != 2 || st.Debs[1].Version != "1.0.1-lab1" {
			t.Fatalf("debs: %+v", st.Debs)
		}
		for _, d := range st.Debs {
			sum, err := fileSHA256(d.Path)
			if err != nil || sum != d.SHA256 {
				t.Errorf("%s: sha256 %s %v, recorded %s", d.Path, sum, err, d.SHA256)
			}
		}
		sh(t, vm1, "curl -fsS -o /tmp/istio-sidecar.deb "+st.DebURL)
		got := strings.Fields(vmExec(t, vm1, "sha256sum", "/tmp/istio-sidecar.deb"))[0]
		if got != st.DebSHA256 {
			t.Errorf("downloaded deb sha256 %s, want %s", got, st.DebSHA256)
		}
		vmExec(t, vm1, "dpkg", "-i", "/tmp/istio-sidecar.deb")
		if got := vmExec(t, vm1, "dpkg-query", "-W", "-f=${Version}", "istio-sidecar"); got != "1.0.0-lab1" {
			t.Errorf("installed version %q", got)
		}
		out := sh(t, vm1, "getent passwd istio-proxy | cut -d: -f6; stat -c '%U:%G' /var/lib/istio/envoy /var/log/istio /var/lib/istio/config/mesh; readlink /etc/istio; grep -c '^# ISTIO_' /var/lib/istio/envoy/sidecar.env; grep -c '^[A-Z]' /var/lib/istio/envoy/sidecar.env || true")
		if want := "/var/lib/istio\nistio-proxy:istio-proxy\nistio-proxy:istio-proxy\nistio-proxy:istio-proxy\n/var/lib/istio\n"; !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "\n0\n") {
			t.Errorf("after dpkg -i:\n%s", out)
		}
		if out := sh(t, vm1, "systemctl is-enabled istio istio-auth-node-agent || true"); out != "disabled\ndisabled\n" {
			t.Errorf("units after install (the package enables nothing):\n%s", out)
		}
		sh(t, vm1, "printf 'ISTIO_SERVICE_CIDR=10.96.0.0/12\\nISTIO_SYSTEM_NAMESPACE=istio-system\\nISTIO_CP_AUTH=MUTUAL_TLS\\n' > /var/lib/istio/envoy/cluster.env")
		vmExec(t, vm1, "systemctl", "start", "istio-auth-node-agent", "istio")
		if out := sh(t, vm1, "systemctl is-active istio istio-auth-node-agent"); out != "active\nactive\n" {
			t.Errorf("is-active:\n%s", out)
		}
		eventually(t, "istio.log", func() bool {
			out, _, _ := Exec(ctx, vm1, "cat", "/var/log/istio/istio.log")
			return strings.Contains(out, "would run:")
		})
		log := vmExec(t, vm1, "cat", "/var/log/istio/istio.log")
		for _, w := range []string{"istio-sidecar 1.0.0-lab1", "ISTIO_SERVICE_CIDR=10.96.0.0/12", "ISTIO_CP_AUTH=MUTUAL_TLS", "ISTIO_SVC_IP=" + vm1.Address, "POD_NAME=vm1"} {
			if !strings.Contains(log, w) {
				t.Errorf("istio.log lacks %q:\n%s", w, log)
			}
		}
		// Upgrade to the second version, by URL, and restart.
		sh(t, vm1, "curl -fsS -o /tmp/up.deb "+st.Debs[1].URL+" && dpkg -i /tmp/up.deb && systemctl restart istio")
		eventually(t, "the upgraded istio-start.sh", func() bool {
			out, _, _ := Exec(ctx, vm1, "cat", "/var/log/istio/istio.log")
			return strings.Contains(out, "istio-sidecar 1.0.1-lab1")
		})
		if _, _, err := Exec(ctx, vm2, "id", "istio-proxy"); err == nil {
			t.Error("vm2 has istio-proxy")
		}
		if _, err := exec.Command("id", "istio-proxy").Output(); err == nil {
			t.Error("the host has istio-proxy")
		}
	})

	t.Run("StopSSHD and StartSSHD", func(t *testing.T) {
		if err := StopSSHD(ctx, o.Dir, "vm2"); err != nil {
			t.Fatal(err)
		}
		if c, err := dial(st, vm2, "root"); err == nil {
			c.Close()
			t.Fatal("ssh to vm2 works after StopSSHD")
		}
		if c, err := dial(st, vm1, "root"); err != nil {
			t.Errorf("vm1 affected by StopSSHD(vm2): %v", err)
		} else {
			c.Close()
		}
		if err := StartSSHD(ctx, o.Dir, "vm2"); err != nil {
			t.Fatal(err)
		}
		c, err := dial(st, vm2, "root")
		if err != nil {
			t.Fatalf("ssh after StartSSHD: %v", err)
		}
		c.Close()
	})

	t.Run("Up is idempotent and restarts dead VMs", func(t *testing.T) {
		if err := StopSSHD(ctx, o.Dir, "vm1"); err != nil {
			t.Fatal(err)
		}
		st2, err := Up(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if st2.VMs[0].PID != vm1.PID || st2.VMs[1].PID != vm2.PID {
			t.Errorf("Up replaced running VMs: %d,%d -> %d,%d", vm1.PID, vm2.PID, st2.VMs[0].PID, st2.VMs[1].PID)
		}
		if c, err := dial(st2, vm1, "root"); err != nil {
			t.Errorf("Up did not bring vm1's sshd back: %v", err)
		} else {
			c.Close()
		}
		// A VM whose PID 1 died comes back on its own disk, like a reboot.
		syscall.Kill(vm2.PID, syscall.SIGKILL)
		eventually(t, "vm2 to die", func() bool { return !(procRef{PID: vm2.PID, Start: refOf(vm2.PID).Start}).alive() })
		st3, err := Up(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		nvm2 := st3.VMs[1]
		if nvm2.PID == vm2.PID {
			t.Error("vm2 not restarted")
		}
		if got := sh(t, nvm2, "systemctl is-enabled labtest || true"); got != "disabled\n" {
			t.Errorf("vm2's disk after reboot: labtest %q", got)
		}
		c, err := dial(st3, nvm2, "root")
		if err != nil {
			t.Fatalf("ssh to rebooted vm2: %v", err)
		}
		c.Close()
		// Reboot: units enabled inside the VM start at boot, /tmp is new.
		sh(t, nvm2, "systemctl enable labtest && touch /tmp/before-reboot /var/tmp/before-reboot")
		if err := Reboot(ctx, o.Dir, "vm2"); err != nil {
			t.Fatal(err)
		}
		st4, _ := Load(o.Dir)
		rvm2 := st4.VMs[1]
		if rvm2.PID == nvm2.PID {
			t.Error("Reboot did not restart vm2")
		}
		if got := sh(t, rvm2, "systemctl is-active labtest ssh; ls /tmp /var/tmp | grep -c before-reboot"); got != "active\nactive\n1\n" {
			t.Errorf("after reboot: is-active labtest ssh, files:\n%s", got)
		}
		if _, err := Up(ctx, Options{Prefix: o.Prefix + "x", Dir: o.Dir, Count: 2, SubnetIndex: o.SubnetIndex}); err == nil {
			t.Error("Up with another prefix on the same dir succeeded")
		}
	})
}

// TestDownLeavesNothing brings a lab up and down and looks for leftovers.
func TestDownLeavesNothing(t *testing.T) {
	requireLab(t)
	ctx := context.Background()
	idx, release, err := ReserveSubnet(ctx, 150, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	o := Options{Prefix: fmt.Sprintf("vt%d", idx), Dir: filepath.Join(t.TempDir(), "vms"), Count: 3, SubnetIndex: idx}
	st, err := Up(ctx, o)
	if err != nil {
		Down(ctx, o.Dir)
		t.Fatal(err)
	}
	var pids []int
	for _, v := range st.VMs {
		pids = append(pids, v.PID)
		// Leave something running in each VM.
		vmExec(t, v, "systemctl", "restart", "dnsmasq")
	}
	if err := Down(ctx, o.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", o.Dir, err)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), o.Prefix+"-") {
		t.Errorf("netns left:\n%s", out)
	}
	if out, _ := exec.Command("ip", "-o", "link").Output(); strings.Contains(string(out), ": "+o.Prefix) {
		t.Errorf("links left:\n%s", out)
	}
	if out, _ := exec.Command("ip", "-o", "addr").Output(); strings.Contains(string(out), fmt.Sprintf("10.251.%d.", idx)) {
		t.Errorf("addresses left:\n%s", out)
	}
	if ms, _ := mountsUnder(filepath.Dir(o.Dir)); len(ms) > 0 {
		t.Errorf("mounts left: %v", ms)
	}
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			if start, state, _ := procStart(pid); state != 'Z' {
				t.Errorf("VM PID 1 %d still exists (start %d, state %c)", pid, start, state)
			}
		}
	}
	// No process runs from the lab directory or in a VM's namespaces.
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(cmdline), o.Dir) {
			t.Errorf("process %s left: %q", e.Name(), cmdline)
		}
	}
	if err := Down(ctx, o.Dir); err != nil {
		t.Errorf("second Down: %v", err)
	}
}

// TestDirOnOverlay runs a lab whose directory is on overlayfs, as in a
// container: the VMs' upper layers then live on a tmpfs.
func TestDirOnOverlay(t *testing.T) {
	requireLab(t)
	base := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		os.Mkdir(filepath.Join(base, d), 0o755)
	}
	merged := filepath.Join(base, "merged")
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", base, base, base)
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, merged).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	defer exec.Command("umount", merged).Run()
	ctx := context.Background()
	idx, release, err := ReserveSubnet(ctx, 150, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	o := Options{Prefix: fmt.Sprintf("vt%d", idx), Dir: filepath.Join(merged, "vms"), Count: 1, SubnetIndex: idx}
	st, err := Up(ctx, o)
	if err != nil {
		Down(ctx, o.Dir)
		t.Fatal(err)
	}
	c, err := dial(st, st.VMs[0], "root")
	if err != nil {
		t.Error(err)
	} else {
		if got := sshRun(t, c, "echo hi > /etc/x && cat /etc/x"); got != "hi" {
			t.Errorf("write in VM: %q", got)
		}
		c.Close()
	}
	if !isMountPoint(filepath.Join(o.Dir, "disk")) {
		t.Error("no tmpfs disk under a Dir on overlayfs")
	}
	if err := Down(ctx, o.Dir); err != nil {
		t.Fatal(err)
	}
	if ms, _ := mountsUnder(merged); len(ms) != 1 {
		t.Errorf("mounts left under %s: %v", merged, ms)
	}
}

func TestVMHostAddresses(t *testing.T) {
	seen := map[int]bool{}
	for i := 1; i <= MaxVMs; i++ {
		h := vmHost(i)
		if h < 2 || h > 254 || h >= 200 && h <= 250 || seen[h] {
			t.Fatalf("vm%d gets .%d", i, h)
		}
		seen[h] = true
	}
	if vmHost(1) != 10 || vmHost(2) != 11 {
		t.Errorf("vm1, vm2 at .%d, .%d; want .10, .11", vmHost(1), vmHost(2))
	}
}

func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		o  Options
		ok bool
	}{
		{Options{Prefix: "mx0", Dir: "/x"}, true},
		{Options{Prefix: "mx0", Dir: "/x", Count: MaxVMs, SubnetIndex: 200}, true},
		{Options{Prefix: "", Dir: "/x"}, false},
		{Options{Prefix: "toolongname", Dir: "/x"}, false},
		{Options{Prefix: "Mx", Dir: "/x"}, false},
		{Options{Prefix: "mx0", Dir: ""}, false},
		{Options{Prefix: "mx0", Dir: "/a,b"}, false},
		{Options{Prefix: "mx0", Dir: "/x", Count: MaxVMs + 1}, false},
		{Options{Prefix: "mx0", Dir: "/x", SubnetIndex: 201}, false},
	}
	for _, tt := range tests {
		if err := tt.o.check(); (err == nil) != tt.ok {
			t.Errorf("%+v: %v", tt.o, err)
		}
	}
}

func TestDebContents(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("needs dpkg-deb")
	}
	dir := t.TempDir()
	debs, err := buildDebs(context.Background(), dir, "http://lab")
	if err != nil {
		t.Fatal(err)
	}
	info, err := exec.Command("dpkg-deb", "-f", debs[0].Path, "Package", "Version", "Architecture").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(info), "Package: istio-sidecar\nVersion: 1.0.0-lab1\nArchitecture: all\n"; got != want {
		t.Errorf("control fields:\n%s\nwant\n%s", got, want)
	}
	list, err := exec.Command("dpkg-deb", "-c", debs[0].Path).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"./usr/local/bin/istio-start.sh", "./usr/local/bin/node_agent", "./lib/systemd/system/istio.service",
		"./lib/systemd/system/istio-auth-node-agent.service", "./var/lib/istio/envoy/sidecar.env", "./var/lib/istio/envoy/envoy_bootstrap_tmpl.json"} {
		if !strings.Contains(string(list), " "+f+"\n") {
			t.Errorf("deb lacks %s:\n%s", f, list)
		}
	}
	if strings.Contains(string(list), "/var/lib/istio/envoy/cluster.env") {
		t.Error("deb ships cluster.env")
	}
	b, _ := os.ReadFile(debs[0].Path)
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != debs[0].SHA256 || debs[0].URL != "http://lab/istio-sidecar_1.0.0-lab1_all.deb" {
		t.Errorf("deb record %+v", debs[0])
	}
}

// BenchmarkUp measures Up of MESHX_BENCH_VMS VMs (default 50) on a fresh
// directory, and Down; report with -benchtime=1x.
func BenchmarkUp(b *testing.B) {
	requireLab(b)
	n := 50
	if s := os.Getenv("MESHX_BENCH_VMS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	idx, release, err := ReserveSubnet(ctx, 150, 200)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	var up, down time.Duration
	for i := 0; i < b.N; i++ {
		o := Options{Prefix: fmt.Sprintf("vb%d", idx), Dir: filepath.Join(b.TempDir(), "vms"), Count: n, SubnetIndex: idx}
		start := time.Now()
		_, err := Up(ctx, o)
		up += time.Since(start)
		if err != nil {
			Down(ctx, o.Dir)
			b.Fatal(err)
		}
		start = time.Now()
		if err := Down(ctx, o.Dir); err != nil {
			b.Fatal(err)
		}
		down += time.Since(start)
	}
	b.ReportMetric(up.Seconds()/float64(b.N), "s/up")
	b.ReportMetric(down.Seconds()/float64(b.N), "s/down")
	b.ReportMetric(float64(n), "vms")
}
