package executor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// EventType says what happened to an instance.
type EventType int

const (
	// Started: the provider was asked to apply the change.
	Started EventType = iota
	// Progress: still running; Message says what it waits for.
	Progress
	// Completed: the change is done.
	Completed
	// Errored: the change failed.
	Errored
	// Skipped: not attempted because something it depends on failed or the
	// run was interrupted.
	Skipped
)

// Event reports one step of an apply.
type Event struct {
	Type    EventType
	Addr    plans.Address
	Action  plans.Action
	Elapsed time.Duration
	// Message is a progress note, or the reason for a skip.
	Message string
	// Changed is set on Completed when the provider modified something.
	Changed bool
	Err     error
}

// Options tune a run.
type Options struct {
	// Parallelism bounds concurrent changes (default 10).
	Parallelism int
	// Events receives every event; it is called from several goroutines,
	// one call at a time.
	Events func(Event)
	// ProgressEvery is how often a running change reports its elapsed time
	// (default 10 s).
	ProgressEvery time.Duration
	// Now is the clock (for tests); default time.Now.
	Now func() time.Time
}

// Result is the outcome of a run.
type Result struct {
	// Outputs of every instance that completed (or was already in place).
	Outputs map[plans.Address]plans.Object
	// Added, Changed and Destroyed count completed changes, as Terraform's
	// "Apply complete!" line does.
	Added, Changed, Destroyed int
	// Failed lists the instances that errored; Skipped those not attempted.
	Failed, Skipped []plans.Address
	// Err collects every error (a *multierror.Error), nil on success.
	Err error
	// Interrupted is set when the context was cancelled before the end;
	// Err then gives the context's cause (a lost lock) or "interrupted".
	Interrupted bool
	// LeftOut names targets the plan could not observe and so left out of
	// the run; the caller sets it, so views can say the run is incomplete.
	LeftOut []string
}

type node struct {
	change plans.Change
	done   chan struct{}
	ok     bool
	// changed is whether applying modified anything; dependants with
	// Triggers restart only then.
	changed bool
	outputs plans.Object
}

