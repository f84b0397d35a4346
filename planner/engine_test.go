package planner_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// memProvider is an in-memory target for testing the engine's logic: it
// keeps objects in a map, gives "lb" instances an address when applied, and
// records the order of applies.
type memProvider struct {
	mu      sync.Mutex
	objs    map[plans.Address]plans.Object
	owned   map[plans.Address]bool
	outputs map[plans.Address]plans.Object
	failOn  map[plans.Address]bool
	applied *[]string
}

func newMem(applied *[]string) *memProvider {
	return &memProvider{objs: map[plans.Address]plans.Object{}, owned: map[plans.Address]bool{},
		outputs: map[plans.Address]plans.Object{}, failOn: map[plans.Address]bool{}, applied: applied}
}

func (m *memProvider) Observe(_ context.Context, req providers.ObserveRequest) providers.ObserveResponse {
	m.mu.Lock()
	defer m.mu.Unlock()
	resp := providers.ObserveResponse{Objects: map[plans.Address]providers.Observed{}}
	want := map[plans.Address]bool{}
	for _, r := range req.Resources {
		want[r.Addr] = true
		o, ok := m.objs[r.Addr]
		resp.Objects[r.Addr] = providers.Observed{Addr: r.Addr, Kind: r.Kind, Exists: ok, Owned: m.owned[r.Addr], Object: o, Outputs: m.outputs[r.Addr]}
	}
	for a, o := range m.objs {
		if !want[a] && m.owned[a] {
			resp.Orphans = append(resp.Orphans, providers.Observed{Addr: a, Kind: "thing", Exists: true, Owned: true, Object: o})
		}
	}
	return resp
}

func (m *memProvider) Apply(_ context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := req.Change.Addr
	*m.applied = append(*m.applied, req.Change.Action.String()+" "+a.String())
	if m.failOn[a] {
		return providers.ApplyResponse{Err: fmt.Errorf("boom")}
	}
	if req.Change.Action == plans.Delete {
		delete(m.objs, a)
		delete(m.owned, a)
		return providers.ApplyResponse{Changed: true}
	}
	changed := !plans.Equal(map[string]any(req.Desired), map[string]any(m.objs[a])) || len(req.Triggered) > 0
	m.objs[a] = req.Desired
	m.owned[a] = true
	if req.Resource.Kind == "lb" {
		m.outputs[a] = plans.Object{"address": "10.0.0." + a.Key}
	}
	return providers.ApplyResponse{Changed: changed, Outputs: m.outputs[a]}
}

func (m *memProvider) Close() error { return nil }

