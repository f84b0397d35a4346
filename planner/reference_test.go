package planner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// TestReferenceMustExistWhenPlanning plans a file rendered from a load
// balancer another environment owns: missing, or without its address, the
// plan stops at the block that says manage = false; once it has an
// address, the file uses it and the load balancer is left alone.
func TestReferenceMustExistWhenPlanning(t *testing.T) {
	res := world("")
	res[0].ReadOnly, res[0].ReadyOutputs = true, []string{"address"}
	res[0].Reference = "Apply the owning environment first."
	lb := res[0].Addr
	manage := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 9, Column: 5}, End: hcl.Pos{Line: 9, Column: 19}}
	in := func(c, v providers.Provider) planner.Input {
		return planner.Input{Environment: "team", Resources: res, Ranges: map[plans.Address]hcl.Range{lb: manage},
			Providers: map[string]providers.Provider{"cluster.c": c, "vm.v": v}}
	}
	var applied []string
	c, v := newMem(&applied), newMem(&applied)
	for _, tc := range []struct {
		name    string
		prepare func()
		summary string
	}{
		{"missing", func() {}, "Referenced object does not exist"},
		{"no address yet", func() { c.objs[lb] = plans.Object{"port": 53} }, "Referenced object not ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.prepare()
			_, diags := planner.Build(context.Background(), in(c, v))
			if len(diags) != 1 || diags[0].Summary != tc.summary {
				t.Fatalf("diagnostics = %v, want one %q", diags, tc.summary)
			}
			d := diags[0]
			if d.Subject == nil || *d.Subject != manage || !strings.Contains(d.Detail, lb.String()) || !strings.Contains(d.Detail, "Apply the owning environment first.") {
				t.Errorf("diagnostic %q at %v: want it at %v, naming %s and saying what to do", d.Detail, d.Subject, manage, lb)
			}
		})
	}
	c.outputs[lb] = plans.Object{"address": "10.0.0.9"}
	plan, diags := planner.Build(context.Background(), in(c, v))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if a := actions(plan)[lb.String()]; a != "no-op" {
		t.Errorf("%s: %s, want no-op", lb, a)
	}
	fc, _ := plan.Change(addr(`vm.v.file["/etc/kubedns"]`))
	if fc.After["content"] != "server=10.0.0.9" {
		t.Errorf("file content = %v, want the referenced address", fc.After["content"])
	}
}
