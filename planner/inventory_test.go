package planner

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
)

// TestInventoryRefusesBadEntries: a recorded connection decides where
// meshx connects, and anyone who can edit the ConfigMap can write one, so
// one the configuration could not have produced is refused.
func TestInventoryRefusesBadEntries(t *testing.T) {
	vm := plans.Address{Block: "vm", Name: "old"}
	cluster := plans.Address{Block: "cluster", Name: "r"}
	for _, tc := range []struct {
		name   string
		target plans.Address
		c      connection
		want   string
	}{
		{"good vm", vm, connection{Address: "10.0.0.7", Port: 22, PrivateKeyFile: "/root/.ssh/id"}, ""},
		{"good cluster", cluster, connection{Kubeconfig: "/a:/b", Context: "r", Server: "https://10.0.0.2:6443"}, ""},
		{"no address", vm, connection{PrivateKeyFile: "/k"}, "no address"},
		{"option in address", vm, connection{Address: "-oProxyCommand=x y"}, "spaces or control characters"},
		{"newline in user", vm, connection{Address: "h", User: "root\nx"}, "spaces or control characters"},
		{"relative key", vm, connection{Address: "h", PrivateKeyFile: "id_rsa"}, "not an absolute path"},
		{"relative kubeconfig", cluster, connection{Kubeconfig: "/a:kube", Server: "https://s"}, "not an absolute path"},
		{"port", vm, connection{Address: "h", Port: 70000}, "out of range"},
		{"vm as cluster", cluster, connection{Address: "h", Server: "https://s"}, "not a cluster"},
		{"cluster without server", cluster, connection{Context: "c"}, "not a cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.check(tc.target)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("check: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("check: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestInventoryRecordFirst: a plan that adds a VM (or changes how one is
// reached) records it, with what is recorded already, before any change on
// a VM or remote cluster starts, after the inventory's namespace; a plan
// that only prunes, a destroy and a forget record nothing first.
func TestInventoryRecordFirst(t *testing.T) {
	addr := plans.Address{Block: "cluster", Name: "c", Type: "inventory"}
	ns := plans.Address{Block: "cluster", Name: "c", Type: "namespace", Key: "istio-system"}
	file := plans.Address{Block: "vm", Name: "new", Type: "file", Key: "/x"}
	reader := plans.Address{Block: "cluster", Name: "r", Type: "reader"}
	svc := plans.Address{Block: "service", Name: "s", Type: "service"}
	old, moved := connection{Address: "10.0.0.7"}, connection{Address: "10.0.0.9"}
	plan := func(action plans.Action, destroy bool) *Plan {
		return &Plan{Plan: &plans.Plan{Destroy: destroy, Changes: []plans.Change{
			{Addr: addr, Action: action, Target: "cluster.c"},
			{Addr: ns, Action: plans.NoOp, Target: "cluster.c"},
			{Addr: reader, Action: plans.Create, Target: "cluster.r"},
			{Addr: svc, Action: plans.Create, Target: "cluster.c"},
			{Addr: file, Action: plans.Create, Target: "vm.new"},
		}}}
	}
	for _, tc := range []struct {
		name               string
		recorded, declared map[string]connection
		action             plans.Action
		destroy, forget    bool
		want               bool
	}{
		{"first apply", nil, map[string]connection{"vm.new": old}, plans.Create, false, false, true},
		{"a new VM", map[string]connection{"vm.old": old}, map[string]connection{"vm.old": old, "vm.new": old}, plans.Update, false, false, true},
		{"a VM reached elsewhere", map[string]connection{"vm.new": old}, map[string]connection{"vm.new": moved}, plans.Update, false, false, true},
		{"a VM removed", map[string]connection{"vm.old": old, "vm.new": old}, map[string]connection{"vm.new": old}, plans.Update, false, false, false},
		{"no inventory change", map[string]connection{"vm.new": old}, map[string]connection{"vm.new": old}, plans.NoOp, false, false, false},
		{"destroy", map[string]connection{"vm.new": old}, map[string]connection{"vm.new": old}, plans.Delete, true, false, false},
		{"forget", map[string]connection{"vm.old": old}, map[string]connection{"vm.new": old}, plans.Update, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := &inventory{addr: addr, namespace: ns, recorded: tc.recorded, declared: tc.declared}
			if tc.forget {
				inv.forget = map[string]bool{"vm.old": true}
			}
			rec := inv.recordFirst(plan(tc.action, tc.destroy))
			if (rec != nil) != tc.want {
				t.Fatalf("record = %+v, want one: %v", rec, tc.want)
			}
			if rec == nil {
				return
			}
			if want := []plans.Address{ns}; !slices.Equal(rec.Change.DependsOn, want) || rec.Change.Addr != addr || rec.Change.Action != tc.action {
				t.Errorf("record change = %+v, want %s after %v", rec.Change, tc.action, want)
			}
			if want := map[plans.Address]bool{file: true, reader: true}; !cmp.Equal(rec.Before, want) {
				t.Errorf("record comes before %v, want %v", rec.Before, want)
			}
			got, _ := inv.union(nil)
			want := map[string]any{}
			for target, c := range tc.recorded {
				want[target] = c.object()
			}
			for target, c := range tc.declared {
				want[target] = c.object()
			}
			if !cmp.Equal(got, want) {
				t.Errorf("recorded first: %v, want %v", got, want)
			}
		})
	}
}

// TestInventoryOrder: a plan writes the inventory after the deletes on
// removed targets; a destroy deletes it after everything but namespaces,
// and keeps it while a removed target could not be observed or when the
// destroy is targeted.
func TestInventoryOrder(t *testing.T) {
	inv := &inventory{addr: plans.Address{Block: "cluster", Name: "c", Type: "inventory"}, removed: []string{"vm.old"}, kept: map[string]bool{}}
	file := plans.Address{Block: "vm", Name: "old", Type: "file", Key: "/x"}
	svc := plans.Address{Block: "service", Name: "s", Type: "service"}
	ns := plans.Address{Block: "cluster", Name: "c", Type: "namespace", Key: "istio-system"}
	changes := func(action plans.Action) map[plans.Address]plans.Change {
		return map[plans.Address]plans.Change{
			inv.addr: {Addr: inv.addr, Action: action, DependsOn: []plans.Address{ns}},
			file:     {Addr: file, Action: plans.Delete, Target: "vm.old"},
			svc:      {Addr: svc, Action: action, DependsOn: []plans.Address{inv.addr}},
			ns:       {Addr: ns, Action: action, Kind: "kube_namespace"},
		}
	}
	plan := changes(plans.Update)
	inv.order(plan, false, false)
	if got := plan[inv.addr].DependsOn; len(got) != 2 || got[1] != file {
		t.Errorf("plan: the inventory depends on %v, want the namespace and %s", got, file)
	}
	destroy := changes(plans.Delete)
	inv.order(destroy, true, false)
	if got := destroy[inv.addr].DependsOn; len(got) != 2 || got[0] != svc || got[1] != file {
		t.Errorf("destroy: the inventory depends on %v, want %s and %s", got, svc, file)
	}
	if got := destroy[svc].DependsOn; len(got) != 0 {
		t.Errorf("destroy: %s still waits for %v", svc, got)
	}
	for _, tc := range []struct {
		name     string
		kept     bool
		targeted bool
	}{{"unreachable removed target", true, false}, {"targeted destroy", false, true}} {
		inv.kept = map[string]bool{}
		if tc.kept {
			inv.kept["vm.old"] = true
		}
		d := changes(plans.Delete)
		inv.order(d, true, tc.targeted)
		if a := d[inv.addr].Action; a != plans.NoOp {
			t.Errorf("%s: the inventory is planned %s, want no-op", tc.name, a)
		}
	}
}

// TestExpandInventory: the inventory depends on the Istio namespace and on
// every instance of every VM and remote cluster, so apply writes it once
// they are done, and records each VM (Make adds the remote clusters, whose
// context and server only their providers know).
func TestExpandInventory(t *testing.T) {
	for _, tc := range expandCases {
		t.Run(tc.name, func(t *testing.T) {
			exp := expandSource(t, tc.src)
			var inv *providers.Resource
			var want []plans.Address
			for i, r := range exp.Resources {
				switch a := r.Addr; {
				case r.Kind == kube.KindInventory:
					inv = &exp.Resources[i]
				case a.Block == "vm", a.Block == "cluster" && a.Name != "control",
					a == kube.NamespaceAddress("control", "istio-system"):
					want = append(want, a)
				}
			}
			if inv == nil {
				t.Fatal("no inventory")
			}
			if diff := cmp.Diff(sortedAddrs(want), sortedAddrs(inv.DependsOn)); diff != "" {
				t.Errorf("DependsOn (-want +got):\n%s", diff)
			}
			o, err := inv.Render(meshOutputs)
			if err != nil {
				t.Fatal(err)
			}
			targets := o["targets"].(map[string]any)
			var names []string
			for name := range targets {
				names = append(names, name)
			}
			slices.Sort(names)
			var vms []string
			for _, r := range want {
				if r.Block == "vm" && !slices.Contains(vms, r.Target()) {
					vms = append(vms, r.Target())
				}
			}
			slices.Sort(vms)
			if diff := cmp.Diff(vms, names, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("targets before Make adds the clusters (-want +got):\n%s", diff)
			}
		})
	}
}