func addr(s string) plans.Address {
	a, err := plans.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// world builds: an lb on cluster.c, a file on vm.v rendered from the lb's
// address, and a unit triggered by the file.
func world(fileExtra string) []providers.Resource {
	lb, file, unit := addr(`cluster.c.ilb["7"]`), addr(`vm.v.file["/etc/kubedns"]`), addr(`vm.v.unit["dnsmasq"]`)
	return []providers.Resource{
		{Addr: lb, Kind: "lb", Target: "cluster.c", OutputsSurviveUpdate: true,
			Render: func(providers.Outputs) (plans.Object, error) { return plans.Object{"port": 53}, nil }},
		{Addr: file, Kind: "vm_file", Target: "vm.v", DependsOn: []plans.Address{lb},
			Render: func(in providers.Outputs) (plans.Object, error) {
				a, _ := in.Output(lb, "address")
				if plans.IsUnknown(a) {
					return plans.Object{"content": plans.Unknown}, nil
				}
				return plans.Object{"content": fmt.Sprintf("server=%v%s", a, fileExtra)}, nil
			}},
		{Addr: unit, Kind: "vm_unit", Target: "vm.v", DependsOn: []plans.Address{file}, Triggers: []plans.Address{file},
			Render: func(providers.Outputs) (plans.Object, error) { return plans.Object{"active": true}, nil }},
	}
}

func actions(p *planner.Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Changes {
		out[c.Addr.String()] = c.Action.String()
	}
	return out
}

func TestPlanApplyReplan(t *testing.T) {
	var applied []string
	c, v := newMem(&applied), newMem(&applied)
	provs := map[string]providers.Provider{"cluster.c": c, "vm.v": v}
	ctx := context.Background()

	plan, diags := planner.Build(ctx, planner.Input{Environment: "e", Resources: world(""), Providers: provs})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := map[string]string{`cluster.c.ilb["7"]`: "create", `vm.v.file["/etc/kubedns"]`: "create", `vm.v.unit["dnsmasq"]`: "create"}
	if diff := cmp.Diff(want, actions(plan)); diff != "" {
		t.Fatalf("first plan (-want +got):\n%s", diff)
	}
	fc, _ := plan.Change(addr(`vm.v.file["/etc/kubedns"]`))
	if !plans.IsUnknown(fc.After["content"]) {
		t.Errorf("file content before the lb exists = %v, want unknown", fc.After["content"])
	}
	res := executor.Apply(ctx, plan, executor.Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := v.objs[addr(`vm.v.file["/etc/kubedns"]`)]["content"]; got != "server=10.0.0.7" {
		t.Errorf("file rendered at apply = %v", got)
	}
	if diff := cmp.Diff([]string{`create cluster.c.ilb["7"]`, `create vm.v.file["/etc/kubedns"]`, `create vm.v.unit["dnsmasq"]`}, applied); diff != "" {
		t.Errorf("apply order (-want +got):\n%s", diff)
	}

	plan, diags = planner.Build(ctx, planner.Input{Environment: "e", Resources: world(""), Providers: provs})
	if diags.HasErrors() || plan.HasChanges() {
		t.Fatalf("second plan has changes: %v %v", actions(plan), diags)
	}

	// Changing the file's text restarts the unit, and only the file and unit.
	plan, _ = planner.Build(ctx, planner.Input{Environment: "e", Resources: world("\n#x"), Providers: provs})
	want = map[string]string{`cluster.c.ilb["7"]`: "no-op", `vm.v.file["/etc/kubedns"]`: "update", `vm.v.unit["dnsmasq"]`: "update"}
	if diff := cmp.Diff(want, actions(plan)); diff != "" {
		t.Fatalf("edit plan (-want +got):\n%s", diff)
	}
	uc, _ := plan.Change(addr(`vm.v.unit["dnsmasq"]`))
	if !strings.Contains(uc.Reason, `vm.v.file["/etc/kubedns"]`) {
		t.Errorf("unit reason = %q", uc.Reason)
	}
}

// An instance that exists and matches but is not ready (a load balancer
// still without an address, left by an interrupted apply) is planned as an
// update so apply waits for it; its dependants are known after apply.
func TestNotReadyInstanceIsWaitedFor(t *testing.T) {
	var applied []string
	c, v := newMem(&applied), newMem(&applied)
	provs := map[string]providers.Provider{"cluster.c": c, "vm.v": v}
	lb := addr(`cluster.c.ilb["7"]`)
	c.objs[lb] = plans.Object{"port": 53}
	c.owned[lb] = true // created, but never got its address
	res := world("")
	res[0].ReadyOutputs = []string{"address"}
	plan, diags := planner.Build(context.Background(), planner.Input{Environment: "e", Resources: res, Providers: provs})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	lc, _ := plan.Change(lb)
	if lc.Action != plans.Update || !strings.Contains(lc.Reason, "no address yet") {
		t.Fatalf("not-ready lb planned %s (%q), want an update that waits", lc.Action, lc.Reason)
	}
	if fc, _ := plan.Change(addr(`vm.v.file["/etc/kubedns"]`)); !plans.IsUnknown(fc.After["content"]) {
		t.Errorf("file content = %v, want unknown until the lb has an address", fc.After["content"])
	}
	if r := executor.Apply(context.Background(), plan, executor.Options{}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := v.objs[addr(`vm.v.file["/etc/kubedns"]`)]["content"]; got != "server=10.0.0.7" {
		t.Errorf("file rendered at apply = %v", got)
	}
	plan, _ = planner.Build(context.Background(), planner.Input{Environment: "e", Resources: res, Providers: provs})
	if plan.HasChanges() {
		t.Errorf("replan after the lb got its address: %v", actions(plan))
	}
}

func TestFailureKeepsIndependentBranches(t *testing.T) {
	var applied []string
	c, v := newMem(&applied), newMem(&applied)
	other := newMem(&applied)
	res := append(world(""), providers.Resource{Addr: addr(`vm.w.file["/x"]`), Kind: "vm_file", Target: "vm.w",
		Render: func(providers.Outputs) (plans.Object, error) { return plans.Object{"content": "x"}, nil }})
	provs := map[string]providers.Provider{"cluster.c": c, "vm.v": v, "vm.w": other}
	c.failOn[addr(`cluster.c.ilb["7"]`)] = true
	plan, diags := planner.Build(context.Background(), planner.Input{Environment: "e", Resources: res, Providers: provs})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var events []string
	r := executor.Apply(context.Background(), plan, executor.Options{Events: func(e executor.Event) {
		if e.Type == executor.Skipped {
			events = append(events, "skip "+e.Addr.String())
		}
	}})
	if r.Err == nil || !strings.Contains(r.Err.Error(), `cluster.c.ilb["7"]: boom`) {
		t.Fatalf("err = %v", r.Err)
	}
	if len(r.Failed) != 1 || len(r.Skipped) != 2 || r.Added != 1 {
		t.Errorf("failed=%v skipped=%v added=%d", r.Failed, r.Skipped, r.Added)
	}
	if _, ok := other.objs[addr(`vm.w.file["/x"]`)]; !ok {
		t.Error("independent branch did not run")
	}
}

func TestUnownedRefusedUnlessAdopted(t *testing.T) {
	var applied []string
	c := newMem(&applied)
	a := addr(`cluster.c.ilb["7"]`)
	c.objs[a] = plans.Object{"port": 53}
	mk := func(adopt bool) []providers.Resource {
		return []providers.Resource{{Addr: a, Kind: "lb", Target: "cluster.c", Settings: providers.Settings{Adopt: adopt},
			Render: func(providers.Outputs) (plans.Object, error) { return plans.Object{"port": 53}, nil }}}
	}
	provs := map[string]providers.Provider{"cluster.c": c}
	_, diags := planner.Build(context.Background(), planner.Input{Environment: "e", Resources: mk(false), Providers: provs})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `cluster.c.ilb["7"] already exists`) {
		t.Fatalf("want refusal naming the object, got %v", diags)
	}
	plan, diags := planner.Build(context.Background(), planner.Input{Environment: "e", Resources: mk(true), Providers: provs})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if ch, _ := plan.Change(a); ch.Action != plans.Update || !ch.Adopt {
		t.Errorf("adopt change = %+v", ch)
	}
}

func TestOrphansAndDestroyOrder(t *testing.T) {
	var applied []string
	c, v := newMem(&applied), newMem(&applied)
	provs := map[string]providers.Provider{"cluster.c": c, "vm.v": v}
	ctx := context.Background()
	plan, _ := planner.Build(ctx, planner.Input{Environment: "e", Resources: world(""), Providers: provs})
	if r := executor.Apply(ctx, plan, executor.Options{}); r.Err != nil {
		t.Fatal(r.Err)
	}
	// Dropping the unit from configuration plans exactly one delete.
	plan, _ = planner.Build(ctx, planner.Input{Environment: "e", Resources: world("")[:2], Providers: provs})
	want := map[string]string{`cluster.c.ilb["7"]`: "no-op", `vm.v.file["/etc/kubedns"]`: "no-op", `vm.v.unit["dnsmasq"]`: "delete"}
	if diff := cmp.Diff(want, actions(plan)); diff != "" {
		t.Fatalf("orphan plan (-want +got):\n%s", diff)
	}
	// Every change carries its kind and target, the orphan's from what was
	// observed, so a plan file and the views need nothing else.
	kinds := map[string][2]string{}
	for _, c := range plan.Changes {
		kinds[c.Addr.String()] = [2]string{c.Kind, c.Target}
	}
	wantKinds := map[string][2]string{`cluster.c.ilb["7"]`: {"lb", "cluster.c"}, `vm.v.file["/etc/kubedns"]`: {"vm_file", "vm.v"}, `vm.v.unit["dnsmasq"]`: {"thing", "vm.v"}}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("kinds and targets (-want +got):\n%s", diff)
	}
	// Destroy runs in the reverse order of creation.
	applied = nil
	plan, _ = planner.Build(ctx, planner.Input{Environment: "e", Resources: world(""), Providers: provs, Destroy: true})
	if r := executor.Apply(ctx, plan, executor.Options{Parallelism: 4}); r.Err != nil || r.Destroyed != 3 {
		t.Fatalf("destroy: %v, destroyed %d", r.Err, r.Destroyed)
	}
	if diff := cmp.Diff([]string{`delete vm.v.unit["dnsmasq"]`, `delete vm.v.file["/etc/kubedns"]`, `delete cluster.c.ilb["7"]`}, applied); diff != "" {
		t.Errorf("destroy order (-want +got):\n%s", diff)
	}
}

func TestCycleAndTargets(t *testing.T) {
	a, b := addr("vm.v.file[\"/a\"]"), addr("vm.v.file[\"/b\"]")
	r := func(x, dep plans.Address) providers.Resource {
		return providers.Resource{Addr: x, Target: "vm.v", DependsOn: []plans.Address{dep},
			Render: func(providers.Outputs) (plans.Object, error) { return nil, nil }}
	}
	_, diags := planner.Build(context.Background(), planner.Input{Resources: []providers.Resource{r(a, b), r(b, a)}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "cycle") {
		t.Errorf("want cycle error, got %v", diags)
	}
	var applied []string
	provs := map[string]providers.Provider{"cluster.c": newMem(&applied), "vm.v": newMem(&applied)}
	plan, diags := planner.Build(context.Background(), planner.Input{Resources: world(""), Providers: provs, Targets: []plans.Address{addr(`vm.v.file["/etc/kubedns"]`)}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := len(plan.Changes); got != 2 {
		t.Errorf("-target kept %d instances, want the file and the lb it depends on", got)
	}
	// Instances outside the targets are not observed, so providers report
	// them as orphans: -target must never plan them as deletes.
	full, _ := planner.Build(context.Background(), planner.Input{Resources: world(""), Providers: provs})
	if r := executor.Apply(context.Background(), full, executor.Options{}); r.Err != nil {
		t.Fatal(r.Err)
	}
	plan, diags = planner.Build(context.Background(), planner.Input{Resources: world(""), Providers: provs, Targets: []plans.Address{addr(`vm.v.unit["dnsmasq"]`)}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, c := range plan.Changes {
		if c.Action == plans.Delete {
			t.Errorf("-target planned a delete of %s", c.Addr)
		}
	}
	// Destroy with -target removes the target and what depends on it, never
	// what it depends on.
	plan, _ = planner.Build(context.Background(), planner.Input{Resources: world(""), Providers: provs, Destroy: true, Targets: []plans.Address{addr(`vm.v.file["/etc/kubedns"]`)}})
	want := map[string]string{`vm.v.file["/etc/kubedns"]`: "delete", `vm.v.unit["dnsmasq"]`: "delete"}
	if diff := cmp.Diff(want, actions(plan)); diff != "" {
		t.Errorf("destroy -target (-want +got):\n%s", diff)
	}
	// A target naming an instance removed from configuration deletes it.
	plan, _ = planner.Build(context.Background(), planner.Input{Resources: world("")[:2], Providers: provs, Targets: []plans.Address{addr(`vm.v.unit["dnsmasq"]`)}})
	if c, ok := plan.Change(addr(`vm.v.unit["dnsmasq"]`)); !ok || c.Action != plans.Delete {
		t.Errorf("targeted orphan: %+v, want a delete", c)
	}
	_, diags = planner.Build(context.Background(), planner.Input{Resources: world(""), Providers: provs, Targets: []plans.Address{addr("vm.nope")}})
	if !diags.HasErrors() {
		t.Error("a target matching nothing must fail")
	}
	// A near miss gets a "did you mean", at the level it was written.
	for target, want := range map[string]string{
		`vm.v.file["/etc/kubedsn"]`: `Did you mean -target=vm.v.file["/etc/kubedns"]?`,
		`vm.v.fiel`:                 `Did you mean -target=vm.v.file?`,
	} {
		_, diags = planner.Build(context.Background(), planner.Input{Resources: world(""), Providers: provs, Targets: []plans.Address{addr(target)}})
		if !diags.HasErrors() || !strings.Contains(diags[len(diags)-1].Detail, want) {
			t.Errorf("-target=%s: %v, want %q", target, diags, want)
		}
	}
}

// unreachableProvider is a target whose connection fails.
type unreachableProvider struct{}

func (unreachableProvider) Observe(context.Context, providers.ObserveRequest) providers.ObserveResponse {
	return providers.ObserveResponse{Err: fmt.Errorf("dial tcp 10.0.0.9:22: connection refused")}
}

func (unreachableProvider) Apply(context.Context, providers.ApplyRequest) providers.ApplyResponse {
	return providers.ApplyResponse{Err: fmt.Errorf("dial tcp 10.0.0.9:22: connection refused")}
}

func (unreachableProvider) Close() error { return nil }

// TestUnreachableTarget: a target that cannot be observed is left out with
// what depends on it, and returned as a value (Unobserved, Unreachable),
// not among the diagnostics, so the plan of the rest stands.
func TestUnreachableTarget(t *testing.T) {
	var applied []string
	provs := map[string]providers.Provider{"cluster.c": newMem(&applied), "vm.v": unreachableProvider{}}
	plan, diags := planner.Build(context.Background(), planner.Input{Environment: "e", Resources: world(""), Providers: provs})
	if diags.HasErrors() {
		t.Fatalf("an unreachable target is reported in Unreachable, not as diagnostics: %v", diags)
	}
	if diff := cmp.Diff(map[string]string{`cluster.c.ilb["7"]`: "create"}, actions(plan)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"vm.v"}, plan.Unobserved); diff != "" {
		t.Errorf("Unobserved (-want +got):\n%s", diff)
	}
	if len(plan.Unreachable) != 1 || plan.Unreachable[0].Summary != "Cannot observe vm.v" || !strings.Contains(plan.Unreachable[0].Detail, "connection refused") {
		t.Errorf("Unreachable = %v, want one error naming vm.v and why", plan.Unreachable)
	}
}
