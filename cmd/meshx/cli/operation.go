package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/posener/complete"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/lock"
	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers/kube"
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
	// requestTimeout and connectTimeout, when set, override every
	// cluster's request_timeout and every VM's ssh connect_timeout.
	requestTimeout time.Duration
	connectTimeout time.Duration
}

func (o *opFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "")
	o.parallelism = 10
	fs.Var((*positiveInt)(&o.parallelism), "parallelism", "")
	fs.Var(&o.targets, "target", "")
	fs.BoolVar(&o.adopt, "adopt", false, "")
	fs.BoolVar(&o.force, "force-conflicts", false, "")
	fs.BoolVar(&o.lock, "lock", true, "")
	fs.DurationVar(&o.lockTimeout, "lock-timeout", 0, "")
	fs.BoolVar(&o.input, "input", true, "")
	fs.BoolVar(&o.order, "show-order", false, "")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 0, "")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 0, "")
}

const opFlagsHelp = `  -json               Print newline-delimited JSON events (Terraform's UI
                      envelope) instead of text. Implies -input=false.
  -parallelism=N      Change at most N things at once (10). Observing only
                      reads: it covers up to 64 clusters and VMs at once
                      (or N when higher).
  -request-timeout=D  Bound each Kubernetes API request to D, for every
                      cluster (default: request_timeout, else 30s).
  -connect-timeout=D  Bound opening each SSH connection to D, for every VM
                      (default: ssh connect_timeout, else 20s).
  -target=ADDRESS     Limit the run to ADDRESS (e.g. vm.ecs1 or
                      service.details.service) and what it depends on;
                      repeatable. The plan then says it is partial.
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
	for _, n := range []string{"-parallelism", "-target", "-lock-timeout", "-request-timeout", "-connect-timeout"} {
		f[n] = complete.PredictAnything
	}
	return f
}

// positiveInt is an int flag that refuses zero and negative numbers:
// -parallelism=0 would start nothing and wait forever.
type positiveInt int

func (p *positiveInt) String() string { return strconv.Itoa(int(*p)) }

func (p *positiveInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a whole number, not %q", s)
	}
	if n < 1 {
		return fmt.Errorf("want 1 or more, not %d", n)
	}
	*p = positiveInt(n)
	return nil
}

// targetList collects -target flags.
type targetList []plans.Address

func (t *targetList) String() string { return "" }

func (t *targetList) Set(s string) error {
	a, err := plans.ParseAddress(s)
	if err != nil {
		return err
	}
	*t = append(*t, a)
	return nil
}

// op is one run of plan, apply, destroy or output.
type op struct {
	m     *Meta
	flags opFlags
	cfg   *config.Config
	// base is the view the command's view is built on; load gives it the
	// configuration's sources.
	base *views.View
	view views.Operation
	// forget, for meshx forget, are the targets to drop from the inventory.
	forget []plans.Address
}

func (m *Meta) newOp(f opFlags, base *views.View, view views.Operation) *op {
	return &op{m: m, flags: f, base: base, view: view}
}

// diagnostics shows diags in the command's view.
func (o *op) diagnostics(diags hcl.Diagnostics) {
	if len(diags) > 0 {
		o.view.Diagnostics(diags)
	}
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
	o.base.SetSources(Sources(cfg.Files))
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"-request-timeout", o.flags.requestTimeout}, {"-connect-timeout", o.flags.connectTimeout}} {
		if f.d < 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + f.name,
				Detail: fmt.Sprintf("%s=%s is negative. Give a positive duration, like %s=45s.", f.name, f.d, f.name)})
		}
	}
	o.diagnostics(diags)
	if diags.HasErrors() {
		return false
	}
	if d := o.flags.requestTimeout; d > 0 {
		for _, c := range cfg.Clusters {
			c.RequestTimeout = d
		}
	}
	if d := o.flags.connectTimeout; d > 0 {
		for _, v := range cfg.VMs {
			v.SSH.ConnectTimeout = d
		}
	}
	return true
}

// planPartial observes and diffs. When the only errors are targets that
// could not be observed (an unreachable VM), the plan of the other targets
// still holds; it is returned with the failed targets, so one VM does not
// hold up the rest, and plan and apply show the same partial plan.
func (o *op) planPartial(ctx context.Context, destroy bool) (*planner.Plan, planner.Expansion, []string, bool) {
	p, exp, diags := planner.Make(ctx, o.cfg, planner.Options{
		Parallelism: max(planner.DefaultObserveParallelism, o.flags.parallelism),
		Progress:    o.view.ObserveProgress,
		Log:         o.view.Note,
		Destroy:     destroy,
		Targets:     o.flags.targets,
		Forget:      o.forget,
		Adopt:       o.flags.adopt,
		Force:       o.flags.force,
		// The passphrase variable is the CLI's to name.
		PassphraseEnv: SSHPassphraseEnv,
	})
	o.diagnostics(diags)
	if p == nil {
		return nil, exp, nil, false
	}
	o.diagnostics(p.Unreachable)
	o.describeClusters(p)
	if diags.HasErrors() {
		return p, exp, nil, false
	}
	return p, exp, p.Unobserved, true
}

// describeClusters records in p the context and server each cluster block
// reached, which every view names above the plan.
// Removed clusters the inventory still records follow, by name.
func (o *op) describeClusters(p *planner.Plan) {
	declared := map[string]bool{}
	for _, c := range o.cfg.Clusters {
		declared["cluster."+c.Name] = true
		if kp, ok := p.Providers["cluster."+c.Name].(*kube.Provider); ok {
			p.Clusters = append(p.Clusters, plans.ClusterEndpoint{Name: c.Name, Context: kp.Context(), Server: kp.Server()})
		}
	}
	for _, t := range slices.Sorted(maps.Keys(p.Providers)) {
		if kp, ok := p.Providers[t].(*kube.Provider); ok && !declared[t] {
			p.Clusters = append(p.Clusters, plans.ClusterEndpoint{Name: strings.TrimPrefix(t, "cluster."), Context: kp.Context(), Server: kp.Server()})
		}
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

// controlClient connects to the control cluster, for the lock. It also
// returns the API server's URL, for messages.
func controlClient(cfg *config.Config) (kubernetes.Interface, string, error) {
	c := cfg.Control()
	if c == nil {
		return nil, "", errors.New("no control cluster is configured")
	}
	client, err := kube.NewClient(planner.KubeCluster(c))
	if err != nil {
		return nil, "", err // names the cluster already
	}
	return client, client.Server, nil
}

// lockTTL reads LockTTLEnv; zero means the lock package's default.
func (m *Meta) lockTTL() (time.Duration, error) {
	v := m.getenv(LockTTLEnv)
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

// runLock is the environment's lock as one run holds it.
type runLock struct {
	l    *lock.Lock // nil with -lock=false
	stop func()
	view views.Lock
}

// lost says why the lock was lost, or nil.
func (r *runLock) lost() error {
	if r.l == nil {
		return nil
	}
	return r.l.Lost()
}

// release frees the lock.
func (r *runLock) release() {
	r.stop()
	if r.l == nil {
		return
	}
	if err := r.l.Release(context.Background()); err != nil {
		r.view.LockReleaseFailed(err)
	}
}

// takeLock acquires the environment's lock unless -lock=false. It returns
// a context that is cancelled, with the lease's error as its cause, when
// the lock is lost (the executor then starts no new change), or an exit
// status when the lock could not be had. The lock never changes the
// cluster before approval: its Lease lives in the Istio namespace, which
// must exist.
func (o *op) takeLock(ctx context.Context, operation string, view views.Lock) (context.Context, *runLock, int, bool) {
	if !o.flags.lock {
		return ctx, &runLock{stop: func() {}}, 0, true
	}
	client, server, err := controlClient(o.cfg)
	if err != nil {
		return nil, nil, o.fail(ExitError, "Cannot take the lock", err), false
	}
	ttl, err := o.m.lockTTL()
	if err != nil {
		return nil, nil, o.fail(ExitError, "Invalid "+LockTTLEnv, err), false
	}
	ns, env := o.cfg.Meshx.Istio.Namespace, o.cfg.Meshx.Environment
	l := lock.New(client, lock.Options{Namespace: ns, Environment: env, Operation: operation, Duration: ttl, RunURL: o.m.runURL()})
	err = l.Acquire(ctx, o.flags.lockTimeout, func(h lock.Info) {
		view.WaitingForLock(o.flags.lockTimeout, h.Who, h.ID)
	})
	control := "cluster." + o.cfg.Control().Name
	var held *lock.HeldError
	var missing *lock.NamespaceMissingError
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &held):
		o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Error acquiring the lock",
			Detail: fmt.Sprintf("%s.\n\nmeshx serialises applies of one environment with the Lease %s/%s. Wait for that run to finish, retry with -lock-timeout=5m, or, if you are sure it is dead, run: meshx force-unlock %s",
				held.Error(), ns, lock.Name(env), held.Holder.ID)}})
		return nil, nil, ExitLocked, false
	case errors.As(err, &missing):
		o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No Istio namespace for the lock",
			Detail: fmt.Sprintf("Namespace %s does not exist in %s (%s). meshx keeps the environment's lock, the Lease %s, in the Istio namespace (meshx.istio.namespace), and creates nothing before you approve a plan, so nothing was changed.\n\nCheck that %s is the cluster where Istio is installed (kubeconfig and context) and that meshx.istio.namespace names its namespace. To let this apply create the namespace, run it once with -lock=false, with no other run in progress.",
				ns, control, server, lock.Name(env), control)}})
		return nil, nil, ExitError, false
	case err != nil && !errors.As(err, &status):
		c := o.cfg.Control()
		reach := fmt.Errorf("cannot reach %s (%s): %w", control, server, unwrapURL(err))
		if h := kube.TimeoutHint(err, c.Name, server, kube.RequestTimeout(c.RequestTimeout)); h != "" {
			reach = fmt.Errorf("%w\n\n%s", reach, h)
		}
		return nil, nil, o.fail(ExitError, "Cannot reach "+control, reach), false
	case err != nil:
		return nil, nil, o.fail(ExitError, "Cannot take the lock", err), false
	}
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-l.Gone():
			view.LockLost(l.Lost())
			cancel(l.Lost())
		case <-ctx.Done():
		}
	}()
	return ctx, &runLock{l: l, stop: func() { cancel(nil) }, view: view}, 0, true
}

// unwrapURL drops client-go's "Get \"https://…/leases/…\": " prefix: the
// message names the server already.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// lockLost reports a lost lock after a run and returns the exit status.
func (o *op) lockLost(lk *runLock) int {
	o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Lost the environment's lock",
		Detail: fmt.Sprintf("%s.\n\nmeshx started no change after that and let the running ones finish (see above); another run may hold the lock now. Once it is done, run meshx plan to see what remains.", lk.lost())}})
	return ExitError
}

// confirm asks for "yes". It never prompts where nobody can answer: with
// -input=false (which -json implies), or when stdout is not a terminal (CI
// logs, pipes), it fails instead.
func (o *op) confirm(view views.Apply, question, detail string) bool {
	if !o.flags.input || !o.m.stdoutTerminal {
		why := "prompts are off (-input=false or -json)"
		if o.flags.input {
			why = "its output is not a terminal, so nobody could answer a prompt"
		}
		o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Approval needed",
			Detail: "This run needs approval but " + why + ". Nothing was changed. Pass -auto-approve, or apply a saved plan file."}})
		return false
	}
	return view.Approve(question, detail, o.m.Stdin)
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
			o.view.Interrupted(s)
			cancel()
		case <-ctx.Done():
			return
		}
		// A running step may be a long wait (a load balancer's address):
		// a second interrupt exits now, as Terraform does. The lock is not
		// released; it expires by itself.
		<-ch
		o.view.Exiting()
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
