package planner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Input is what the engine plans: instances already expanded from
// configuration, and a provider per target.
type Input struct {
	Environment string
	Resources   []providers.Resource
	Providers   map[string]providers.Provider
	// Ranges locate each instance's configuration block, for diagnostics.
	Ranges map[plans.Address]hcl.Range
	// Parallelism bounds concurrent observations (default
	// DefaultObserveParallelism).
	Parallelism int
	// Progress, when set, is called every ProgressEvery (default 5s) while
	// observation lasts, so a slow or silent target is visible.
	Progress      func(ObserveProgress)
	ProgressEvery time.Duration
	// Destroy plans the removal of everything the environment owns.
	Destroy bool
	// Targets, when set, limit the plan to these instances (partial
	// addresses allowed) and everything they depend on.
	Targets []plans.Address

	// inventory, set by Make, is kept right as targets are observed and
	// deletes planned (see inventory.go).
	inventory *inventory
}

// DefaultObserveParallelism bounds concurrent observations when
// Input.Parallelism is 0. Observing only reads, so the bound is higher
// than the executor's 10 for changes: 50 VMs are observed in one wave.
const DefaultObserveParallelism = 64

// ObserveProgress is a snapshot of a long observation.
type ObserveProgress struct {
	// Done of Total targets have answered.
	Done, Total int
	// Waiting is the target that has been observed longest without an
	// answer, with its endpoint when the provider names one
	// ("vm.web7 (10.0.0.7:22)"), and Elapsed how long it has been.
	Waiting string
	Elapsed time.Duration
}

// Build observes every target, diffs, and returns the plan. Targets that
// cannot be observed are left out, listed in the plan's Unobserved and
// reported in its Unreachable, not among the diagnostics returned: the
// other targets are still planned, so one unreachable VM does not hide
// the rest, and the caller decides whether that partial plan will do.
func Build(ctx context.Context, in Input) (*Plan, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	res, d := selectTargets(in.Resources, in.Targets, in.Destroy)
	diags = append(diags, d...)
	byAddr := make(map[plans.Address]*providers.Resource, len(res))
	for i := range res {
		r := &res[i]
		if _, dup := byAddr[r.Addr]; dup {
			diags = append(diags, internalDiag(fmt.Sprintf("%s is declared twice", r.Addr)))
			continue
		}
		byAddr[r.Addr] = r
	}
	declared := make(map[plans.Address]bool, len(in.Resources))
	for _, r := range in.Resources {
		declared[r.Addr] = true
	}
	order, err := topoOrder(res, byAddr, declared)
	if err != nil {
		return nil, append(diags, internalDiag(err.Error()))
	}

	obs, orphans, unreachable := observeAll(ctx, in, res)
	if in.inventory != nil {
		in.inventory.observed(unreachable)
	}

	plan := &Plan{
		Plan:      &plans.Plan{Environment: in.Environment, Destroy: in.Destroy},
		Resources: byAddr,
		Observed:  obs,
		Providers: in.Providers,
	}
	known := &planOutputs{values: map[plans.Address]plans.Object{}}
	changes := map[plans.Address]plans.Change{}
	// Instances on a target that could not be observed are left out, and
	// so is everything that depends on one: applying it would take the
	// unobserved instance as already in place.
	left := map[plans.Address]bool{}
	for _, r := range order {
		if _, failed := unreachable[r.Target]; failed || dependsOnAny(r.DependsOn, left) {
			left[r.Addr] = true
			continue
		}
		o := obs[r.Addr]
		var c plans.Change
		var cd hcl.Diagnostics
		if in.Destroy {
			c = destroyChange(r, o)
		} else {
			c, cd = diffResource(r, o, known, changes)
			for i := range cd {
				if rng, ok := in.Ranges[r.Addr]; ok && cd[i].Subject == nil {
					rr := rng
					cd[i].Subject = &rr
				}
			}
			diags = append(diags, cd...)
		}
		c.DependsOn = sortedAddrs(r.DependsOn)
		c.Kind, c.Target = r.Kind, r.Target
		changes[r.Addr] = c
		known.values[r.Addr] = plannedOutputs(r, o, c)
	}
	if in.Destroy {
		reverseDependencies(changes)
	}
	for _, o := range orphans {
		if _, declared := byAddr[o.Addr]; declared {
			continue
		}
		// With -target only the targeted instances were observed, so every
		// other owned instance comes back as an orphan: delete only those a
		// target names.
		if len(in.Targets) > 0 && !targeted(in.Targets, o.Addr) {
			continue
		}
		obs[o.Addr] = o
		c := orphanChange(o)
		c.Kind, c.Target = o.Kind, o.Target
		changes[o.Addr] = c
	}
	if in.inventory != nil {
		in.inventory.order(changes, in.Destroy, len(in.Targets) > 0)
	}
	if len(in.Targets) > 0 && len(unreachable) == 0 {
		diags = append(diags, unmatchedTargets(in.Targets, in.Resources, changes)...)
	}
	for _, t := range in.Targets {
		plan.Targets = append(plan.Targets, t.String())
	}
	plan.Unobserved = slices.Sorted(maps.Keys(unreachable))
	for _, t := range plan.Unobserved {
		plan.Unreachable = append(plan.Unreachable, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot observe " + t,
			Detail:   fmt.Sprintf("%v\n\nNothing on %s is planned; the other targets are. Fix the connection and plan again.", unreachable[t], t),
		})
	}
	orderDeletes(changes, plan)
	plan.Changes = make([]plans.Change, 0, len(changes))
	for _, c := range changes {
		plan.Changes = append(plan.Changes, c)
	}
	sort.Slice(plan.Changes, func(i, j int) bool { return plan.Changes[i].Addr.Less(plan.Changes[j].Addr) })
	return plan, diags
}

