package views

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Validate is the view of meshx validate.
type Validate interface {
	// Results reports what validating found: the diagnostics, and that the
	// configuration is valid when none is an error.
	Results(diags hcl.Diagnostics)
	// Diagnostics reports what stopped validate before it started, such
	// as a bad flag.
	Diagnostics(diags hcl.Diagnostics)
}

// NewValidate returns validate's view: Terraform's validate -json document
// on stdout (ViewJSON), or diagnostics on stderr and a success line.
func NewValidate(vt ViewType, v *View) Validate {
	if vt == ViewJSON {
		return validateJSON{v}
	}
	return validateHuman{v}
}

type validateHuman struct{ *View }

func (v validateHuman) Results(diags hcl.Diagnostics) {
	v.Diagnostics(diags)
	switch {
	case diags.HasErrors():
	case len(diags) > 0:
		fmt.Fprintln(v.stdout, "Success! The configuration is valid, but there were some validation warnings as shown above.")
	default:
		fmt.Fprintln(v.stdout, "Success! The configuration is valid.")
	}
}

type validateJSON struct{ *View }

func (v validateJSON) Results(diags hcl.Diagnostics) {
	v.writeJSON(NewValidateResult(diags, v.sources))
}

func (v validateJSON) Diagnostics(diags hcl.Diagnostics) { v.documentDiagnostics(diags) }
