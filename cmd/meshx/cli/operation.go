package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/posener/complete"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/lease"
)

// opFlags are the options plan, apply and destroy share.
type opFlags struct {
	json        bool
	parallelism int
	targets     targetList
	adopt       bool
	force       bool
	lock        bool
	lockTimeout time.Duration
	input       bool
	order       bool
}

func (o *opFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "")
	fs.IntVar(&o.parallelism, "parallelism", 10, "")
	fs.Var(&o.targets, "target", "")
	fs.BoolVar(&o.adopt, "adopt", false, "")
	fs.BoolVar(&o.force, "force-conflicts", false, "")
	fs.BoolVar(&o.lock, "lock", true, "")
	fs.DurationVar(&o.lockTimeout, "lock-timeout", 0, "")
	fs.BoolVar(&o.input, "input", true, "")
	fs.BoolVar(&o.order, "show-order", false, "")
}

const opFlagsHelp = `  -json               Print newline-delimited JSON events (Terraform's UI
                      envelope) instead of text. Implies -input=false.
  -parallelism=N      Observe and change at most N things at once (10).
  -target=ADDRESS     Limit the run to ADDRESS (e.g. vm.ecs1 or
                      service.details.service) and what it depends on;
                      repeatable.
  -adopt              Let meshx take over existing objects it did not create
                      (like adopt = true on every block).
  -force-conflicts    Take fields of meshx's objects that other field
                      managers own (server-side apply --force-conflicts).
                      Repairing drift the plan shows needs no flag.
  -show-order         Also print the changes in numbered waves, the order
                      they run in.
  -no-color           Do not use terminal colours (also NO_COLOR).
`

const lockFlagsHelp = `  -lock=false         Do not take the environment's lock (dangerous).
  -lock-timeout=DUR   Wait up to DUR for another run's lock (default 0s:
                      fail at once with exit status 3).
  -input=false        Never prompt; fail where a prompt would be needed.
`

func (o *opFlags) complete(f complete.Flags) complete.Flags {
	for _, n := range []string{"-json", "-adopt", "-force-conflicts", "-show-order", "-lock", "-input"} {
		f[n] = complete.PredictNothing
	}
	for _, n := range []string{"-parallelism", "-target", "-lock-timeout"} {
		f[n] = complete.PredictAnything
	}
	return f
}

// targetList collects -target flags.
type targetList []providers.Address

func (t *targetList) String() string { return "" }

func (t *targetList) Set(s string) error {
	a, err := providers.ParseAddress(s)
	if err != nil {
		return err
	}
	*t = append(*t, a)
	return nil
}

// op is one run of plan, apply or destroy.
type op struct {
	m     *Meta
	flags opFlags
	cfg   *config.Config
	json  *views.JSON
}

func (m *Meta) newOp(f opFlags) *op {
	o := &op{m: m, flags: f}
	if f.json {
		o.json = views.NewJSON(m.Stdout, views.JSONOptions{Version: Version})
	}
	return o
}

// diagnostics shows diags in the chosen format.
func (o *op) diagnostics(diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	var files map[string]*hcl.File
	if o.cfg != nil {
		files = o.cfg.Files
	}
	if o.json != nil {
		o.json.Diagnostics(diags, Sources(files))
		return
	}
	o.m.ShowDiagnostics(diags, files)
}

// fail reports a plain error as a diagnostic and returns code.
func (o *op) fail(code int, summary string, err error) int {
	o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: err.Error()}})
	return code
}

// load reads the configuration; false means stop (diagnostics shown).
func (o *op) load() bool {
	cfg, diags := o.m.LoadConfig()
	o.cfg = cfg
	o.diagnostics(diags)
	return !diags.HasErrors()
}

// plan observes and diffs; any error, an unobservable target included,
// makes it fail.
func (o *op) plan(ctx context.Context, destroy bool) (*providers.Plan, planner.Expansion, bool) {
	p, exp, unobserved, ok := o.planPartial(ctx, destroy)
	return p, exp, ok && len(unobserved) == 0
}

