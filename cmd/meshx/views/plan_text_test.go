package views

import (
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/plans"
)

func TestPlanTextGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan func(testing.TB) *plans.Plan
		opts PlanOptions
	}{
		{"plan_full.txt", fullPlan, PlanOptions{Order: true}},
		{"plan_full_color.txt", fullPlan, PlanOptions{Color: true}},
		{"plan_destroy.txt", destroyPlan, PlanOptions{Order: true}},
		{"plan_no_changes.txt", func(t testing.TB) *plans.Plan {
			p := fullPlan(t)
			p.Changes = p.Changes[1:2] // the no-op only
			return p
		}, PlanOptions{}},
		{"plan_destroy_nothing.txt", func(testing.TB) *plans.Plan {
			return &plans.Plan{Environment: "bookinfo", Destroy: true}
		}, PlanOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := PlanText(&b, tc.plan(t), tc.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b.String())
		})
	}
}