// targetsUndeclared reports whether some target names no declared
// instance: it may name one removed from configuration.
func targetsUndeclared(targets []plans.Address, all []providers.Resource) bool {
	for _, t := range targets {
		found := false
		for _, r := range all {
			if t.Contains(r.Addr) {
				found = true
				break
			}
		}
		if !found {
			return true
		}
	}
	return false
}

func targeted(targets []plans.Address, a plans.Address) bool {
	for _, t := range targets {
		if t.Contains(a) {
			return true
		}
	}
	return false
}

func dependsOnAny(deps []plans.Address, set map[plans.Address]bool) bool {
	for _, d := range deps {
		if set[d] {
			return true
		}
	}
	return false
}

func internalDiag(msg string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid plan", Detail: msg}
}

// selectTargets keeps the instances named by targets and, transitively,
// everything they depend on; for destroy, everything that depends on them
// instead (removing a VM must not remove the load balancers it uses, and
// removing a namespace removes what is in it first).
func selectTargets(all []providers.Resource, targets []plans.Address, destroy bool) ([]providers.Resource, hcl.Diagnostics) {
	if len(targets) == 0 {
		return all, nil
	}
	next := map[plans.Address][]plans.Address{}
	for _, r := range all {
		if destroy {
			for _, d := range r.DependsOn {
				next[d] = append(next[d], r.Addr)
			}
		} else {
			next[r.Addr] = r.DependsOn
		}
	}
	keep := map[plans.Address]bool{}
	var visit func(a plans.Address)
	visit = func(a plans.Address) {
		if keep[a] {
			return
		}
		keep[a] = true
		for _, d := range next[a] {
			visit(d)
		}
	}
	for _, t := range targets {
		for _, r := range all {
			if t.Contains(r.Addr) {
				visit(r.Addr)
			}
		}
	}
	var out []providers.Resource
	for _, r := range all {
		if keep[r.Addr] {
			out = append(out, r)
		}
	}
	return out, nil
}

// unmatchedTargets reports targets that name neither a declared instance
// nor an owned one removed from configuration.
func unmatchedTargets(targets []plans.Address, all []providers.Resource, changes map[plans.Address]plans.Change) hcl.Diagnostics {
	blocks, addrs := map[string]bool{}, map[string]bool{}
	for _, r := range all {
		typ := r.Addr
		typ.Key = ""
		blocks[r.Addr.Target()], addrs[typ.String()], addrs[r.Addr.String()] = true, true, true
	}
	var diags hcl.Diagnostics
	for _, t := range targets {
		matched := false
		for a := range changes {
			if t.Contains(a) {
				matched = true
				break
			}
		}
		if !matched {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Target matches nothing",
				Detail:   fmt.Sprintf("-target=%s names no instance of this configuration and nothing this environment owns.%s", t, targetSuggestion(t, slices.Sorted(maps.Keys(blocks)), slices.Sorted(maps.Keys(addrs)))),
			})
		}
	}
	return diags
}

// topoOrder returns the instances so that each comes after everything it
// depends on, ties broken by address so the order is deterministic.
// A dependency outside res (left out by -target) is not waited for; one the
// configuration does not declare at all is an error.
func topoOrder(res []providers.Resource, byAddr map[plans.Address]*providers.Resource, declared map[plans.Address]bool) ([]*providers.Resource, error) {
	indeg := map[plans.Address]int{}
	users := map[plans.Address][]plans.Address{}
	for _, r := range res {
		indeg[r.Addr] += 0
		for _, d := range r.DependsOn {
			if _, ok := byAddr[d]; !ok {
				if declared[d] {
					continue
				}
				return nil, fmt.Errorf("%s depends on %s, which the configuration does not declare", r.Addr, d)
			}
			indeg[r.Addr]++
			users[d] = append(users[d], r.Addr)
		}
	}
	var ready []plans.Address
	for a, n := range indeg {
		if n == 0 {
			ready = append(ready, a)
		}
	}
	var out []*providers.Resource
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return ready[i].Less(ready[j]) })
		a := ready[0]
		ready = ready[1:]
		out = append(out, byAddr[a])
		for _, u := range users[a] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(out) != len(indeg) {
		var stuck []string
		for a, n := range indeg {
			if n > 0 {
				stuck = append(stuck, a.String())
			}
		}
		sort.Strings(stuck)
		return nil, fmt.Errorf("dependency cycle among %s", strings.Join(stuck, ", "))
	}
	return out, nil
}

