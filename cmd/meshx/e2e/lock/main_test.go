package lock

import (
	"encoding/json"
	"os"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/cmd/meshx/internal/lock"
	"github.com/meshx-dev/meshx/lab"
)

// The tests share one lab instance and run one after another: the
// mesh-expansion load balancers are cluster-wide names one environment
// owns at a time.
func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "lock", VMs: 1}))
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

// lockHolder is the holder record the environment's lock Lease carries, nil
// when no run holds the lock.
func lockHolder(t *testing.T, w *e2etest.World) *lock.Info {
	t.Helper()
	l := getLease(t, w)
	if l == nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return nil
	}
	var i lock.Info
	if err := json.Unmarshal([]byte(l.Annotations["meshx.dev/lock-info"]), &i); err != nil {
		t.Fatalf("lock Lease without a holder record: %v", err)
	}
	return &i
}
