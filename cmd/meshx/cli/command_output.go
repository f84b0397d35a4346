package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
	if err := c.Parse(fs, args); err != nil {
		return c.FlagError(err, jsonOut || wantsJSON(args))
	}
	if fs.NArg() > 1 || (raw && fs.NArg() != 1) {
		return c.FlagError(fmt.Errorf("output takes at most one output NAME (and -raw needs one)"), jsonOut)
	}
	o := c.newOp(opFlags{parallelism: 10})
	if !o.load() {
		return ExitError
	}
	p, diags := planner.Outputs(context.Background(), o.cfg, fs.Args(), planner.Options{
		Parallelism: planner.DefaultObserveParallelism,
		Progress:    o.observeProgress,
		Log:         o.note,
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
			fmt.Fprintf(c.Stderr, "Error: the configuration has no output named %q.\n", name)
			return ExitError
		}
	}
	switch {
	case raw:
		s, err := rawOutput(outs[0])
		if err != nil {
			fmt.Fprintf(c.Stderr, "Error: %s\n", err)
			return ExitError
		}
		fmt.Fprintln(c.Stdout, s)
	case jsonOut:
		doc := map[string]any{}
		for _, ov := range outs {
			entry := map[string]any{"sensitive": ov.Sensitive}
			if !ov.Sensitive && !plans.IsUnknown(ov.Value) {
				entry["value"] = ov.Value
			}
			doc[ov.Name] = entry
		}
		c.writeJSON(doc)
	default:
		for _, ov := range outs {
			b, _ := json.Marshal(displayOutput(ov))
			fmt.Fprintf(c.Stdout, "%s = %s\n", ov.Name, views.EscapeJSON(b))
		}
	}
	return ExitOK
}

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