// observeAll asks every target's provider for its instances, at most
// Parallelism targets at a time. unreachable holds why each target that
// could not be observed failed.
func observeAll(ctx context.Context, in Input, res []providers.Resource) (obs map[plans.Address]providers.Observed, orphans []providers.Observed, unreachable map[string]error) {
	byTarget := map[string][]providers.Resource{}
	for _, r := range res {
		byTarget[r.Target] = append(byTarget[r.Target], r)
	}
	// Targets with providers but no declared instances are observed too,
	// so instances removed from configuration are found and deleted;
	// with -target, only when a target may name such an instance.
	if len(in.Targets) == 0 || targetsUndeclared(in.Targets, in.Resources) {
		for t := range in.Providers {
			if _, ok := byTarget[t]; !ok {
				byTarget[t] = nil
			}
		}
	}
	targets := make([]string, 0, len(byTarget))
	for t := range byTarget {
		targets = append(targets, t)
	}
	sort.Strings(targets)

	par := in.Parallelism
	if par <= 0 {
		par = DefaultObserveParallelism
	}
	sem := make(chan struct{}, par)
	resps := make([]providers.ObserveResponse, len(targets))
	prog := newProgress(len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		p := in.Providers[t]
		if p == nil {
			resps[i] = providers.ObserveResponse{Err: fmt.Errorf("no provider is configured for %s", t)}
			prog.finish(t)
			continue
		}
		wg.Add(1)
		go func(i int, t string, p providers.Provider, rs []providers.Resource) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			prog.start(t, p)
			resps[i] = p.Observe(ctx, providers.ObserveRequest{Environment: in.Environment, Resources: rs})
			prog.finish(t)
		}(i, t, p, byTarget[t])
	}
	if in.Progress != nil {
		stop := prog.report(in.Progress, in.ProgressEvery)
		wg.Wait()
		stop()
	} else {
		wg.Wait()
	}

	obs = map[plans.Address]providers.Observed{}
	unreachable = map[string]error{}
	for i, t := range targets {
		r := resps[i]
		if r.Err != nil {
			unreachable[t] = r.Err
			continue
		}
		for _, rs := range byTarget[t] {
			o, ok := r.Objects[rs.Addr]
			if !ok {
				o = providers.Observed{Addr: rs.Addr, Kind: rs.Kind}
			}
			o.Target = t
			obs[rs.Addr] = o
		}
		for _, o := range r.Orphans {
			o.Target = t
			orphans = append(orphans, o)
		}
	}
	return obs, orphans, unreachable
}

// progress tracks which targets are being observed, for Input.Progress.
type progress struct {
	mu      sync.Mutex
	total   int
	done    int
	started map[string]time.Time
	names   map[string]string
}

func newProgress(total int) *progress {
	return &progress{total: total, started: map[string]time.Time{}, names: map[string]string{}}
}

func (pr *progress) start(t string, p providers.Provider) {
	name := t
	if e, ok := p.(providers.Endpointer); ok && e.Endpoint() != "" {
		name = fmt.Sprintf("%s (%s)", t, e.Endpoint())
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.started[t], pr.names[t] = time.Now(), name
}

func (pr *progress) finish(t string) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	delete(pr.started, t)
	pr.done++
}

func (pr *progress) snapshot() ObserveProgress {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	s := ObserveProgress{Done: pr.done, Total: pr.total}
	var oldest string
	for t, at := range pr.started {
		if oldest == "" || at.Before(pr.started[oldest]) || (at.Equal(pr.started[oldest]) && t < oldest) {
			oldest = t
		}
	}
	if oldest != "" {
		s.Waiting, s.Elapsed = pr.names[oldest], time.Since(pr.started[oldest])
	}
	return s
}

// report calls f every interval (default 5s) until stop is called.
func (pr *progress) report(f func(ObserveProgress), every time.Duration) (stop func()) {
	if every <= 0 {
		every = 5 * time.Second
	}
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				f(pr.snapshot())
			}
		}
	}()
	return func() { close(quit); <-exited }
}

func sortedAddrs(in []plans.Address) []plans.Address {
	if len(in) == 0 {
		return nil
	}
	out := append([]plans.Address(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	k := 0
	for i := range out {
		if i == 0 || out[i] != out[k-1] {
			out[k] = out[i]
			k++
		}
	}
	return out[:k]
}
