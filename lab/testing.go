package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// RequiredEnv, set to 1 (as CI does), turns every "lab unavailable" skip
// into a failure.
const RequiredEnv = "MESHX_LAB_REQUIRED"

// KeepEnv, set to 1, leaves the test instance running after the tests and
// lets the next run reuse it (faster edit-test loops; state carries over).
const KeepEnv = "MESHX_LAB_KEEP"

// upTimeout bounds bringing a test instance up (50 VMs take under a
// minute; the margin is for a loaded machine).
const upTimeout = 5 * time.Minute

var testLab struct {
	active bool
	opts   Options
	once   sync.Once
	lab    *Lab
	err    error // ErrUnavailable: skip; other: fail
	unlock func()
	dir    string
}

// RunTests runs the package's tests with the lab instance opts describes
// and returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(lab.RunTests(m, lab.Options{Name: "kubeprov", VMs: 0})) }
//
// The instance comes up the first time a test calls Get (a run that needs
// no lab starts none), fresh unless MESHX_LAB_KEEP=1, and goes down after
// the last test. Give each package its own Name: packages run in parallel.
func RunTests(m *testing.M, opts Options) int {
	testLab.active, testLab.opts = true, opts
	code := m.Run()
	if testLab.unlock != nil {
		if os.Getenv(KeepEnv) != "1" {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			if err := down(ctx, testLab.dir, os.Stderr, true); err != nil {
				fmt.Fprintf(os.Stderr, "lab %s: down: %v\n", testLab.opts.Name, err)
				code = 1
			}
			cancel()
		}
		testLab.unlock()
	}
	return code
}

// Get returns the package's lab instance, bringing it up on first use. It
// skips the test, saying why, when the lab cannot run on this machine (not
// root, no namespaces, binaries not built) unless MESHX_LAB_REQUIRED=1,
// where it fails instead; a lab that fails to come up always fails.
func Get(t testing.TB) *Lab {
	t.Helper()
	if !testLab.active {
		t.Fatal("lab.Get: the package's TestMain must call lab.RunTests")
	}
	testLab.once.Do(bringUp)
	if errors.Is(testLab.err, ErrUnavailable) {
		if os.Getenv(RequiredEnv) == "1" {
			t.Fatalf("lab required (%s=1) but %v", RequiredEnv, testLab.err)
		}
		t.Skipf("skipping: %v", testLab.err)
	}
	if testLab.err != nil {
		t.Fatalf("lab %s did not come up: %v", testLab.opts.Name, testLab.err)
	}
	return testLab.lab
}

func bringUp() {
	o, err := testLab.opts.withDefaults()
	if err != nil {
		testLab.err = err
		return
	}
	if err := preconditions(o); err != nil {
		testLab.err = err
		return
	}
	o.Log = os.Stderr
	unlock, err := lockDir(o.Dir, func() {
		fmt.Fprintf(os.Stderr, "lab %s: waiting for %s, in use by another process\n", o.Name, o.Dir)
	})
	if err != nil {
		testLab.err = err
		return
	}
	testLab.unlock, testLab.dir = unlock, o.Dir
	ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
	defer cancel()
	testLab.lab, testLab.err = up(ctx, o, os.Getenv(KeepEnv) != "1")
}
