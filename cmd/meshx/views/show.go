package views

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/planfile"
)

// PartBreak separates the bodies of a markdown plan split to fit
// GitHubCommentLimit, each on a line of its own.
const PartBreak = "<!-- meshx:part-break -->"

// Show is the view of meshx show: a saved plan rendered without touching
// any cluster or VM.
type Show interface {
	// Show renders the saved plan; the error is one writing it.
	Show(f *planfile.File) error
	Diagnostics(diags hcl.Diagnostics)
}

// NewShow returns show's view: the plan document (ViewJSON, see ShowJSON),
// the pull-request comment (ViewMarkdown), or the plan text.
func NewShow(vt ViewType, v *View) Show {
	switch vt {
	case ViewJSON:
		return showJSON{v}
	case ViewMarkdown:
		return showMarkdown{v}
	}
	return showHuman{v}
}

type showHuman struct{ *View }

func (v showHuman) Show(f *planfile.File) error {
	return PlanText(v.stdout, f.Plan(), PlanOptions{Color: v.opts.ColorStdout})
}

type showMarkdown struct{ *View }

func (v showMarkdown) Show(f *planfile.File) error {
	_, err := fmt.Fprint(v.stdout, joinParts(Markdown(f.Plan(), MarkdownOptions{})))
	return err
}

// joinParts joins the bodies of a split markdown plan with PartBreak.
func joinParts(parts []string) string { return strings.Join(parts, "\n"+PartBreak+"\n") }

type showJSON struct{ *View }

func (v showJSON) Show(f *planfile.File) error       { return ShowJSON(v.stdout, f) }
func (v showJSON) Diagnostics(diags hcl.Diagnostics) { v.documentDiagnostics(diags) }
