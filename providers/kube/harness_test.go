package kube

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "kubeprov", VMs: 0}))
}

// runID tells this run's objects from those of earlier runs on a kept lab
// (MESHX_LAB_KEEP=1).
var runID = fmt.Sprintf("%04x", rand.IntN(1<<16))

// env is a test's own meshx environment (and namespace name), so tests
// never see each other's objects as orphans.
func env(t testing.TB) string {
	name := strings.ToLower(t.Name())
	r := strings.NewReplacer("/", "-", "_", "-", " ", "-")
	name = r.Replace(name)
	if len(name) > 40 {
		name = name[:40]
	}
	return strings.Trim(name, "-") + "-" + runID
}

// providerFor connects to a lab cluster the way users do: by kubeconfig.
func providerFor(t testing.TB, l *lab.Lab, cluster string) *Provider {
	t.Helper()
	return providersFor(t, l, cluster)[0]
}

// providersFor connects to lab clusters as one configuration's clusters,
// each provider reaching the others (Connect).
func providersFor(t testing.TB, l *lab.Lab, clusters ...string) []*Provider {
	t.Helper()
	var cs []Cluster
	for _, name := range clusters {
		c := l.Cluster(name)
		if c == nil {
			t.Fatalf("lab has no cluster %q", name)
		}
		cs = append(cs, Cluster{Name: name, Kubeconfig: c.Kubeconfig})
	}
	ps, err := Connect(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*Provider, len(clusters))
	for i, name := range clusters {
		p := ps[name]
		t.Cleanup(func() { p.Close() })
		out[i] = p
	}
	return out
}

// world is a tiny planner and executor over real providers: enough to
// check what a plan would say (via the same rules as package planner:
// Create when absent, Update when a rendered attribute differs) and to
// apply it in the given order.
type world struct {
	t       testing.TB
	env     string
	provs   map[string]*Provider // by target
	outputs map[plans.Address]plans.Object
	mu      sync.Mutex
	// progress collects every Progress message.
	progress []string
}

func newWorld(t testing.TB, env string, provs ...*Provider) *world {
	w := &world{t: t, env: env, provs: map[string]*Provider{}, outputs: map[plans.Address]plans.Object{}}
	for _, p := range provs {
		w.provs[p.target()] = p
	}
	return w
}

func (w *world) Output(addr plans.Address, name string) (any, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, ok := w.outputs[addr]
	if !ok {
		return plans.Unknown, true
	}
	if v, ok := o[name]; ok {
		return v, true
	}
	return plans.Unknown, true
}

// observe observes rs (grouped by target) and returns every Observed and
// the orphans.
func (w *world) observe(rs []providers.Resource) (map[plans.Address]providers.Observed, []providers.Observed) {
	w.t.Helper()
	byTarget := map[string][]providers.Resource{}
	for _, r := range rs {
		byTarget[r.Target] = append(byTarget[r.Target], r)
	}
	for t := range w.provs {
		if _, ok := byTarget[t]; !ok {
			byTarget[t] = nil
		}
	}
	all := map[plans.Address]providers.Observed{}
	var orphans []providers.Observed
	for t, list := range byTarget {
		resp := w.provs[t].Observe(context.Background(), providers.ObserveRequest{Environment: w.env, Resources: list})
		if resp.Err != nil {
			w.t.Fatalf("observe %s: %v", t, resp.Err)
		}
		for a, o := range resp.Objects {
			all[a] = o
		}
		for _, o := range resp.Orphans {
			o.Target = t // as the planner does
			orphans = append(orphans, o)
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].Addr.Less(orphans[j].Addr) })
	return all, orphans
}

// diffKeys lists the rendered attributes that differ from the observed
// ones, as package planner compares them.
func diffKeys(desired, observed plans.Object) []string {
	var out []string
	for _, k := range desired.Keys() {
		if !plans.Equal(desired[k], observed[k]) {
			out = append(out, k)
		}
	}
	return out
}

// step is what plan decided for one resource.
type step struct {
	r        providers.Resource
	obs      providers.Observed
	action   plans.Action
	diff     []string
	rendered plans.Object
}

