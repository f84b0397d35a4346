package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
)

// servicesOn returns n service blocks spread over vms, one port each.
func servicesOn(n int, vms ...string) []e2etest.Svc {
	out := make([]e2etest.Svc, n)
	for i := range out {
		out[i] = e2etest.Svc{Name: fmt.Sprintf("svc%03d", i), VMs: []string{vms[i%len(vms)]}, Ports: map[string]int{"http": 10000 + i}}
	}
	return out
}

// benchWorld is a configuration on two lab VMs, destroyed when the
// benchmark ends.
func benchWorld(b *testing.B, env string) *e2etest.World {
	b.Helper()
	w := &e2etest.World{Lab: lab.Get(b), Dir: b.TempDir(), Env: env, Namespace: env, WaitTimeout: "2m", VMs: []string{"vm1", "vm2"}}
	b.Cleanup(func() {
		if r := e2etest.RunMeshx(w.Dir, "destroy", "-auto-approve", "-no-color"); r.Code != 0 {
			b.Errorf("cleanup destroy: %s", r)
		}
	})
	return w
}

func write(b *testing.B, w *e2etest.World) {
	b.Helper()
	cfg, err := w.Render()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "main.hcl"), cfg, 0o644); err != nil {
		b.Fatal(err)
	}
}

func must(b *testing.B, w *e2etest.World, want int, args ...string) e2etest.Result {
	b.Helper()
	r := e2etest.RunMeshx(w.Dir, args...)
	if r.Code != want {
		b.Fatalf("meshx %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// BenchmarkPlan200Services is a no-op plan of 200 registered services
// (200 Services and Endpoints, sidecar.env on two VMs) through the CLI.
func BenchmarkPlan200Services(b *testing.B) {
	w := benchWorld(b, "bench-plan")
	w.Services = servicesOn(200, "vm1", "vm2")
	write(b, w)
	must(b, w, 0, "apply", "-auto-approve", "-no-color")
	b.ResetTimer()
	for b.Loop() {
		must(b, w, 0, "plan", "-detailed-exitcode", "-no-color")
	}
}

// BenchmarkApply200Services registers 200 services on two VMs whose mesh
// setup is already in place: plan and apply of 200 Services, 200
// Endpoints and both sidecar.env files (with the istio restarts they
// trigger). Between iterations the services are removed again, untimed.
func BenchmarkApply200Services(b *testing.B) {
	w := benchWorld(b, "bench-apply")
	write(b, w) // no services yet: the base mesh setup
	must(b, w, 0, "apply", "-auto-approve", "-no-color")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w.Services = servicesOn(200, "vm1", "vm2")
		write(b, w)
		b.StartTimer()
		r := must(b, w, 0, "apply", "-auto-approve", "-no-color")
		b.StopTimer()
		if !strings.Contains(r.Stdout, "Apply complete! Resources: 400 added") {
			b.Fatalf("apply did not add 400 objects:\n%s", r.Stdout)
		}
		w.Services = nil
		write(b, w)
		must(b, w, 0, "apply", "-auto-approve", "-no-color")
		b.StartTimer()
	}
}
