package lab_test

import (
	"bufio"
	"context"
	"errors"
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
	o := lab.Options{Name: "labtest-down", VMs: 1, Clusters: []lab.ClusterOptions{{Name: "solo"}}}
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
	want := []string{"solo/etcd", "solo/kube-apiserver", "solo/kube-controller-manager", "solo/lab-controller", "vm1/vm (sshd)"}
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

	if err := lab.Down(step(t), o); err != nil {
		t.Fatalf("Down: %v", err)
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