// plan observes rs and decides each action, rendering in order with the
// outputs known so far (observed ones for instances left as they are).
func (w *world) plan(rs []providers.Resource) []step {
	w.t.Helper()
	obs, _ := w.observe(rs)
	var steps []step
	for _, r := range rs {
		o := obs[r.Addr]
		s := step{r: r, obs: o}
		d, err := r.Render(w)
		if err != nil {
			w.t.Fatalf("render %s: %v", r.Addr, err)
		}
		s.rendered = d
		switch {
		case r.ReadOnly && o.Exists:
			s.action = plans.NoOp
		case r.ReadOnly:
			s.action = plans.Create // Apply waits for it to exist
		case !o.Exists:
			s.action = plans.Create
		case !o.Owned && r.UseExisting:
			s.action = plans.NoOp
		default:
			s.diff = diffKeys(d, o.Object)
			if len(s.diff) > 0 {
				s.action = plans.Update
			}
		}
		w.mu.Lock()
		if s.action == plans.NoOp || r.OutputsSurviveUpdate {
			w.outputs[r.Addr] = o.Outputs
		} else {
			delete(w.outputs, r.Addr)
		}
		w.mu.Unlock()
		steps = append(steps, s)
	}
	return steps
}

// changes summarises a plan as "addr: action [attrs]" for non-no-ops.
func changes(steps []step) []string {
	var out []string
	for _, s := range steps {
		if s.action != plans.NoOp {
			out = append(out, fmt.Sprintf("%s: %s %v", s.r.Addr, s.action, s.diff))
		}
	}
	return out
}

// apply plans rs and applies every change in order, failing the test on
// an error.
func (w *world) apply(rs []providers.Resource) []step {
	w.t.Helper()
	steps := w.plan(rs)
	for _, s := range steps {
		if s.action == plans.NoOp {
			continue
		}
		resp := w.applyOne(s)
		if resp.Err != nil {
			w.t.Fatalf("apply %s: %v", s.r.Addr, resp.Err)
		}
	}
	return steps
}

func (w *world) applyOne(s step) providers.ApplyResponse {
	w.t.Helper()
	r := s.r
	desired, err := r.Render(w)
	if err != nil {
		w.t.Fatalf("render %s: %v", r.Addr, err)
	}
	if plans.HasUnknown(desired) && !r.ReadOnly {
		w.t.Fatalf("%s: unknown after its dependencies were applied: %v", r.Addr, desired)
	}
	resp := w.provs[r.Target].Apply(context.Background(), providers.ApplyRequest{
		Environment: w.env,
		Resource:    &r,
		Change:      plans.Change{Addr: r.Addr, Action: s.action},
		Desired:     desired,
		Observed:    s.obs,
		Progress: func(m string) {
			w.mu.Lock()
			w.progress = append(w.progress, m)
			w.mu.Unlock()
		},
	})
	if resp.Err == nil {
		w.mu.Lock()
		w.outputs[r.Addr] = resp.Outputs
		w.mu.Unlock()
	}
	return resp
}

// destroy deletes every orphan of the world's environment (what a plan
// with an empty configuration does), waiting for namespaces to go.
func (w *world) destroy() {
	w.t.Helper()
	_, orphans := w.observe(nil)
	for _, o := range orphans {
		resp := w.provs[o.Target].Apply(context.Background(), providers.ApplyRequest{
			Environment: w.env,
			Change:      plans.Change{Addr: o.Addr, Action: plans.Delete},
			Observed:    o,
		})
		if resp.Err != nil {
			w.t.Errorf("delete orphan %s: %v", o.Addr, resp.Err)
		}
	}
}

func waitFor(t testing.TB, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// applyDriftRepair applies s as the planner hands over a change that
// repairs drift the plan showed: Change.Drift set.
func (w *world) applyDriftRepair(s step) providers.ApplyResponse {
	w.t.Helper()
	r := s.r
	desired, err := r.Render(w)
	if err != nil {
		w.t.Fatalf("render %s: %v", r.Addr, err)
	}
	return w.provs[r.Target].Apply(context.Background(), providers.ApplyRequest{
		Environment: w.env,
		Resource:    &r,
		Change:      plans.Change{Addr: r.Addr, Action: s.action, Drift: true},
		Desired:     desired,
		Observed:    s.obs,
	})
}
