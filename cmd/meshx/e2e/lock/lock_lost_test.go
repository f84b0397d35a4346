package lock

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/cmd/meshx/internal/lock"
)

// TestLockNeedsTheIstioNamespace: with an Istio namespace that does not
// exist, apply changes nothing before approval: it fails before planning,
// naming the namespace, and neither creates the namespace nor leaves a
// Lease behind (it used to create both, then ask).
func TestLockNeedsTheIstioNamespace(t *testing.T) {
	w := e2etest.New(t, "nons")
	w.VMs = []string{"vm1"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	w.Write()
	ns := "istio-" + w.Env
	main := filepath.Join(w.Dir, "main.hcl")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(main, []byte(strings.Replace(string(b), `namespace = "istio-system"`, `namespace = "`+ns+`"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"apply", "-no-color"}, {"apply", "-auto-approve", "-no-color"}} {
		r := w.Must(1, args...)
		e2etest.Contains(t, strings.Join(args, " "), r.Stderr, "No Istio namespace for the lock", "Namespace "+ns+" does not exist in cluster.control (https://", "nothing was changed", "-lock=false")
		cs := w.Client("control")
		if _, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, e2etest.Get); !apierrors.IsNotFound(err) {
			t.Fatalf("%s created namespace %s (get: %v)", strings.Join(args, " "), ns, err)
		}
		if _, err := cs.CoreV1().Namespaces().Get(t.Context(), w.Namespace, e2etest.Get); !apierrors.IsNotFound(err) {
			t.Fatalf("%s created namespace %s (get: %v)", strings.Join(args, " "), w.Namespace, err)
		}
	}
}

// TestNotApprovedLeavesNothing: an apply that is not approved (here:
// nobody can answer the prompt) leaves the cluster as it was: no Lease,
// no namespace. The Lease used to stay behind, emptied.
func TestNotApprovedLeavesNothing(t *testing.T) {
	w := e2etest.Details(t, "notyes")
	r := w.Must(1, "apply", "-no-color")
	e2etest.Contains(t, "apply stderr", r.Stderr, "Approval needed")
	if l := getLease(t, w); l != nil {
		t.Errorf("an apply that was not approved left its Lease behind: %+v", l.Spec)
	}
	if _, err := w.Client("control").CoreV1().Namespaces().Get(t.Context(), w.Namespace, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("an apply that was not approved created namespace %s (get: %v)", w.Namespace, err)
	}
}

// TestLockLostMidApply: an apply whose Lease is deleted while it waits on
// the load balancers' addresses notices at its next renewal, lets the
// running waits finish (the addresses come once the test lets them), starts
// nothing after them, and exits 1 naming the lost lock; the VM is left as
// it was. It used to carry on to "Apply complete!".
func TestLockLostMidApply(t *testing.T) {
	w := e2etest.Details(t, "lost")
	t.Setenv("MESHX_LOCK_TTL", "3s")
	w.LBNever()

	run := w.Start("apply", "-auto-approve", "-no-color")
	cs := w.Client("control")
	e2etest.Eventually(t, "the apply creates istio-pilot-ilb", 2*time.Minute, func() (bool, string) {
		_, err := cs.CoreV1().Services("istio-system").Get(t.Context(), "istio-pilot-ilb", e2etest.Get)
		return err == nil, fmt.Sprint(err)
	})
	if err := cs.CoordinationV1().Leases("istio-system").Delete(t.Context(), lock.Name(w.Env), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Give the load balancers their addresses once the run noticed, so the
	// waits end well and only the lost lock can stop what depends on them.
	e2etest.Eventually(t, "the apply notices it lost its lock", time.Minute, func() (bool, string) {
		return strings.Contains(run.Stderr(), "someone deleted the Lease. Starting no new changes"), run.Stderr()
	})
	if err := w.Lab.SetLBMode(e2etest.Step(t), "control", "ip"); err != nil {
		t.Fatal(err)
	}
	r := run.Wait(t, 3*time.Minute)
	if r.Code != 1 {
		t.Fatalf("apply after losing its lock: want exit 1, got %s", r)
	}
	e2etest.Contains(t, "apply stderr", r.Stderr, "Lost the environment's lock", "someone deleted the Lease", "started no change after that")
	e2etest.Contains(t, "apply stdout", r.Stdout, "not attempted: lost the lock (Lease istio-system/"+lock.Name(w.Env)+")", "Apply interrupted!")
	if strings.Contains(r.Stdout, "Apply complete!") {
		t.Errorf("apply completed without its lock:\n%s", r)
	}
	if l := getLease(t, w); l != nil {
		t.Errorf("the run that lost its lock wrote the Lease again: %+v", l.Spec)
	}
}
