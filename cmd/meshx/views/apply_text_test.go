package views

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/providers"
)

// applyRun is a scripted apply of fullPlan: progress with and without a
// message, a no-change completion, a failure (whose error already starts
// with the address, as the executor makes it), a skip of a change and of a
// no-op.
func applyRun(t testing.TB) ([]executor.Event, executor.Result, []providers.OutputValue) {
	pilot := addr(t, `cluster.control.ilb["istio-pilot-ilb"]`)
	ns := addr(t, `cluster.control.namespace["bookinfo"]`)
	pkg := addr(t, `vm.ecs1.package["istio-sidecar"]`)
	kubedns := addr(t, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`)
	unit := addr(t, `vm.ecs1.unit["istio"]`)
	old := addr(t, `vm.old.file["/etc/old.conf"]`)
	events := []executor.Event{
		{Type: executor.Started, Addr: pilot, Action: providers.Create},
		{Type: executor.Started, Addr: pkg, Action: providers.Replace},
		{Type: executor.Started, Addr: old, Action: providers.Delete},
		{Type: executor.Progress, Addr: pilot, Action: providers.Create, Elapsed: 1500 * time.Millisecond, Message: "waiting for a load balancer address"},
		{Type: executor.Completed, Addr: old, Action: providers.Delete, Elapsed: 300 * time.Millisecond},
		{Type: executor.Progress, Addr: pilot, Action: providers.Create, Elapsed: 10*time.Second + 200*time.Millisecond},
		{Type: executor.Completed, Addr: pilot, Action: providers.Create, Elapsed: 12*time.Second + 600*time.Millisecond, Changed: true},
		{Type: executor.Started, Addr: kubedns, Action: providers.Update},
		{Type: executor.Completed, Addr: kubedns, Action: providers.Update, Elapsed: 800 * time.Millisecond, Changed: false},
		{Type: executor.Errored, Addr: pkg, Action: providers.Replace, Elapsed: 61 * time.Second,
			Err: errors.New(`vm.ecs1.package["istio-sidecar"]: dpkg -i /tmp/istio-sidecar.deb: exit status 1: dependency problems`)},
		{Type: executor.Skipped, Addr: unit, Action: providers.Update, Message: `vm.ecs1.package["istio-sidecar"] did not complete`},
		{Type: executor.Skipped, Addr: ns, Action: providers.NoOp, Message: "interrupted"},
	}
	res := executor.Result{
		Added: 1, Destroyed: 1,
		Failed:  []providers.Address{pkg},
		Skipped: []providers.Address{ns, unit},
		Err:     errors.New("1 change failed"),
	}
	outs := []providers.OutputValue{
		{Name: "pilot_ilb", Value: "10.0.0.40"},
		{Name: "ports", Value: []any{int64(15010), int64(15011)}},
		{Name: "labels", Value: map[string]any{"app": "details", "istio.io/rev": "1-0"}},
		{Name: "token", Value: providers.Fingerprint([]byte("tok")), Sensitive: true},
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
		{executor.Result{Added: 1, Failed: []providers.Address{{Block: "vm", Name: "a"}}, Err: errors.New("x")}, false,
			"Apply failed! Resources: 1 added, 0 changed, 0 destroyed; 1 failed."},
		{executor.Result{Added: 1, Interrupted: true, Err: errors.New("interrupted")}, false,
			"Apply interrupted! Resources: 1 added, 0 changed, 0 destroyed before it stopped."},
	} {
		if got := ResultLine(tc.res, tc.destroy); got != tc.want {
			t.Errorf("ResultLine(%+v) = %q, want %q", tc.res, got, tc.want)
		}
	}
}
