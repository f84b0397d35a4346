package cli

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/posener/complete"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
)

func init() {
	register("show", func(m *Meta) Command { return &showCommand{Meta: m} })
}

// showCommand renders a saved plan.
type showCommand struct{ *Meta }

func (c *showCommand) Synopsis() string { return "Show a saved plan" }

func (c *showCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] show [options] PLANFILE

  Renders a plan saved with "meshx plan -out=PLANFILE" without touching any
  cluster or VM. Secrets are never in the file: they show as fingerprints.

Options:
  -json               Print the plan document (format_version, resource_changes
                      with before/after, after_unknown, *_sensitive and
                      preconditions), modelled on Terraform's show -json.
  -format=markdown    Print the pull-request comment body instead.
  -no-color           Do not use terminal colours.
`)
}

func (c *showCommand) AutocompleteArgs() complete.Predictor { return complete.PredictFiles("*") }

func (c *showCommand) AutocompleteFlags() complete.Flags {
	return complete.Flags{"-json": complete.PredictNothing, "-no-color": complete.PredictNothing, "-format": complete.PredictSet("text", "markdown")}
}

func (c *showCommand) Run(args []string) int {
	var jsonOut bool
	var format string
	fs := c.FlagSet("show")
	fs.BoolVar(&jsonOut, "json", false, "")
	fs.StringVar(&format, "format", "text", "")
	err := c.Parse(fs, args)
	view := views.NewShow(viewType(jsonOut, format, args, err), c.View())
	switch {
	case err != nil:
		return flagError(view, err)
	case format != "text" && format != "markdown":
		return flagError(view, fmt.Errorf("-format must be text or markdown, not %q", format))
	case fs.NArg() != 1:
		return flagError(view, fmt.Errorf("show needs exactly one saved plan file"))
	}
	f, d := readPlanFile(c.path(fs.Arg(0)))
	if d != nil {
		view.Diagnostics(hcl.Diagnostics{d})
		return ExitError
	}
	if err := view.Show(f); err != nil {
		view.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot show the plan", Detail: err.Error()}})
		return ExitError
	}
	return ExitOK
}
