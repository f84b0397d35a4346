package views

import (
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/plans"
)

// partialPlan is fullPlan limited by -target, with a VM that could not be
// observed.
func partialPlan(t testing.TB) *plans.Plan {
	p := fullPlan(t)
	p.Targets = []string{"vm.ecs1", `service.details.service["details"]`}
	p.Unobserved = []string{"vm.ecs2"}
	return p
}

// TestPartialPlanGolden: a partial plan says so, in the same words, in
// text, markdown and the JSON stream, changes or not.
func TestPartialPlanGolden(t *testing.T) {
	noChanges := func(t testing.TB) *plans.Plan {
		p := partialPlan(t)
		p.Changes = p.Changes[1:2] // the no-op only
		return p
	}
	for _, tc := range []struct {
		name   string
		plan   func(testing.TB) *plans.Plan
		render func(*strings.Builder, *plans.Plan)
	}{
		{"plan_partial.txt", partialPlan, func(b *strings.Builder, p *plans.Plan) { _ = PlanText(b, p, PlanOptions{}) }},
		{"plan_partial_no_changes.txt", noChanges, func(b *strings.Builder, p *plans.Plan) { _ = PlanText(b, p, PlanOptions{}) }},
		{"plan_partial.md", partialPlan, func(b *strings.Builder, p *plans.Plan) {
			b.WriteString(strings.Join(Markdown(p, MarkdownOptions{}), "\n---\n"))
		}},
		{"plan_partial.jsonl", partialPlan, func(b *strings.Builder, p *plans.Plan) {
			NewJSON(b, JSONOptions{Version: "0.3.0", Now: fixedClock()}).Plan(p)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tc.render(&b, tc.plan(t))
			got := b.String()
			for _, want := range []string{
				"Targeting is in effect; this plan is partial",
				"vm.ecs2 could not be observed; this plan is partial",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("%s lacks %q", tc.name, want)
				}
			}
			golden(t, tc.name, got)
		})
	}
}

// TestWholePlanSaysNothing: without -target and with every target
// observed, no note is added.
func TestWholePlanSaysNothing(t *testing.T) {
	if n := PartialNotes(fullPlan(t)); len(n) != 0 {
		t.Errorf("PartialNotes = %+v, want none", n)
	}
}
