package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/posener/complete"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/planfile"
)

func init() {
	register("plan", func(m *Meta) Command { return &planCommand{Meta: m} })
}

// planCommand observes clusters and VMs and prints what apply would do.
type planCommand struct{ *Meta }

func (c *planCommand) Synopsis() string { return "Show what apply would change" }

func (c *planCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] plan [options]

  Observes the clusters and VMs the configuration names (load balancers and
  their addresses, Services, Endpoints, secrets, files, packages and units),
  compares them with the configuration and prints the changes apply would
  make, in dependency order. It changes nothing.

  Exit status: 0 success, 1 error; with -detailed-exitcode 0 means no
  changes, 1 an error and 2 that there are changes.

Options:
  -out=FILE           Save the plan to FILE; "meshx apply FILE" applies
                      exactly it, refusing if anything changed since.
  -destroy            Plan the removal of everything the environment owns.
  -detailed-exitcode  Exit 2 when there are changes.
  -format=markdown    Print a pull-request comment instead of text. Bodies
                      over 65,536 characters are split; the parts are
                      separated by a line "<!-- meshx:part-break -->".
` + opFlagsHelp + VarFlagsHelp)
}

func (c *planCommand) AutocompleteArgs() complete.Predictor { return complete.PredictNothing }

func (c *planCommand) AutocompleteFlags() complete.Flags {
	var f opFlags
	fl := f.complete(c.CompleteVarFlags())
	fl["-out"] = complete.PredictFiles("*")
	fl["-destroy"] = complete.PredictNothing
	fl["-detailed-exitcode"] = complete.PredictNothing
	fl["-format"] = complete.PredictSet("text", "markdown")
	return fl
}

// PartBreak separates the bodies of a split markdown plan.
const PartBreak = views.PartBreak

func (c *planCommand) Run(args []string) int {
	var f opFlags
	var out, format string
	var destroy, detailed bool
	fs := c.FlagSet("plan")
	f.register(fs)
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&format, "format", "text", "")
	fs.BoolVar(&destroy, "destroy", false, "")
	fs.BoolVar(&detailed, "detailed-exitcode", false, "")
	c.VarFlags(fs)
	err := c.Parse(fs, args)
	footer := ""
	if url := c.getenv(RunURLEnv); url != "" {
		footer = fmt.Sprintf("[CI run](%s)", url)
	}
	base := c.View()
	view := views.NewPlan(viewType(f.json, format, args, err), base, views.PlanViewOptions{Order: f.order, Footer: footer})
	switch {
	case err != nil:
		return flagError(view, err)
	case fs.NArg() > 0:
		return flagError(view, fmt.Errorf("plan takes no arguments, but got %q", fs.Arg(0)))
	case format != "text" && format != "markdown":
		return flagError(view, fmt.Errorf("-format must be text or markdown, not %q", format))
	}
	o := c.newOp(f, base, view)
	if !o.load() {
		return ExitError
	}
	ctx, stop := o.interruptible(context.Background())
	defer stop()
	// Targets that could not be observed are reported and left out, and
	// the plan of the rest is shown, as apply shows it; the run fails.
	p, _, unobserved, ok := o.planPartial(ctx, destroy)
	defer p.Close()
	if !ok {
		return ExitError
	}
	view.Plan(p.Plan)
	switch {
	case len(unobserved) > 0:
		if out != "" {
			o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Plan not saved",
				Detail: fmt.Sprintf("%s could not be observed, so %s was not written: a saved plan is applied whole or not at all. Fix the connection and plan again.", strings.Join(unobserved, ", "), out)}})
		}
		return ExitError
	case out != "":
		pf := planfile.FromPlan(p.Plan)
		pf.MeshxVersion = Version
		pf.CreatedAt = time.Now().UTC()
		pf.ConfigDigest = configDigest(o.cfg)
		pf.Variables = planVariables(o.cfg)
		if err := writePlanFile(c.path(out), pf); err != nil {
			return o.fail(ExitError, "Cannot save the plan", err)
		}
		view.Saved(out)
	case p.HasChanges():
		view.Unsaved()
	}
	if detailed && p.HasChanges() {
		return ExitChanges
	}
	return ExitOK
}

// path resolves a file argument against -chdir, as if meshx had changed
// directory there.
func (m *Meta) path(p string) string {
	if filepath.IsAbs(p) || m.WorkingDir == "" {
		return p
	}
	return filepath.Join(m.WorkingDir, p)
}
