package views

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/plans"
)

// instancePlan creates a unit on an instance of a vm block with for_each,
// one of a block with count, and one of a block of one instance.
func instancePlan(t *testing.T) *plans.Plan {
	p := &plans.Plan{Environment: "fleet"}
	for _, s := range []string{`vm.web["a"].unit["istio"]`, `vm.worker[0].unit["istio"]`, `vm.ecs1.unit["istio"]`} {
		a, err := plans.ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		p.Changes = append(p.Changes, plans.Change{Addr: a, Action: plans.Create, Kind: "vm_unit", Target: a.Target(), After: plans.Object{"active": true}})
	}
	return p
}

// wantInstanceKeys is what both machine formats say of instancePlan's
// changes: instance_key is a string for for_each, a number for count and
// absent for a block of one instance.
var wantInstanceKeys = map[string]any{`vm.web["a"].unit["istio"]`: "a", `vm.worker[0].unit["istio"]`: float64(0), `vm.ecs1.unit["istio"]`: nil}

func TestShowJSONInstanceKey(t *testing.T) {
	var b strings.Builder
	if err := ShowJSON(&b, planfile.FromPlan(instancePlan(t))); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ResourceChanges []map[string]any `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, rc := range doc.ResourceChanges {
		got[rc["address"].(string)] = rc["instance_key"]
		if rc["address"] == `vm.web["a"].unit["istio"]` && (rc["name"] != `vm.web["a"].unit` || rc["index"] != "istio" || rc["target"] != `vm.web["a"]`) {
			t.Errorf("resource change %v", rc)
		}
	}
	if diff := cmp.Diff(wantInstanceKeys, got); diff != "" {
		t.Errorf("instance_key by address (-want +got):\n%s", diff)
	}
}

func TestJSONStreamInstanceKey(t *testing.T) {
	var b strings.Builder
	NewJSON(&b, JSONOptions{Version: "0.4.0"}).Plan(instancePlan(t))
	got := map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m struct {
			Type   string         `json:"type"`
			Change map[string]any `json:"change"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "planned_change" {
			r := m.Change["resource"].(map[string]any)
			got[r["addr"].(string)] = r["instance_key"]
		}
	}
	if diff := cmp.Diff(wantInstanceKeys, got); diff != "" {
		t.Errorf("instance_key by address (-want +got):\n%s", diff)
	}
}
