package vm

import (
	"context"
	"testing"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// fixedOutputs answers Render from a map; a missing output is Unknown.
type fixedOutputs map[plans.Address]plans.Object

func (f fixedOutputs) Output(a plans.Address, name string) (any, bool) {
	o, ok := f[a]
	if !ok {
		return nil, false
	}
	if v, ok := o[name]; ok {
		return v, true
	}
	return plans.Unknown, true
}

// converge does what plan+apply do for one VM, in the order given: observe
// everything, diff each resource's desired attributes against the live
// ones, apply what differs (restarting units whose triggers changed) and
// delete the orphans. It returns the action taken per address.
func converge(t testing.TB, ctx context.Context, p *Provider, env string, rs []providers.Resource) map[plans.Address]plans.Action {
	t.Helper()
	resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs})
	if resp.Err != nil {
		t.Fatalf("observe: %v", resp.Err)
	}
	actions := map[plans.Address]plans.Action{}
	for i := range rs {
		r := &rs[i]
		o := resp.Objects[r.Addr]
		desired, err := r.Render(fixedOutputs{})
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		action := plans.NoOp
		if !o.Exists {
			action = plans.Create
		} else {
			for k, v := range desired {
				if !plans.Equal(v, o.Object[k]) {
					action = plans.Update
				}
			}
		}
		if o.Exists && o.Renew != "" {
			action = plans.Update
		}
		var triggered []plans.Address
		for _, tr := range r.Triggers {
			if actions[tr] != plans.NoOp {
				triggered = append(triggered, tr)
			}
		}
		if action == plans.NoOp && len(triggered) > 0 {
			action = plans.Update
		}
		actions[r.Addr] = action
		if action == plans.NoOp {
			continue
		}
		ar := p.Apply(ctx, providers.ApplyRequest{
			Environment: env, Resource: r, Desired: desired, Observed: o, Triggered: triggered,
			Change: plans.Change{Addr: r.Addr, Action: action},
		})
		if ar.Err != nil {
			t.Fatalf("apply %s %s: %v", action, r.Addr, ar.Err)
		}
	}
	for _, o := range resp.Orphans {
		actions[o.Addr] = plans.Delete
		ar := p.Apply(ctx, providers.ApplyRequest{
			Environment: env, Observed: o,
			Change: plans.Change{Addr: o.Addr, Action: plans.Delete},
		})
		if ar.Err != nil {
			t.Fatalf("delete %s: %v", o.Addr, ar.Err)
		}
	}
	return actions
}

// destroy deletes every instance the environment owns on p.
func destroy(t testing.TB, ctx context.Context, p *Provider, env string, rs []providers.Resource) {
	t.Helper()
	resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs})
	if resp.Err != nil {
		t.Fatalf("observe: %v", resp.Err)
	}
	// Units first, packages last, as the planner orders deletes.
	rank := map[string]int{KindUnit: 0, KindFile: 1, KindEnv: 1, KindLine: 1, KindPackage: 2}
	var owned []providers.Observed
	for _, o := range resp.Objects {
		if o.Owned {
			owned = append(owned, o)
		}
	}
	owned = append(owned, resp.Orphans...)
	for r := 0; r <= 2; r++ {
		for _, o := range owned {
			if rank[o.Kind] != r {
				continue
			}
			ar := p.Apply(ctx, providers.ApplyRequest{
				Environment: env, Observed: o,
				Change: plans.Change{Addr: o.Addr, Action: plans.Delete},
			})
			if ar.Err != nil {
				t.Fatalf("delete %s: %v", o.Addr, ar.Err)
			}
		}
	}
}

func text(s string) FileContent {
	return func(providers.Outputs) (any, error) { return s, nil }
}

func countActions(actions map[plans.Address]plans.Action) map[plans.Action]int {
	out := map[plans.Action]int{}
	for _, a := range actions {
		out[a]++
	}
	return out
}