// Apply carries out plan. It returns when every change has completed,
// failed or been skipped.
func Apply(ctx context.Context, plan *planner.Plan, opts Options) Result {
	if opts.Parallelism <= 0 {
		opts.Parallelism = 10
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var emitMu sync.Mutex
	emit := func(e Event) {
		if opts.Events == nil {
			return
		}
		emitMu.Lock()
		defer emitMu.Unlock()
		opts.Events(e)
	}

	nodes := make(map[plans.Address]*node, len(plan.Changes))
	for _, c := range plan.Changes {
		nodes[c.Addr] = &node{change: c, done: make(chan struct{})}
	}
	e := &run{plan: plan, opts: opts, emit: emit, nodes: nodes, sem: make(chan struct{}, opts.Parallelism)}

	var wg sync.WaitGroup
	if plan.Record != nil {
		e.record = &node{change: plan.Record.Change, done: make(chan struct{})}
		wg.Go(func() {
			defer close(e.record.done)
			e.visitRecord(ctx)
		})
	}
	for _, n := range nodes {
		wg.Add(1)
		go func(n *node) {
			defer wg.Done()
			defer close(n.done)
			e.visit(ctx, n)
		}(n)
	}
	wg.Wait()

	res := Result{Outputs: map[plans.Address]plans.Object{}}
	var errs *multierror.Error
	addrs := make([]plans.Address, 0, len(nodes))
	for a := range nodes {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	for _, a := range addrs {
		n := nodes[a]
		if e.record != nil && a == e.record.change.Addr && n.ok {
			// The inventory's own change may find it as the record left it.
			n.changed = n.changed || e.record.changed
		}
		switch {
		case n.ok:
			res.Outputs[a] = n.outputs
			if n.changed || n.change.Action == plans.Delete {
				switch n.change.Action {
				case plans.Create:
					res.Added++
				case plans.Update:
					res.Changed++
				case plans.Delete:
					res.Destroyed++
				case plans.Replace:
					res.Added++
					res.Destroyed++
				}
			}
		case e.errs[a] != nil:
			res.Failed = append(res.Failed, a)
			errs = multierror.Append(errs, e.errs[a])
		default:
			res.Skipped = append(res.Skipped, a)
		}
	}
	res.Interrupted = ctx.Err() != nil
	if errs != nil {
		errs.ErrorFormat = listErrors
		res.Err = errs
	} else if res.Interrupted {
		res.Err = fmt.Errorf("%s: %d changes were not started", stopReason(ctx), len(res.Skipped))
	}
	return res
}

// stopReason says why ctx stopped the run: the cause it was cancelled
// with (a lost lock), else "interrupted" (a signal).
func stopReason(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c.Error()
	}
	return "interrupted"
}

func listErrors(es []error) string {
	if len(es) == 1 {
		return es[0].Error()
	}
	s := fmt.Sprintf("%d changes failed:", len(es))
	for _, e := range es {
		s += "\n  * " + e.Error()
	}
	return s
}

type run struct {
	plan  *planner.Plan
	opts  Options
	emit  func(Event)
	nodes map[plans.Address]*node
	sem   chan struct{}
	// record is the node of the plan's Record, if it has one.
	record *node

	mu   sync.Mutex
	errs map[plans.Address]error
}

func (e *run) fail(a plans.Address, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.errs == nil {
		e.errs = map[plans.Address]error{}
	}
	e.errs[a] = err
}

// visit waits for n's dependencies, then applies n unless one failed.
// visitRecord writes the inventory's Record once its namespace is in
// place. A failure fails the inventory's change: nothing on the VMs and
// remote clusters starts (visit).
func (e *run) visitRecord(ctx context.Context) {
	n := e.record
	for _, d := range n.change.DependsOn {
		if dep, ok := e.nodes[d]; ok {
			if <-dep.done; !dep.ok {
				return
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	r := e.plan.Record.Resource
	c := n.change
	fail := func(err error) {
		e.fail(c.Addr, fmt.Errorf("%s: record the targets in the inventory before acting on them: %w", c.Addr, err))
	}
	desired, err := r.Render(applyOutputs{e.nodes})
	if err != nil {
		fail(err)
		return
	}
	p := e.plan.Providers[r.Target]
	if p == nil {
		fail(fmt.Errorf("no provider for %s", r.Target))
		return
	}
	resp := p.Apply(context.WithoutCancel(ctx), providers.ApplyRequest{
		Environment: e.plan.Environment, Resource: &r, Change: c, Desired: desired, Observed: e.plan.Observed[c.Addr],
	})
	if resp.Err != nil {
		fail(resp.Err)
		return
	}
	n.changed, n.ok = resp.Changed, true
}

func (e *run) visit(ctx context.Context, n *node) {
	c := n.change
	if e.record != nil && e.plan.Record.Before[c.Addr] {
		if <-e.record.done; !e.record.ok {
			e.emit(Event{Type: Skipped, Addr: c.Addr, Action: c.Action, Message: "the inventory could not record its target"})
			return
		}
	}
	for _, d := range c.DependsOn {
		dep, ok := e.nodes[d]
		if !ok {
			continue // outside the plan (-target): already in place
		}
		<-dep.done
		if !dep.ok {
			e.emit(Event{Type: Skipped, Addr: c.Addr, Action: c.Action, Message: fmt.Sprintf("%s did not complete", d)})
			return
		}
	}
	if c.Action == plans.NoOp {
		n.outputs = e.plan.Observed[c.Addr].Outputs
		n.ok = true
		return
	}
	if ctx.Err() != nil {
		e.emit(Event{Type: Skipped, Addr: c.Addr, Action: c.Action, Message: stopReason(ctx)})
		return
	}
	e.sem <- struct{}{}
	defer func() { <-e.sem }()
	if ctx.Err() != nil {
		e.emit(Event{Type: Skipped, Addr: c.Addr, Action: c.Action, Message: stopReason(ctx)})
		return
	}
	start := e.opts.Now()
	e.emit(Event{Type: Started, Addr: c.Addr, Action: c.Action})
	resp, err := e.apply(context.WithoutCancel(ctx), n, start)
	elapsed := e.opts.Now().Sub(start)
	if err != nil {
		e.fail(c.Addr, err)
		e.emit(Event{Type: Errored, Addr: c.Addr, Action: c.Action, Elapsed: elapsed, Err: err})
		return
	}
	n.outputs, n.changed, n.ok = resp.Outputs, resp.Changed, true
	e.emit(Event{Type: Completed, Addr: c.Addr, Action: c.Action, Elapsed: elapsed, Changed: resp.Changed})
}

// applyOutputs answers Render at apply time from completed dependencies.
type applyOutputs struct{ nodes map[plans.Address]*node }

func (o applyOutputs) Output(addr plans.Address, name string) (any, bool) {
	n, ok := o.nodes[addr]
	if !ok {
		return nil, false
	}
	select {
	case <-n.done:
	default:
		return plans.Unknown, true // not a dependency of the caller: a planner bug
	}
	if v, ok := n.outputs[name]; ok {
		return v, true
	}
	return plans.Unknown, true
}

func (e *run) apply(ctx context.Context, n *node, start time.Time) (providers.ApplyResponse, error) {
	c := n.change
	r := e.plan.Resources[c.Addr]
	obs := e.plan.Observed[c.Addr]
	target := obs.Target
	if r != nil {
		target = r.Target
	}
	p := e.plan.Providers[target]
	if p == nil {
		return providers.ApplyResponse{}, fmt.Errorf("%s: no provider for %s", c.Addr, target)
	}
	req := providers.ApplyRequest{
		Environment: e.plan.Environment,
		Resource:    r,
		Change:      c,
		Observed:    obs,
	}
	if r != nil && c.Action != plans.Delete {
		desired, err := r.Render(applyOutputs{e.nodes})
		if err != nil {
			return providers.ApplyResponse{}, fmt.Errorf("%s: render: %w", c.Addr, err)
		}
		if plans.HasUnknown(desired) {
			return providers.ApplyResponse{}, fmt.Errorf("%s: a value is still unknown after its dependencies were applied", c.Addr)
		}
		req.Desired = desired
		for _, t := range r.Triggers {
			if tn, ok := e.nodes[t]; ok && tn.changed {
				req.Triggered = append(req.Triggered, t)
			}
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(e.opts.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				e.emit(Event{Type: Progress, Addr: c.Addr, Action: c.Action, Elapsed: e.opts.Now().Sub(start)})
			}
		}
	}()
	req.Progress = func(msg string) {
		e.emit(Event{Type: Progress, Addr: c.Addr, Action: c.Action, Elapsed: e.opts.Now().Sub(start), Message: msg})
	}
	resp := p.Apply(ctx, req)
	if resp.Err != nil {
		err := resp.Err
		if !strings.HasPrefix(err.Error(), c.Addr.String()) {
			err = fmt.Errorf("%s: %w", c.Addr, err)
		}
		return resp, err
	}
	return resp, nil
}