// planPartial is plan for apply and destroy: when the only errors are
// targets that could not be observed (an unreachable VM), the plan of the
// other targets still holds; it is returned with the failed targets, so
// one VM does not hold up the rest.
func (o *op) planPartial(ctx context.Context, destroy bool) (*providers.Plan, planner.Expansion, []string, bool) {
	p, exp, diags := planner.Plan(ctx, o.cfg, planner.Options{
		Parallelism: o.flags.parallelism,
		Destroy:     destroy,
		Targets:     o.flags.targets,
		Adopt:       o.flags.adopt,
		Force:       o.flags.force,
	})
	o.diagnostics(diags)
	failed, only := planner.TargetFailures(diags)
	if p == nil || !only {
		return p, exp, nil, false
	}
	return p, exp, failed, true
}

// show renders a plan for people or machines.
func (o *op) show(p *providers.Plan) {
	if o.json != nil {
		o.json.Plan(p)
		return
	}
	_ = views.PlanText(o.m.Stdout, p, views.PlanOptions{Color: o.m.ColorStdout(), Order: o.flags.order})
}

// closeProviders releases connections.
func closeProviders(p *providers.Plan) {
	if p == nil {
		return
	}
	for _, pr := range p.Providers {
		_ = pr.Close()
	}
}

// configDigest hashes the configuration files and the final values of the
// non-sensitive variables, so a saved plan can tell it was made from other
// inputs.
//
// Sensitive values are left out: the digest is stored in the plan file, and
// an unkeyed hash of a weak secret can be guessed offline. A keyed hash
// would need a key apply can reproduce without it being in the file, which
// only a secret kept on the machine could give, and plan and apply often
// run on different machines. So only the names of sensitive variables are
// hashed, and variable files are not hashed at all (the values they set
// are, through the variables, and they hold secrets). A sensitive value
// that changed since the plan is caught where it matters, by
// planfile.Compare: the fingerprint of every sensitive attribute a saved
// change sets must be the same in the fresh plan.
func configDigest(cfg *config.Config) string {
	h := sha256.New()
	varFiles := map[string]bool{}
	for _, n := range cfg.VarFiles {
		varFiles[n] = true
	}
	names := make([]string, 0, len(cfg.Files))
	for n := range cfg.Files {
		if !varFiles[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if f := cfg.Files[n]; f != nil {
			fmt.Fprintf(h, "file %s %d\n", n, len(f.Bytes))
			h.Write(f.Bytes)
		}
	}
	for _, v := range cfg.Variables {
		if v.Sensitive {
			fmt.Fprintf(h, "var %s sensitive\n", v.Name)
			continue
		}
		b, err := ctyjson.Marshal(v.Value, v.Value.Type())
		if err != nil {
			b = []byte(v.Value.GoString())
		}
		fmt.Fprintf(h, "var %s %d\n", v.Name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// planVariables records the variables for a plan file: names, and values
// of the non-sensitive ones.
func planVariables(cfg *config.Config) []planfile.Variable {
	var out []planfile.Variable
	for _, v := range cfg.Variables {
		pv := planfile.Variable{Name: v.Name, Sensitive: v.Sensitive}
		if !v.Sensitive && v.Value.IsWhollyKnown() && !v.Value.IsNull() {
			b, err := ctyjson.Marshal(v.Value, v.Value.Type())
			if err == nil {
				pv.Value = jsonValue(b)
			}
		}
		out = append(out, pv)
	}
	return out
}

// controlClient connects to the control cluster, for the lock.
func controlClient(cfg *config.Config) (kubernetes.Interface, error) {
	c := cfg.Control()
	if c == nil {
		return nil, errors.New("no control cluster is configured")
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster.%s: %w", c.Name, err)
	}
	return kubernetes.NewForConfig(rc)
}

// LockTTLEnv names the environment variable that sets how long the lock
// outlives a holder that stopped renewing it (default 30s): for tests and
// unusual setups.
const LockTTLEnv = "MESHX_LOCK_TTL"

// lockTTL reads LockTTLEnv; zero means the lease package's default.
func lockTTL() (time.Duration, error) {
	v := os.Getenv(LockTTLEnv)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", LockTTLEnv, v, err)
	}
	if d < time.Second {
		return 0, fmt.Errorf("%s=%q: the lock lives whole seconds; use at least 1s", LockTTLEnv, v)
	}
	return d, nil
}

// takeLock acquires the environment's lock unless -lock=false. It returns
// a release func, or an exit status when the lock could not be had.
func (o *op) takeLock(ctx context.Context, operation string) (func(), int, bool) {
	if !o.flags.lock {
		return func() {}, 0, true
	}
	client, err := controlClient(o.cfg)
	if err != nil {
		return nil, o.fail(ExitError, "Cannot take the lock", err), false
	}
	ttl, err := lockTTL()
	if err != nil {
		return nil, o.fail(ExitError, "Invalid "+LockTTLEnv, err), false
	}
	l := lease.New(client, lease.Options{Namespace: o.cfg.Meshx.Istio.Namespace, Environment: o.cfg.Meshx.Environment, Operation: operation, Duration: ttl})
	err = l.Acquire(ctx, o.flags.lockTimeout, func(h lease.Info) {
		if o.json == nil {
			fmt.Fprintf(o.m.Stderr, "Waiting up to %s for the lock held by %s (lock ID %s)...\n", o.flags.lockTimeout, h.Who, h.ID)
		}
	})
	var held *lease.HeldError
	if errors.As(err, &held) {
		o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Error acquiring the lock",
			Detail: fmt.Sprintf("%s.\n\nmeshx serialises applies of one environment with the Lease %s/%s. Wait for that run to finish, retry with -lock-timeout=5m, or, if you are sure it is dead, run: meshx force-unlock %s",
				held.Error(), o.cfg.Meshx.Istio.Namespace, lease.Name(o.cfg.Meshx.Environment), held.Holder.ID)}})
		return nil, ExitLocked, false
	}
	if err != nil {
		return nil, o.fail(ExitError, "Cannot take the lock", err), false
	}
	return func() {
		if err := l.Release(context.Background()); err != nil {
			fmt.Fprintf(o.m.Stderr, "Warning: releasing the lock: %s\n", err)
		}
	}, 0, true
}

