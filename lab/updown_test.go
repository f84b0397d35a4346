package lab_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/meshx-dev/meshx/lab"
)

// skipUnlessAvailable applies the lab's skip rule to an instance a test
// manages itself.
func skipUnlessAvailable(t *testing.T, o lab.Options) {
	t.Helper()
	err := lab.Preconditions(o)
	if errors.Is(err, lab.ErrUnavailable) {
		if os.Getenv(lab.RequiredEnv) == "1" {
			t.Fatalf("lab required but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestUpIsIdempotentAndDownLeavesNothing runs its own instance (one
// cluster, one VM) next to the package's.
func TestUpIsIdempotentAndDownLeavesNothing(t *testing.T) {
	t.Parallel()
	o := lab.Options{Name: "labtest-down", VMs: 1, Istio: true, Clusters: []lab.ClusterOptions{{Name: "solo"}}}
	skipUnlessAvailable(t, o)
	t.Cleanup(func() { lab.Down(context.Background(), o) })

	l, err := lab.Up(step(t), o)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	// Two instances side by side share nothing they could collide on.
	pkg := lab.Get(t)
	if l.SubnetIndex == pkg.SubnetIndex || l.Dir == pkg.Dir {
		t.Errorf("instances %s and %s share subnet %d or dir %s", l.Name, pkg.Name, l.SubnetIndex, l.Dir)
	}
	if l.VMs[0].NetNS == pkg.VMs[0].NetNS || l.Clusters[0].Server == pkg.Clusters[0].Server {
		t.Errorf("instances share netns %s or server %s", l.VMs[0].NetNS, l.Clusters[0].Server)
	}
	_, procs, err := lab.Status(o)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range procs {
		names = append(names, p.Owner+"/"+p.Name)
	}
	want := []string{"solo/etcd", "solo/kube-apiserver", "solo/kube-controller-manager", "solo/lab-controller",
		"istio/istiod", "istio/coredns-solo", "vm1/vm (sshd)"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("recorded processes (-want +got):\n%s", diff)
	}
	for _, p := range procs {
		if !p.Alive {
			t.Errorf("%s/%s (pid %d) is not running after Up", p.Owner, p.Name, p.PID)
		}
	}

	again, err := lab.Up(step(t), o)
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if again.Clusters[0].Server != l.Clusters[0].Server || again.SubnetIndex != l.SubnetIndex {
		t.Errorf("second Up replaced the running instance: %s/%d, was %s/%d",
			again.Clusters[0].Server, again.SubnetIndex, l.Clusters[0].Server, l.SubnetIndex)
	}
	_, procs2, _ := lab.Status(o)
	for i := range procs2 {
		if i < len(procs) && procs2[i].PID != procs[i].PID {
			t.Errorf("second Up restarted %s: pid %d, was %d", procs2[i].Name, procs2[i].PID, procs[i].PID)
		}
	}

	// A load-balancer address carries traffic: an address on the bridge
	// and a forwarder, which Down must take away too.
	cs := l.Clientset(t, "solo")
	lbIP := createIstiodLB(t, cs, "istio-system", "istiod-ilb")
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(lbIP, "15012"), 5*time.Second)
	if err != nil {
		t.Errorf("load balancer %s:15012 does not accept connections: %v", lbIP, err)
	} else {
		conn.Close()
	}
	if socketsOn(t, netip.MustParseAddr(lbIP)) == 0 {
		t.Errorf("no socket bound to load balancer address %s", lbIP)
	}

	if err := lab.Down(step(t), o); err != nil {
		t.Fatalf("Down: %v", err)
	}
	// Nothing may be dialled once the address is gone (it would leave
	// the machine), so the forwarders are looked for in the kernel's
	// socket tables.
	if n := socketsOn(t, netip.MustParseAddr(lbIP)); n > 0 {
		t.Errorf("%d sockets still bound to load balancer address %s after Down", n, lbIP)
	}
	for _, p := range procs {
		if p.Record.Alive() {
			t.Errorf("%s (pid %d) still runs after Down", p.Name, p.PID)
		}
	}
	if _, err := os.Stat(l.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Down (%v)", l.Dir, err)
	}
	netns, _ := os.ReadDir("/run/netns")
	for _, vm := range l.VMs {
		for _, e := range netns {
			if vm.NetNS != "" && e.Name() == vm.NetNS {
				t.Errorf("network namespace %s of VM %s still exists", vm.NetNS, vm.Name)
			}
		}
	}
	for _, m := range mounts(t) {
		if strings.HasPrefix(m, l.Dir) {
			t.Errorf("mount %s left behind", m)
		}
	}
	subnet := netip.MustParsePrefix(l.Subnet)
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP.To4()); ok && subnet.Contains(ip) {
				t.Errorf("host still has %s in the lab subnet %s (bridge left behind)", ip, subnet)
			}
		}
	}
	for _, pid := range processesMentioning(t, l.Dir) {
		t.Errorf("process %s still refers to %s", pid, l.Dir)
	}
}

// mounts returns the mount points of the host's mount namespace.
func mounts(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 4 {
			out = append(out, fs[4])
		}
	}
	return out
}

// processesMentioning lists processes whose command line contains s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}

// step bounds one step of a test (an Up, a Down) from the moment it is
// called: steps never share a deadline, since a test's total time grows
// with the machine's load.
func step(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// socketsOn counts the host's listening TCP sockets and UDP sockets bound
// to ip (closed connections linger in TIME_WAIT and do not count).
func socketsOn(t *testing.T, ip netip.Addr) int {
	t.Helper()
	a := ip.As4()
	// /proc/net/{tcp,udp} print IPv4 addresses as little-endian hex.
	want := fmt.Sprintf("%02X%02X%02X%02X:", a[3], a[2], a[1], a[0])
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/udp"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			// Field 4 is the state; 0A is TCP_LISTEN, 07 an unconnected UDP socket.
			if fs := strings.Fields(line); len(fs) > 3 && strings.HasPrefix(fs[1], want) && (fs[3] == "0A" || fs[3] == "07") {
				n++
			}
		}
	}
	return n
}
