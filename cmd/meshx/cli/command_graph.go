package cli

import (
	"strings"

	"github.com/posener/complete"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/planner"
)

func init() {
	register("graph", func(m *Meta) Command { return &graphCommand{Meta: m} })
}

// graphCommand prints the dependency graph of the configuration's
// instances as DOT.
type graphCommand struct{ *Meta }

func (c *graphCommand) Synopsis() string { return "Print the dependency graph as DOT" }

func (c *graphCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] graph [options]

  Prints, in Graphviz DOT, every instance the configuration expands to and
  what it waits for: an edge "a" -> "b" means b is applied before a. It
  touches no cluster and no VM. Render with: meshx graph | dot -Tsvg > g.svg

Options:
` + VarFlagsHelp)
}

func (c *graphCommand) AutocompleteArgs() complete.Predictor { return complete.PredictNothing }
func (c *graphCommand) AutocompleteFlags() complete.Flags    { return c.CompleteVarFlags() }

func (c *graphCommand) Run(args []string) int {
	fs := c.FlagSet("graph")
	c.VarFlags(fs)
	err := c.Parse(fs, args)
	base := c.View()
	view := views.NewGraph(base)
	if err != nil {
		return flagError(view, err)
	}
	cfg, diags := c.LoadConfig()
	base.SetSources(Sources(cfg.Files))
	if diags.HasErrors() {
		view.Diagnostics(diags)
		return ExitError
	}
	exp, d := planner.Expand(cfg)
	if d.HasErrors() {
		view.Diagnostics(d)
		return ExitError
	}
	view.Graph(exp.Resources)
	return ExitOK
}
