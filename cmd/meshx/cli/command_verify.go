package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/posener/complete"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/verify"
)

func init() {
	register("verify", func(m *Meta) Command { return &verifyCommand{Meta: m} })
}

// verifyCommand proves, read-only, that an applied environment works from
// inside each VM, with each remote cluster's stored credentials and in the
// registered Endpoints.
type verifyCommand struct{ *Meta }

func (c *verifyCommand) Synopsis() string {
	return "Check from each VM and cluster that the mesh really works"
}

func (c *verifyCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] verify [options]

  Checks, for every VM and cluster of the environment at once, that what
  apply set up works, and prints one table:

  - from each VM, over SSH: every name its dnsmasq kubedns file promises
    resolves through the VM's own resolver to the load balancer address
    meshx expects now (and a cluster Service name to its ClusterIP through
    dns-ilb); each control-plane address in the file accepts a TCP
    connection from the VM on each port the Istio profile needs; the units
    are enabled and active; the certificates on disk chain to the cluster's
    current root and do not expire within -expiry-threshold (expiry shown);
  - for each remote cluster: the kubeconfig stored in the control cluster's
    secret authenticates, can list what the reader role allows, and cannot
    write;
  - for each service: its Endpoints carry exactly the VMs' mesh IPs.

  Each failing check says what was seen, what was expected and what to do.
  It changes nothing, takes no lock and never prints a secret.

  Exit status: 0 when every check passes, 1 otherwise.

Options:
  -json               Print the report as one JSON document
                      (format_version "1.0").
  -format=markdown    Print a pull-request comment instead of text.
  -expiry-threshold=D Fail a certificate expiring within D (default 7d;
                      days as Nd, or a Go duration such as 36h).
  -parallelism=N      Check up to N VMs, remote clusters and services at
                      once (default 64).
  -request-timeout=D  Bound each Kubernetes API request to D, for every
                      cluster (default: request_timeout, else 30s).
  -connect-timeout=D  Bound opening each SSH connection to D, for every VM
                      (default: ssh connect_timeout, else 20s).
  -no-color           Do not use terminal colours (also NO_COLOR).
` + VarFlagsHelp)
}

func (c *verifyCommand) AutocompleteArgs() complete.Predictor { return complete.PredictNothing }

func (c *verifyCommand) AutocompleteFlags() complete.Flags {
	f := c.CompleteVarFlags()
	f["-json"] = complete.PredictNothing
	f["-format"] = complete.PredictSet("text", "markdown")
	for _, n := range []string{"-expiry-threshold", "-parallelism", "-request-timeout", "-connect-timeout"} {
		f[n] = complete.PredictAnything
	}
	return f
}

func (c *verifyCommand) Run(args []string) int {
	var f opFlags
	var format string
	threshold := days(verify.DefaultExpiryThreshold)
	fs := c.FlagSet("verify")
	fs.BoolVar(&f.json, "json", false, "")
	fs.StringVar(&format, "format", "text", "")
	fs.Var(&threshold, "expiry-threshold", "")
	f.parallelism = verify.DefaultParallelism
	fs.Var((*positiveInt)(&f.parallelism), "parallelism", "")
	fs.DurationVar(&f.requestTimeout, "request-timeout", 0, "")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 0, "")
	c.VarFlags(fs)
	err := c.Parse(fs, args)
	base := c.View()
	view := views.NewVerify(viewType(f.json, format, args, err), base)
	switch {
	case err != nil:
		return flagError(view, err)
	case fs.NArg() > 0:
		return flagError(view, fmt.Errorf("verify takes no arguments, but got %q", fs.Arg(0)))
	case format != "text" && format != "markdown":
		return flagError(view, fmt.Errorf("-format must be text or markdown, not %q", format))
	case f.json && format == "markdown":
		return flagError(view, fmt.Errorf("-json and -format=markdown exclude each other"))
	}
	o := c.newOp(f, base, view)
	if !o.load() {
		return ExitError
	}
	ctx, stop := o.interruptible(context.Background())
	defer stop()
	rep, diags := verify.Run(ctx, o.cfg, verify.Options{
		ExpiryThreshold: time.Duration(threshold),
		Parallelism:     f.parallelism,
		RequestTimeout:  f.requestTimeout,
		Log:             view.Note,
		PassphraseEnv:   SSHPassphraseEnv,
	})
	o.diagnostics(diags)
	if rep == nil {
		return ExitError
	}
	view.Report(rep)
	if !rep.OK() {
		return ExitError
	}
	return ExitOK
}

// days is a duration flag that also takes whole days ("7d"), the unit
// certificate lifetimes are thought in.
type days time.Duration

func (d *days) String() string {
	if v := time.Duration(*d); v%(24*time.Hour) == 0 {
		return strconv.Itoa(int(v/(24*time.Hour))) + "d"
	}
	return time.Duration(*d).String()
}

func (d *days) Set(s string) error {
	var v time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		i, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("want a number of days like 7d, or a duration like 36h, not %q", s)
		}
		v = time.Duration(i) * 24 * time.Hour
	} else {
		var err error
		if v, err = time.ParseDuration(s); err != nil {
			return fmt.Errorf("want a number of days like 7d, or a duration like 36h, not %q", s)
		}
	}
	if v <= 0 {
		return fmt.Errorf("want a positive duration, not %q", s)
	}
	*d = days(v)
	return nil
}
