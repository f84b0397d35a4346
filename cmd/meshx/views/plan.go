package views

import (
	"fmt"

	"github.com/meshx-dev/meshx/plans"
)

// Plan is the view of meshx plan.
type Plan interface {
	Operation
	// Plan shows the plan.
	Plan(p *plans.Plan)
	// Saved says the plan was written to path and how to apply it.
	Saved(path string)
	// Unsaved warns that apply without a saved plan may do other than
	// this plan; it is called only for a plan with changes.
	Unsaved()
}

// PlanViewOptions tune plan's view.
type PlanViewOptions struct {
	// Order adds the execution order (-show-order).
	Order bool
	// Footer ends the markdown comment, such as a link to the CI run.
	Footer string
}

// NewPlan returns plan's view: the JSON event stream (ViewJSON), the
// pull-request comment (ViewMarkdown), or the plan text. The JSON view
// writes the stream's version message at once.
func NewPlan(vt ViewType, v *View, opts PlanViewOptions) Plan {
	switch vt {
	case ViewJSON:
		return planJSON{newOperationJSON(v)}
	case ViewMarkdown:
		return planMarkdown{operationHuman{v}, MarkdownOptions{Order: opts.Order, Footer: opts.Footer}}
	}
	return planHuman{operationHuman{v}, opts.Order}
}

type planHuman struct {
	operationHuman
	order bool
}

func (v planHuman) Plan(p *plans.Plan) {
	_ = PlanText(v.stdout, p, PlanOptions{Color: v.opts.ColorStdout, Order: v.order})
}

func (v planHuman) Saved(path string) {
	fmt.Fprintf(v.stdout, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run the following command to apply:\n    meshx apply %q\n", path, path)
}

func (v planHuman) Unsaved() {
	fmt.Fprintln(v.stdout, "\nNote: You didn't use the -out option to save this plan, so meshx can't guarantee to take exactly these actions if you run \"meshx apply\" now.")
}

type planMarkdown struct {
	operationHuman
	md MarkdownOptions
}

func (v planMarkdown) Plan(p *plans.Plan) {
	fmt.Fprint(v.stdout, joinParts(Markdown(p, v.md)))
}

func (v planMarkdown) Saved(string) {}
func (v planMarkdown) Unsaved()     {}

type planJSON struct{ operationJSON }

func (v planJSON) Plan(p *plans.Plan) { v.stream.Plan(p) }
func (v planJSON) Saved(string)       {}
func (v planJSON) Unsaved()           {}
