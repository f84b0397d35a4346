package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/posener/complete"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/lock"
	"github.com/meshx-dev/meshx/cmd/meshx/views"
)

func init() {
	register("force-unlock", func(m *Meta) Command { return &forceUnlockCommand{Meta: m} })
}

// forceUnlockCommand frees a lock whose holder is known to be dead.
type forceUnlockCommand struct{ *Meta }

func (c *forceUnlockCommand) Synopsis() string { return "Release a stuck lock" }

func (c *forceUnlockCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] force-unlock LOCK_ID

  Releases the environment's lock if LOCK_ID (printed by the run that is
  waiting for it) still holds it. Locks expire by themselves about 30 s
  after their holder dies; use this only when you know the holder is gone
  and cannot wait.
`)
}

func (c *forceUnlockCommand) AutocompleteArgs() complete.Predictor { return complete.PredictNothing }
func (c *forceUnlockCommand) AutocompleteFlags() complete.Flags    { return c.CompleteVarFlags() }

func (c *forceUnlockCommand) Run(args []string) int {
	fs := c.FlagSet("force-unlock")
	c.VarFlags(fs)
	err := c.Parse(fs, args)
	base := c.View()
	view := views.NewForceUnlock(base)
	switch {
	case err != nil:
		return flagError(view, err)
	case fs.NArg() != 1:
		return flagError(view, fmt.Errorf("force-unlock needs the lock ID"))
	}
	cfg, diags := c.LoadConfig()
	base.SetSources(Sources(cfg.Files))
	if diags.HasErrors() {
		view.Diagnostics(diags)
		return ExitError
	}
	client, _, err := controlClient(cfg)
	if err != nil {
		view.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot reach the control cluster", Detail: err.Error() + "."}})
		return ExitError
	}
	// The error may quote the Lease's holder, which the cluster says; the
	// view escapes it.
	if err := lock.ForceUnlock(context.Background(), client, cfg.Meshx.Istio.Namespace, cfg.Meshx.Environment, fs.Arg(0)); err != nil {
		view.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot release the lock", Detail: err.Error() + "."}})
		return ExitError
	}
	view.Unlocked(cfg.Meshx.Environment)
	return ExitOK
}
