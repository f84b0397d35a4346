package executor

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// gateProvider blocks Apply of one instance until released, so a test can
// interrupt a run while that step is in flight.
type gateProvider struct {
	mu       sync.Mutex
	started  chan struct{}
	release  chan struct{}
	gated    plans.Address
	finished []plans.Address
}

func (g *gateProvider) Observe(context.Context, providers.ObserveRequest) providers.ObserveResponse {
	return providers.ObserveResponse{}
}

func (g *gateProvider) Apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	if req.Change.Addr == g.gated {
		close(g.started)
		<-g.release
		if ctx.Err() != nil {
			return providers.ApplyResponse{Err: ctx.Err()} // a running step must not see the cancel
		}
	}
	g.mu.Lock()
	g.finished = append(g.finished, req.Change.Addr)
	g.mu.Unlock()
	return providers.ApplyResponse{Changed: true}
}

func (g *gateProvider) Close() error { return nil }

// gatedPlan is a plan of two steps, the second depending on the first,
// whose first step blocks in g until released.
func gatedPlan() (*planner.Plan, *gateProvider) {
	first := plans.Address{Block: "vm", Name: "a", Type: "file", Key: "/first"}
	second := plans.Address{Block: "vm", Name: "a", Type: "unit", Key: "after"}
	g := &gateProvider{started: make(chan struct{}), release: make(chan struct{}), gated: first}
	render := func(providers.Outputs) (plans.Object, error) { return plans.Object{}, nil }
	plan := &planner.Plan{
		Plan: &plans.Plan{Changes: []plans.Change{
			{Addr: first, Action: plans.Create},
			{Addr: second, Action: plans.Create, DependsOn: []plans.Address{first}},
		}},
		Resources: map[plans.Address]*providers.Resource{
			first:  {Addr: first, Target: "vm.a", Render: render},
			second: {Addr: second, Target: "vm.a", Render: render, DependsOn: []plans.Address{first}},
		},
		Providers: map[string]providers.Provider{"vm.a": g},
	}
	return plan, g
}

func TestInterruptLetsRunningStepsFinish(t *testing.T) {
	plan, g := gatedPlan()
	first, second := plan.Changes[0].Addr, plan.Changes[1].Addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result)
	go func() { done <- Apply(ctx, plan, Options{}) }()
	<-g.started
	cancel() // SIGINT while the first step runs
	close(g.release)
	res := <-done

	if len(g.finished) != 1 || g.finished[0] != first {
		t.Errorf("finished %v, want only the step that was running", g.finished)
	}
	if !res.Interrupted || res.Err == nil {
		t.Errorf("result = %+v, want interrupted with an error", res)
	}
	if len(res.Skipped) != 1 || res.Skipped[0] != second || res.Added != 1 {
		t.Errorf("skipped %v added %d, want the dependent step skipped and one added", res.Skipped, res.Added)
	}
}

// TestLostLockStopsNewSteps: a run whose context is cancelled with a cause
// (the CLI's lost lock) lets the running step finish, starts no other, and
// names the cause in the skipped step and the result.
func TestLostLockStopsNewSteps(t *testing.T) {
	plan, g := gatedPlan()
	first, second := plan.Changes[0].Addr, plan.Changes[1].Addr
	lost := errors.New("lost the lock (Lease istio-system/meshx-lock-prod): someone deleted the Lease")
	ctx, cancel := context.WithCancelCause(context.Background())
	var mu sync.Mutex
	var skipped []Event
	done := make(chan Result)
	go func() {
		done <- Apply(ctx, plan, Options{Events: func(e Event) {
			if e.Type == Skipped {
				mu.Lock()
				skipped = append(skipped, e)
				mu.Unlock()
			}
		}})
	}()
	<-g.started
	cancel(lost)
	close(g.release)
	res := <-done

	if len(g.finished) != 1 || g.finished[0] != first {
		t.Errorf("finished %v, want only the step that was running", g.finished)
	}
	if len(skipped) != 1 || skipped[0].Addr != second || skipped[0].Message != lost.Error() {
		t.Errorf("skipped events %+v, want %s skipped because %q", skipped, second, lost)
	}
	if want := lost.Error() + ": 1 changes were not started"; res.Err == nil || res.Err.Error() != want {
		t.Errorf("result error %v, want %q", res.Err, want)
	}
}
