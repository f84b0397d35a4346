package planner_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// barrierProvider's Observe returns only once every provider sharing its
// barrier is observing at the same time (or the test's deadline passes).
type barrierProvider struct {
	memProvider
	arrived  *sync.WaitGroup
	all      chan struct{}
	endpoint string
}

func (b *barrierProvider) Observe(ctx context.Context, req providers.ObserveRequest) providers.ObserveResponse {
	b.arrived.Done()
	select {
	case <-b.all:
		return b.memProvider.Observe(ctx, req)
	case <-ctx.Done():
		return providers.ObserveResponse{Err: fmt.Errorf("not everyone observed at once: %w", ctx.Err())}
	}
}

func (b *barrierProvider) Endpoint() string { return b.endpoint }

// TestObserveFiftyTargetsInOneWave: observation only reads, so 50 VMs are
// observed at once, not in waves of apply's -parallelism (10).
func TestObserveFiftyTargetsInOneWave(t *testing.T) {
	const n = 50
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var applied []string
	provs := map[string]providers.Provider{}
	var res []providers.Resource
	for i := range n {
		t := fmt.Sprintf("vm.web%d", i)
		provs[t] = &barrierProvider{memProvider: *newMem(&applied), arrived: &arrived, all: all}
		res = append(res, providers.Resource{Addr: addr(t + ".file[\"/etc/x\"]"), Target: t, Kind: "thing", Render: func(providers.Outputs) (plans.Object, error) { return plans.Object{}, nil }})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	plan, diags := planner.Build(ctx, planner.Input{Environment: "prod", Resources: res, Providers: provs})
	if diags = append(diags, plan.Unreachable...); diags.HasErrors() {
		t.Fatalf("50 targets were not observed in one wave: %s", diags.Error())
	}
}

// TestObserveProgress: while a target does not answer, Progress names it,
// with its endpoint, and how many targets answered.
func TestObserveProgress(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(1)
	stuck := make(chan struct{})
	var applied []string
	provs := map[string]providers.Provider{
		"vm.fast": newMem(&applied),
		"vm.web7": &barrierProvider{memProvider: *newMem(&applied), arrived: &arrived, all: stuck, endpoint: "10.0.0.7:22"},
	}
	render := func(providers.Outputs) (plans.Object, error) { return plans.Object{}, nil }
	res := []providers.Resource{
		{Addr: addr(`vm.fast.file["/etc/x"]`), Target: "vm.fast", Kind: "thing", Render: render},
		{Addr: addr(`vm.web7.file["/etc/x"]`), Target: "vm.web7", Kind: "thing", Render: render},
	}
	got := make(chan planner.ObserveProgress, 100)
	var once sync.Once
	_, _ = planner.Build(context.Background(), planner.Input{Environment: "prod", Resources: res, Providers: provs, ProgressEvery: 10 * time.Millisecond,
		Progress: func(p planner.ObserveProgress) {
			got <- p
			if p.Done == 1 {
				once.Do(func() { close(stuck) })
			}
		}})
	close(got)
	var seen []planner.ObserveProgress
	for p := range got {
		if p.Done == 1 && p.Total == 2 && p.Waiting == "vm.web7 (10.0.0.7:22)" && p.Elapsed > 0 {
			return
		}
		seen = append(seen, p)
	}
	t.Errorf("progress reports %+v, want one with 1/2 done, waiting on vm.web7 (10.0.0.7:22)", seen)
}
