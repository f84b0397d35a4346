package cli

import (
	"context"
	"fmt"
	"os"
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
const PartBreak = "<!-- meshx:part-break -->"

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
	if err := c.Parse(fs, args); err != nil {
		return c.FlagError(err, f.json || wantsJSON(args))
	}
	if fs.NArg() > 0 {
		return c.FlagError(fmt.Errorf("plan takes no arguments, but got %q", fs.Arg(0)), f.json)
	}
	if format != "text" && format != "markdown" {
		return c.FlagError(fmt.Errorf("-format must be text or markdown, not %q", format), f.json)
	}
	o := c.newOp(f)
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
	switch {
	case format == "markdown":
		footer := ""
		if url := os.Getenv("MESHX_RUN_URL"); url != "" {
			footer = fmt.Sprintf("[CI run](%s)", url)
		}
		parts := views.Markdown(p.Plan, views.MarkdownOptions{Order: f.order, Footer: footer})
		fmt.Fprint(c.Stdout, strings.Join(parts, "\n"+PartBreak+"\n"))
	default:
		o.show(p.Plan)
	}
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
		if o.json == nil && format == "text" {
			fmt.Fprintf(c.Stdout, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run the following command to apply:\n    meshx apply %q\n", out, out)
		}
	case o.json == nil && format == "text" && p.HasChanges():
		fmt.Fprintln(c.Stdout, "\nNote: You didn't use the -out option to save this plan, so meshx can't guarantee to take exactly these actions if you run \"meshx apply\" now.")
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
