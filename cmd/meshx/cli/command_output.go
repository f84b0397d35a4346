package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/posener/complete"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
)

func init() {
	register("output", func(m *Meta) Command { return &outputCommand{Meta: m} })
}

// outputCommand prints output values, read from the live systems (meshx
// keeps no state file).
type outputCommand struct{ *Meta }

func (c *outputCommand) Synopsis() string { return "Show output values" }

func (c *outputCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] output [options] [NAME]

  Prints the configuration's output values, reading what they depend on
  (load-balancer addresses, discovered CIDRs) from the clusters: meshx keeps
  no state file. Only what the outputs read is observed: values the
  configuration gives need no connection, and VMs are never contacted. A
  value that depends on something not applied yet prints as (known after
  apply); with -raw it is an error (exit status 1). Sensitive values print
  as <sensitive>.

Options:
  -json               Print {"name": {"sensitive": bool, "value": …}}.
  -raw                Print NAME's string value alone, for scripts.
` + VarFlagsHelp)
}

func (c *outputCommand) AutocompleteArgs() complete.Predictor { return complete.PredictAnything }

func (c *outputCommand) AutocompleteFlags() complete.Flags {
	f := c.CompleteVarFlags()
	f["-json"] = complete.PredictNothing
	f["-raw"] = complete.PredictNothing
	return f
}

func (c *outputCommand) Run(args []string) int {
	var jsonOut, raw bool
	fs := c.FlagSet("output")
	fs.BoolVar(&jsonOut, "json", false, "")
	fs.BoolVar(&raw, "raw", false, "")
	c.VarFlags(fs)
	err := c.Parse(fs, args)
	vt := viewType(jsonOut, "", args, err)
	if raw && err == nil {
		vt = views.ViewRaw
	}
	base := c.View()
	view := views.NewOutput(vt, base)
	switch {
	case err != nil:
		return flagError(view, err)
	case fs.NArg() > 1 || (raw && fs.NArg() != 1):
		return flagError(view, fmt.Errorf("output takes at most one output NAME (and -raw needs one)"))
	}
	o := c.newOp(opFlags{parallelism: 10}, base, view)
	if !o.load() {
		return ExitError
	}
	p, diags := planner.Outputs(context.Background(), o.cfg, fs.Args(), planner.Options{
		Parallelism:   planner.DefaultObserveParallelism,
		Progress:      view.ObserveProgress,
		Log:           view.Note,
		PassphraseEnv: SSHPassphraseEnv,
	})
	defer p.Close()
	o.diagnostics(diags)
	if p == nil || diags.HasErrors() {
		return ExitError
	}
	outs := p.Outputs
	if fs.NArg() == 1 {
		name := fs.Arg(0)
		outs = nil
		for _, ov := range p.Outputs {
			if ov.Name == name {
				outs = append(outs, ov)
			}
		}
		if len(outs) == 0 {
			o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No such output",
				Detail: fmt.Sprintf("The configuration has no output named %q.%s", name, didYouMean(name, outputNames(p.Outputs)))}})
			return ExitError
		}
	}
	if d := view.Output(outs); d.HasErrors() {
		o.diagnostics(d)
		return ExitError
	}
	return ExitOK
}

// outputNames are the names of outs, for a suggestion.
func outputNames(outs []plans.OutputValue) []string {
	names := make([]string, len(outs))
	for i, ov := range outs {
		names[i] = ov.Name
	}
	return names
}