// confirm asks for "yes". It never prompts where nobody can answer: with
// -input=false, -json, or when stdout is not a terminal (CI logs, pipes),
// it fails instead.
func (o *op) confirm(question, detail string) bool {
	if !o.flags.input || o.json != nil || !o.m.stdoutTerminal {
		why := "prompts are off (-input=false or -json)"
		if o.flags.input && o.json == nil {
			why = "its output is not a terminal, so nobody could answer a prompt"
		}
		o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Approval needed",
			Detail: "This run needs approval but " + why + ". Nothing was changed. Pass -auto-approve, or apply a saved plan file."}})
		return false
	}
	fmt.Fprintf(o.m.Stdout, "\n%s\n  %s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question, detail)
	line, _ := bufio.NewReader(o.m.Stdin).ReadString('\n')
	fmt.Fprintln(o.m.Stdout)
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(o.m.Stderr, "Error: not approved; nothing was changed.")
		return false
	}
	return true
}

// interruptible returns a context cancelled by SIGINT or SIGTERM: the
// executor then starts nothing new, lets running steps finish, and the lock
// is released.
func (o *op) interruptible(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			if o.json == nil {
				fmt.Fprintf(o.m.Stderr, "\nReceived %s: letting running changes finish, starting no new ones (interrupt again to exit at once)...\n", s)
			}
			cancel()
		case <-ctx.Done():
			return
		}
		// A running step may be a long wait (a load balancer's address):
		// a second interrupt exits now, as Terraform does. The lock is not
		// released; it expires by itself.
		<-ch
		fmt.Fprintln(o.m.Stderr, "Two interrupts received: exiting at once. The environment's lock expires by itself; run meshx plan to see what remains.")
		os.Exit(ExitError)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// jsonValue decodes JSON bytes into a JSON-shaped Go value.
func jsonValue(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	return v
}
