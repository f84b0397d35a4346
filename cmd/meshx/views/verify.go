package views

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/verify"
)

// Verify is the view of meshx verify.
type Verify interface {
	Operation
	// Report shows what the checks found.
	Report(r *verify.Report)
}

// NewVerify returns verify's view: one JSON document on stdout
// (ViewJSON, whose errors before a report are a validate-shaped
// document), the pull-request comment (ViewMarkdown), or the table.
// Notes go to stderr in every form.
func NewVerify(vt ViewType, v *View) Verify {
	switch vt {
	case ViewJSON:
		return verifyJSONView{operationHuman{v}}
	case ViewMarkdown:
		return verifyMarkdownView{operationHuman{v}}
	}
	return verifyHuman{operationHuman{v}}
}

type verifyHuman struct{ operationHuman }

func (v verifyHuman) Report(r *verify.Report) {
	_ = verifyText(v.stdout, r, v.opts.ColorStdout)
}

type verifyMarkdownView struct{ operationHuman }

func (v verifyMarkdownView) Report(r *verify.Report) { fmt.Fprint(v.stdout, verifyMarkdown(r)) }

type verifyJSONView struct{ operationHuman }

func (v verifyJSONView) Report(r *verify.Report) { v.writeJSON(verifyDocument(r)) }

func (v verifyJSONView) Diagnostics(diags hcl.Diagnostics) { v.documentDiagnostics(diags) }
