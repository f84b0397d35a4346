package lock

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/cmd/meshx/internal/lock"
	"github.com/meshx-dev/meshx/lab"
)

// TestLockHeldByAnotherRun: while another run (the test, through the
// lease package) holds the environment's lock, apply exits 3 naming it;
// with -lock-timeout it waits for the release and proceeds; force-unlock
// refuses a wrong ID, naming the holder, and frees the right one.
func TestLockHeldByAnotherRun(t *testing.T) {
	w := e2etest.Details(t, "locked")
	cs := w.Client("control")
	other := lock.New(cs, lock.Options{Namespace: "istio-system", Environment: w.Env, Operation: "test"})
	if err := other.Acquire(t.Context(), 0, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Release(context.Background()) })
	holder := *lockHolder(t, w)

	r := w.Must(3, "apply", "-auto-approve", "-no-color")
	e2etest.Contains(t, "locked apply stderr", r.Stderr, "Error acquiring the lock", holder.Who, holder.ID, "operation test", "meshx force-unlock "+holder.ID)
	if _, err := cs.CoreV1().Namespaces().Get(t.Context(), w.Namespace, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("a locked apply created namespace %s (get: %v)", w.Namespace, err)
	}

	// Release the lock once apply says it is waiting for it, not after a
	// guessed sleep that a loaded machine can outrun.
	released := make(chan error, 1)
	r = w.MeshxSeeing("Waiting up to", func() { released <- other.Release(context.Background()) },
		"apply", "-auto-approve", "-no-color", "-lock-timeout=30s")
	if r.Code != 0 {
		t.Fatalf("apply waiting for the lock: %s", r)
	}
	e2etest.Contains(t, "waiting apply", r.Stderr, "Waiting up to 30s for the lock held by "+holder.Who+" (lock ID "+holder.ID+")")
	e2etest.Contains(t, "waiting apply", r.Stdout, "Apply complete!")
	select {
	case err := <-released:
		if err != nil {
			t.Fatalf("release: %v", err)
		}
	case <-time.After(time.Minute): // the release already happened if apply waited
		t.Fatal("apply completed without waiting for the lock held by the test")
	}
	if l := getLease(t, w); l != nil {
		t.Errorf("apply did not release its lock: %+v", l.Spec)
	}

	t.Run("force-unlock", func(t *testing.T) {
		stuck := lock.New(cs, lock.Options{Namespace: "istio-system", Environment: w.Env, Operation: "test"})
		if err := stuck.Acquire(t.Context(), 0, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = stuck.Release(context.Background()) })
		held := *lockHolder(t, w)
		id := held.ID

		r := w.Must(1, "force-unlock", "0123456789abcdef")
		e2etest.Contains(t, "wrong-ID force-unlock", r.Stderr, id, held.Who)
		if h := lockHolder(t, w); h == nil || h.ID != id {
			t.Fatalf("a wrong ID released the lock: %+v", h)
		}
		r = w.Must(0, "force-unlock", id)
		e2etest.Contains(t, "force-unlock", r.Stdout, "unlocked environment "+w.Env)
		if h := lockHolder(t, w); h != nil {
			t.Fatalf("force-unlock left the lock held: %+v", h)
		}
		w.Must(0, "plan", "-detailed-exitcode", "-no-color")
		w.Must(0, "apply", "-auto-approve", "-no-color")
	})
}

// TestLockOfKilledRun: a meshx process SIGKILLed in the middle of an apply
// leaves its Lease behind; the next apply with -lock-timeout waits for it
// to expire (MESHX_LOCK_TTL shortens that) and completes the work.
func TestLockOfKilledRun(t *testing.T) {
	w := e2etest.Details(t, "killed")
	bin := buildMeshx(t)

	w.LBNever()

	var out bytes.Buffer
	cmd := exec.Command(bin, "-chdir="+w.Dir, "apply", "-auto-approve", "-no-color")
	cmd.Env = append(os.Environ(), "MESHX_LOCK_TTL=10s")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
	})

	var id string
	e2etest.Eventually(t, "the subprocess takes the lock", time.Minute, func() (bool, string) {
		if l := getLease(t, w); l != nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
			id = *l.Spec.HolderIdentity
			if d := l.Spec.LeaseDurationSeconds; d == nil || *d != 10 {
				t.Errorf("the lease lasts %v s, want MESHX_LOCK_TTL's 10", d)
			}
			return true, ""
		}
		return false, "no Lease with a holder"
	})
	// Kill it in the middle of the apply: once it is waiting for the load
	// balancers' addresses.
	cs := w.Client("control")
	e2etest.Eventually(t, "the subprocess creates istio-pilot-ilb", time.Minute, func() (bool, string) {
		_, err := cs.CoreV1().Services("istio-system").Get(t.Context(), "istio-pilot-ilb", e2etest.Get)
		return err == nil, fmt.Sprint(err)
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("subprocess was not killed: %v\n%s", err, out.String())
	}
	if h := lockHolder(t, w); h == nil || h.ID != id {
		t.Fatalf("the killed run's lock is not held right after the kill: %+v", h)
	}

	if err := w.Lab.SetLBMode(e2etest.Step(t), "control", "ip"); err != nil {
		t.Fatal(err)
	}
	r := w.Must(0, "apply", "-auto-approve", "-no-color", "-lock-timeout=90s")
	e2etest.Contains(t, "apply after the kill", r.Stderr, "Waiting up to 1m30s for the lock held by", "(lock ID "+id+")")
	e2etest.Contains(t, "apply after the kill", r.Stdout, "Apply complete!")
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")
}

// buildMeshx builds the meshx binary into a temporary directory.
func buildMeshx(t *testing.T) string {
	t.Helper()
	root, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "meshx")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/meshx")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
