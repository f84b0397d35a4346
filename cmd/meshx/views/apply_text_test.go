package views

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/plans"
)

// applyRun is a scripted apply of fullPlan: progress with and without a
// message, a no-change completion, a failure (whose error already starts
// with the address, as the executor makes it), a skip of a change and of a
// no-op.
func applyRun(t testing.TB) ([]executor.Event, executor.Result, []plans.OutputValue) {
	pilot := addr(t, `cluster.control.ilb["istio-pilot-ilb"]`)
	ns := addr(t, `cluster.control.namespace["bookinfo"]`)
	pkg := addr(t, `vm.ecs1.package["istio-sidecar"]`)
	kubedns := addr(t, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`)
	unit := addr(t, `vm.ecs1.unit["istio"]`)
	old := addr(t, `vm.old.file["/etc/old.conf"]`)
	events := []executor.Event{
		{Type: executor.Started, Addr: pilot, Action: plans.Create},
		{Type: executor.Started, Addr: pkg, Action: plans.Replace},
		{Type: executor.Started, Addr: old, Action: plans.Delete},
		{Type: executor.Progress, Addr: pilot, Action: plans.Create, Elapsed: 1500 * time.Millisecond, Message: "waiting for a load balancer address"},
		{Type: executor.Completed, Addr: old, Action: plans.Delete, Elapsed: 300 * time.Millisecond},
		{Type: executor.Progress, Addr: pilot, Action: plans.Create, Elapsed: 10*time.Second + 200*time.Millisecond},
		{Type: executor.Completed, Addr: pilot, Action: plans.Create, Elapsed: 12*time.Second + 600*time.Millisecond, Changed: true},
		{Type: executor.Started, Addr: kubedns, Action: plans.Update},
		{Type: executor.Completed, Addr: kubedns, Action: plans.Update, Elapsed: 800 * time.Millisecond, Changed: false},
		{Type: executor.Errored, Addr: pkg, Action: plans.Replace, Elapsed: 61 * time.Second,
			Err: errors.New(`vm.ecs1.package["istio-sidecar"]: dpkg -i /tmp/istio-sidecar.deb: exit status 1: dependency problems`)},
		{Type: executor.Skipped, Addr: unit, Action: plans.Update, Message: `vm.ecs1.package["istio-sidecar"] did not complete`},
		{Type: executor.Skipped, Addr: ns, Action: plans.NoOp, Message: "interrupted"},
	}
	res := executor.Result{
		Added: 1, Destroyed: 1,
		Failed:  []plans.Address{pkg},
		Skipped: []plans.Address{ns, unit},
		Err:     errors.New("1 change failed"),
	}
	outs := []plans.OutputValue{
		{Name: "pilot_ilb", Value: "10.0.0.40"},
		{Name: "ports", Value: []any{int64(15010), int64(15011)}},
		{Name: "labels", Value: map[string]any{"app": "details", "istio.io/rev": "1-0"}},
		{Name: "token", Value: plans.Fingerprint([]byte("tok")), Sensitive: true},
	}
	return events, res, outs
}

func TestApplyTextGolden(t *testing.T) {
	events, res, outs := applyRun(t)
	var b strings.Builder
	v := NewApplyText(&b, ApplyOptions{})
	for _, e := range events {
		v.Event(e)
	}
	v.Result(res, false)
	v.Outputs(outs)
	golden(t, "apply.txt", b.String())
}

func TestResultLine(t *testing.T) {
	for _, tc := range []struct {
		res     executor.Result
		destroy bool
		want    string
	}{
		{executor.Result{Added: 2, Changed: 1, Destroyed: 3}, false, "Apply complete! Resources: 2 added, 1 changed, 3 destroyed."},
		{executor.Result{Destroyed: 3}, true, "Destroy complete! Resources: 3 destroyed."},
		{executor.Result{Added: 1, Failed: []plans.Address{{Block: "vm", Name: "a"}}, Err: errors.New("x")}, false,
			"Apply failed! Resources: 1 added, 0 changed, 0 destroyed; 1 failed."},
		{executor.Result{Added: 1, Interrupted: true, Err: errors.New("interrupted")}, false,
			"Apply interrupted! Resources: 1 added, 0 changed, 0 destroyed before it stopped."},
	} {
		if got := ResultLine(tc.res, tc.destroy); got != tc.want {
			t.Errorf("ResultLine(%+v) = %q, want %q", tc.res, got, tc.want)
		}
	}
}
