package views

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/plans"
)

// Output is the view of meshx output. It observes what the outputs read,
// so it reports progress and notes as the plan does.
type Output interface {
	Operation
	// Output prints the output values the command selected; ViewRaw
	// prints the first. Its diagnostics say why a value cannot be printed.
	Output(outs []plans.OutputValue) hcl.Diagnostics
}

// NewOutput returns output's view: {"name": {"sensitive": bool, "value":
// …}} (ViewJSON), one value bare (ViewRaw), or "name = value" lines with
// values as JSON. Progress and notes go to stderr in every form, since
// stdout carries the values.
func NewOutput(vt ViewType, v *View) Output {
	switch vt {
	case ViewJSON:
		return outputJSON{operationHuman{v}}
	case ViewRaw:
		return outputRaw{operationHuman{v}}
	}
	return outputHuman{operationHuman{v}}
}

type outputHuman struct{ operationHuman }

func (v outputHuman) Output(outs []plans.OutputValue) hcl.Diagnostics {
	for _, ov := range outs {
		b, _ := json.Marshal(displayOutput(ov))
		fmt.Fprintf(v.stdout, "%s = %s\n", ov.Name, EscapeJSON(b))
	}
	return nil
}

type outputRaw struct{ operationHuman }

func (v outputRaw) Output(outs []plans.OutputValue) hcl.Diagnostics {
	s, err := rawOutput(outs[0])
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot print output %q", outs[0].Name), Detail: err.Error() + "."}}
	}
	fmt.Fprintln(v.stdout, s)
	return nil
}

type outputJSON struct{ operationHuman }

func (v outputJSON) Output(outs []plans.OutputValue) hcl.Diagnostics {
	doc := map[string]any{}
	for _, ov := range outs {
		entry := map[string]any{"sensitive": ov.Sensitive}
		if !ov.Sensitive && !plans.IsUnknown(ov.Value) {
			entry["value"] = ov.Value
		}
		doc[ov.Name] = entry
	}
	v.writeJSON(doc)
	return nil
}

func (v outputJSON) Diagnostics(diags hcl.Diagnostics) { v.documentDiagnostics(diags) }

// displayOutput is an output's value as output shows it.
func displayOutput(ov plans.OutputValue) any {
	switch {
	case ov.Sensitive:
		return "<sensitive>"
	case plans.IsUnknown(ov.Value):
		return "(known after apply)"
	}
	return ov.Value
}

// rawOutput is what output -raw prints: a string as it is, another value
// as JSON. A value not known until apply is an error, so a script never
// takes "(known after apply)" for an address.
func rawOutput(ov plans.OutputValue) (string, error) {
	if !ov.Sensitive && plans.IsUnknown(ov.Value) {
		return "", fmt.Errorf("output %q is not known yet: it depends on values known only after apply, such as a load balancer's address. Run meshx apply, then read it again", ov.Name)
	}
	v := displayOutput(ov)
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}
