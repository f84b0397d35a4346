package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/posener/complete"

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
	if err := c.Parse(fs, args); err != nil {
		return c.FlagError(err, false)
	}
	cfg, diags := c.LoadConfig()
	if diags.HasErrors() {
		c.ShowDiagnostics(diags, cfg.Files)
		return ExitError
	}
	exp, d := planner.Expand(cfg)
	if d.HasErrors() {
		c.ShowDiagnostics(d, cfg.Files)
		return ExitError
	}
	var b strings.Builder
	b.WriteString("digraph meshx {\n  rankdir = \"RL\";\n  node [shape = box];\n")
	res := exp.Resources
	sort.Slice(res, func(i, j int) bool { return res[i].Addr.Less(res[j].Addr) })
	for _, r := range res {
		fmt.Fprintf(&b, "  %q [label = %q];\n", r.Addr.String(), r.Addr.String()+"\n"+r.Kind)
	}
	for _, r := range res {
		var deps []string
		for _, d := range r.DependsOn {
			deps = append(deps, d.String())
		}
		sort.Strings(deps)
		for i, d := range deps {
			if i > 0 && deps[i-1] == d {
				continue
			}
			fmt.Fprintf(&b, "  %q -> %q;\n", r.Addr.String(), d)
		}
	}
	b.WriteString("}\n")
	fmt.Fprint(c.Stdout, b.String())
	return ExitOK
}
