package cli

import (
	"fmt"
	"strings"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/config"
	"github.com/posener/complete"
)

func init() {
	register("validate", func(m *Meta) Command { return &validateCommand{Meta: m} })
}

// validateCommand checks the configuration offline.
type validateCommand struct{ *Meta }

func (c *validateCommand) Synopsis() string {
	return "Check the configuration without touching clusters or VMs"
}

func (c *validateCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] validate [options]

  Checks the configuration in the current directory (or -chdir=DIR): syntax,
  types, names, references and cycles, variables and their validation rules,
  one control cluster, non-overlapping pod and service CIDRs, VM addresses
  outside the clusters' ranges, ports and namespaces. It reads every *.hcl
  file of the directory, plus meshx.vars and *.auto.vars, and touches no
  cluster and no VM. It needs no variable values: a variable without one
  is unknown, as with terraform validate, and the checks that need its
  value are skipped, so CI can validate before credentials exist.

  Exit status: 0 when the configuration is valid (warnings allowed),
  1 when it is not.

Options:
  -json               Print the result as JSON, in the shape of Terraform's
                      "validate -json" (format_version "1.0").
  -no-color           Do not use terminal colours.
` + VarFlagsHelp)
}

func (c *validateCommand) AutocompleteArgs() complete.Predictor { return complete.PredictNothing }

func (c *validateCommand) AutocompleteFlags() complete.Flags {
	f := c.CompleteVarFlags()
	f["-json"] = complete.PredictNothing
	return f
}

func (c *validateCommand) Run(args []string) int {
	var jsonOut bool
	fs := c.FlagSet("validate")
	fs.BoolVar(&jsonOut, "json", false, "")
	c.VarFlags(fs)
	err := c.Parse(fs, args)
	base := c.View()
	view := views.NewValidate(viewType(jsonOut, "", args, err), base)
	if err != nil {
		return flagError(view, err)
	}
	if fs.NArg() > 0 {
		return flagError(view, fmt.Errorf("validate takes no arguments, but got %q; to check another directory, use meshx -chdir=%s validate", fs.Arg(0), fs.Arg(0)))
	}
	// Variables without values stay unknown, as with terraform validate,
	// so CI can validate before any credential or address exists.
	cfg, diags := config.Load(c.WorkingDir, config.LoadOptions{Vars: c.vars, Env: c.Env, UnsetUnknown: true})
	base.SetSources(Sources(cfg.Files))
	view.Results(diags)
	if diags.HasErrors() {
		return ExitError
	}
	return ExitOK
}
