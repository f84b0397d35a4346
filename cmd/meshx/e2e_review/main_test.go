package e2e_review

import (
	"os"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/cmd/meshx/internal/lock"
	"github.com/meshx-dev/meshx/lab"
)

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "review", VMs: 2}))
}

// newWorld is environment env with service details (9080) on vm1, written
// and destroyed when the test ends.
func newWorld(t *testing.T, env string) *e2etest.World {
	t.Helper()
	w := e2etest.New(t, env)
	w.VMs = []string{"vm1"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	w.Write()
	w.DestroyOnCleanup()
	return w
}

// mustContain fails the test for every want missing from got.
func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, got)
		}
	}
}

// getLease returns the environment's lock Lease, or nil when there is none.
func getLease(t *testing.T, w *e2etest.World) *coordinationv1.Lease {
	t.Helper()
	l, err := w.Client("control").CoordinationV1().Leases("istio-system").Get(t.Context(), lock.Name(w.Env), metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return l
}

// waitFor polls cond every 200ms until it holds or limit passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
