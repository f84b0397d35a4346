package cli

import (
	"context"
	"fmt"
	"strings"

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
	if err := c.Parse(fs, args); err != nil {
		return c.FlagError(err, false)
	}
	if fs.NArg() != 1 {
		return c.FlagError(fmt.Errorf("force-unlock needs the lock ID"), false)
	}
	cfg, diags := c.LoadConfig()
	if diags.HasErrors() {
		c.ShowDiagnostics(diags, cfg.Files)
		return ExitError
	}
	client, _, err := controlClient(cfg)
	if err != nil {
		fmt.Fprintf(c.Stderr, "Error: %s\n", err)
		return ExitError
	}
	if err := lock.ForceUnlock(context.Background(), client, cfg.Meshx.Istio.Namespace, cfg.Meshx.Environment, fs.Arg(0)); err != nil {
		// The error may quote the Lease's holder, which the cluster says.
		fmt.Fprintf(c.Stderr, "Error: %s\n", views.Escape(err.Error()))
		return ExitError
	}
	fmt.Fprintf(c.Stdout, "meshx unlocked environment %s.\n", cfg.Meshx.Environment)
	return ExitOK
}
