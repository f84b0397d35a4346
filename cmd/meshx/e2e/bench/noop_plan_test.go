package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
)

// BenchmarkNoopPlan50VMs is `meshx plan` with nothing to do over 50 VMs,
// each hosting one service: 50 SSH observations and the cluster's objects.
// Besides ns/op it reports the process's peak resident set during the
// plans (peak-RSS-MiB), reset after the setup apply.
func BenchmarkNoopPlan50VMs(b *testing.B) {
	l := lab.Get(b)
	if len(l.VMs) < 50 {
		b.Fatalf("lab %s has %d VMs, want 50", l.Name, len(l.VMs))
	}
	w := &e2etest.World{Lab: l, Dir: b.TempDir(), Env: "bench50", Namespace: "bench50", WaitTimeout: "2m"}
	for i, v := range l.VMs[:50] {
		w.VMs = append(w.VMs, v.Name)
		w.Services = append(w.Services, e2etest.Svc{Name: fmt.Sprintf("svc%02d", i), VMs: []string{v.Name}, Ports: map[string]int{"http": 9080}})
	}
	cfg, err := w.Render()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "main.hcl"), cfg, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if r := e2etest.RunMeshx(w.Dir, "destroy", "-auto-approve", "-no-color"); r.Code != 0 {
			b.Errorf("cleanup destroy: %s", r)
		}
	})
	if r := e2etest.RunMeshx(w.Dir, "apply", "-auto-approve", "-no-color"); r.Code != 0 {
		b.Fatalf("setup apply: %s", r)
	}
	// Peak RSS from here on (Linux: writing 5 to clear_refs resets VmHWM).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS, it includes the setup: %v", err)
	}
	b.ResetTimer()
	for b.Loop() {
		if r := e2etest.RunMeshx(w.Dir, "plan", "-detailed-exitcode", "-no-color"); r.Code != 0 {
			b.Fatalf("no-op plan: %s", r)
		}
	}
	b.StopTimer()
	if kib, err := vmHWM(); err != nil {
		b.Logf("peak RSS: %v", err)
	} else {
		b.ReportMetric(float64(kib)/1024, "peak-RSS-MiB")
	}
}

// vmHWM reads the process's peak resident set size in KiB.
func vmHWM() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no VmHWM")
}
