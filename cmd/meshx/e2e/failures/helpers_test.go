package failures

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// plannedRE matches the heading of each change in the text plan.
var plannedRE = regexp.MustCompile(`(?m)^\s*# (\S+) (?:will be|must be)`)

// plannedAddrs lists the addresses a text plan would change.
func plannedAddrs(plan string) []string {
	var out []string
	for _, m := range plannedRE.FindAllStringSubmatch(plan, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// all is a run's stdout and stderr, where diagnostics may land.
func all(r e2etest.Result) string { return r.Stdout + "\n" + r.Stderr }

// noILBs fails if any mesh-expansion load balancer exists on the control
// cluster.
func noILBs(t *testing.T, w *e2etest.World) {
	t.Helper()
	cs, c := w.Client("control"), t.Context()
	for _, n := range [][2]string{{"istio-system", "istio-pilot-ilb"}, {"istio-system", "mixer-ilb"}, {"istio-system", "citadel-ilb"}, {"kube-system", "dns-ilb"}} {
		if _, err := cs.CoreV1().Services(n[0]).Get(c, n[1], e2etest.Get); !apierrors.IsNotFound(err) {
			t.Errorf("Service %s/%s exists (err %v); nothing should have been created", n[0], n[1], err)
		}
	}
}

// vmPathsAbsent fails unless every path is missing on the VM.
func vmPathsAbsent(t *testing.T, w *e2etest.World, vm string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		out := w.VMExec(vm, "sh", "-c", "if test -e '"+p+"'; then echo present; else echo absent; fi")
		if strings.TrimSpace(out) != "absent" {
			t.Errorf("%s: %s exists; nothing should have been written", vm, p)
		}
	}
}
