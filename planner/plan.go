package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
	"github.com/meshx-dev/meshx/providers/vm"
)

// Options tune Plan.
type Options struct {
	// Parallelism bounds concurrent observations (default
	// DefaultObserveParallelism).
	Parallelism int
	// Progress reports a long observation (see Input.Progress).
	Progress func(ObserveProgress)
	// Log receives the providers' notes worth showing, such as a host key
	// trusted on first use; nil drops them.
	Log     func(msg string)
	Destroy bool
	Targets []plans.Address
	// Adopt lets every instance take over existing unowned objects (the
	// -adopt flag); blocks can also say adopt = true.
	Adopt bool
	// Force lets server-side apply take fields other managers own
	// (-force-conflicts).
	Force bool
	// Connect builds the provider of each target; the default connects to
	// the configured clusters and VMs.
	Connect func(ctx context.Context, cfg *config.Config) (map[string]providers.Provider, error)
	// Forget, when set, plans meshx forget: only the inventory changes,
	// dropping these VMs and remote clusters, which the configuration must
	// no longer declare.
	Forget []plans.Address
	// PassphraseEnv names the environment variable that holds the
	// passphrase of encrypted SSH private keys; the CLI names its own.
	// Empty: only a prompt on the terminal can give one.
	PassphraseEnv string
}

// Plan is a plans.Plan together with what only memory holds: the desired
// resources (whose Render produces real values, secrets included), what was
// observed, and the connected providers. The executor needs all of it to
// act; a plan file keeps only the embedded plans.Plan, and a saved plan gets
// the rest back by planning again and checking every change's Precondition.
type Plan struct {
	*plans.Plan
	Resources map[plans.Address]*providers.Resource
	Observed  map[plans.Address]providers.Observed
	Providers map[string]providers.Provider
	// Unreachable says, one error per target in Unobserved and in the
	// same order, why it could not be observed. These errors are not
	// among the diagnostics Build and Make return: nothing on those
	// targets, nor anything depending on them, is in the plan, and the
	// plan of the rest stands, so plan and apply show and apply it, while
	// a caller that needs every target treats them as errors.
	Unreachable hcl.Diagnostics
	// Record, when set, is the inventory write the executor makes before
	// any change on a VM or remote cluster (see inventory.go).
	Record *Record
}

// Close releases every provider's connections.
func (p *Plan) Close() {
	if p == nil {
		return
	}
	closeAll(p.Providers)
}

func closeAll(provs map[string]providers.Provider) {
	for _, pr := range provs {
		_ = pr.Close()
	}
}

// Make expands cfg, observes every target and returns the plan, with the
// configuration's outputs as known at plan time. The returned Expansion
// lets the caller evaluate outputs again after apply. Targets that could
// not be observed are in the plan's Unreachable, as Build leaves them.
func Make(ctx context.Context, cfg *config.Config, opts Options) (*Plan, Expansion, hcl.Diagnostics) {
	exp, diags := Expand(cfg)
	if diags.HasErrors() {
		return nil, exp, diags
	}
	for i := range exp.Resources {
		if opts.Adopt {
			exp.Resources[i].Settings.Adopt = true
		}
		if opts.Force {
			exp.Resources[i].Settings.ForceConflicts = true
		}
	}
	if d := CheckTargets(cfg, opts.Targets); d.HasErrors() {
		return nil, exp, append(diags, d...)
	}
	connect := opts.Connect
	if connect == nil {
		connect = func(ctx context.Context, cfg *config.Config) (map[string]providers.Provider, error) {
			return Connect(ctx, cfg, opts)
		}
	}
	provs, err := connect(ctx, cfg)
	if err != nil {
		return nil, exp, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot connect", Detail: err.Error()})
	}
	exp.Bind(provs)
	unread, d := openInventory(ctx, cfg, &exp, provs, opts)
	if d.HasErrors() {
		closeAll(provs)
		return nil, exp, append(diags, d...)
	}
	if len(opts.Forget) > 0 {
		if unread != nil {
			closeAll(provs)
			return nil, exp, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read the inventory", Detail: unread.Error()})
		}
		plan, d := planForget(ctx, cfg, exp, provs, opts.Forget, opts)
		if plan == nil {
			closeAll(provs)
		} else {
			plan.Providers, plan.Targets = provs, nil
		}
		return plan, exp, append(diags, d...)
	}
	plan, d := Build(ctx, Input{
		inventory:   exp.inventory,
		Environment: cfg.Meshx.Environment,
		Resources:   exp.Resources,
		Providers:   provs,
		Ranges:      exp.Ranges,
		Parallelism: opts.Parallelism,
		Progress:    opts.Progress,
		Destroy:     opts.Destroy,
		Targets:     opts.Targets,
	})
	diags = append(diags, d...)
	if plan != nil && exp.inventory != nil {
		exp.inventory.explainUnreachable(plan)
		plan.Record = exp.inventory.recordFirst(plan)
	}
	if control := "cluster." + cfg.Control().Name; plan != nil && unread != nil && !slices.Contains(plan.Unobserved, control) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Cannot read the inventory",
			Detail: fmt.Sprintf("%v\n\nThis plan neither undoes VMs or clusters removed from the configuration nor updates the inventory. Plan again once %s answers.", unread, control)})
	}
	if plan != nil && !opts.Destroy {
		outs, d := OutputValues(cfg, exp, PlannedOutputs(plan))
		diags = append(diags, d...)
		plan.Outputs = outs
		var undone map[string]bool
		if exp.inventory != nil {
			undone = exp.inventory.removedMeshIPs()
		}
		diags = append(diags, LeftVMs(cfg, plan.Plan, exp.Ranges, undone)...)
	}
	return plan, exp, diags
}

// CheckTargets reports, before anything is contacted, each target naming
// a cluster or VM the configuration does not declare: nothing can be
// observed there, as only declared ones are connected to. A service block
// removed from configuration may still own objects in a cluster, so a
// target naming one is checked after observation (Build). Plan calls it;
// callers that connect before planning (apply's lock) call it first.
func CheckTargets(cfg *config.Config, targets []plans.Address) hcl.Diagnostics {
	var names []string
	var instances []plans.Address
	add := func(block, name string) {
		a := plans.Address{Block: block, Name: name}
		instances = append(instances, a)
		names = append(names, a.Target())
		if label, key := a.Instance(); !key.IsNone() && !slices.Contains(names, block+"."+label) {
			names = append(names, block+"."+label)
		}
	}
	for _, c := range cfg.Clusters {
		add("cluster", c.Name)
	}
	for _, v := range cfg.VMs {
		add("vm", v.Name)
	}
	for _, s := range cfg.Services {
		add("service", s.Name)
	}
	var diags hcl.Diagnostics
	for _, t := range targets {
		// vm.web names every instance of a block with for_each or count.
		block := plans.Address{Block: t.Block, Name: t.Name}
		if t.Block == "service" || slices.ContainsFunc(instances, block.Contains) {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Target matches nothing",
			Detail: fmt.Sprintf("-target=%s names a %s the configuration does not declare, so there is nothing to plan or observe there.%s", t, t.Block, targetSuggestion(t, names, nil))})
	}
	return diags
}

// targetSuggestion ends a message about target t: "did you mean" the
// closest of addrs (instance addresses and their block.name.type
// prefixes) or of blocks ("vm.ecs1"), else how to list the addresses.
func targetSuggestion(t plans.Address, blocks, addrs []string) string {
	if s := config.Suggest(t.String(), addrs); s != "" && s != t.String() {
		return fmt.Sprintf(" Did you mean -target=%s?", s)
	}
	if s := config.Suggest(t.Target(), blocks); s != "" && s != t.Target() {
		fixed := t
		fixed.Block, fixed.Name, _ = strings.Cut(s, ".")
		return fmt.Sprintf(" Did you mean -target=%s?", fixed)
	}
	return " Run meshx plan without -target to see the addresses."
}

// Outputs returns a plan holding the values of the output blocks named
// (every one when names is empty), observing only what they read: nothing
// when the configuration alone gives every value, else the instances
// holding apply-time values (the control cluster's ILBs and discovered
// service CIDR) and what those depend on. So outputs never need SSH to a
// VM, and a cluster they do not read is not contacted.
func Outputs(ctx context.Context, cfg *config.Config, names []string, opts Options) (*Plan, hcl.Diagnostics) {
	exp, diags := Expand(cfg)
	if diags.HasErrors() {
		return nil, diags
	}
	want := func(name string) bool { return len(names) == 0 || slices.Contains(names, name) }
	static, d := OutputValues(cfg, exp, AppliedOutputs(nil))
	known := true
	for _, ov := range static {
		if want(ov.Name) && plans.IsUnknown(ov.Value) {
			known = false
		}
	}
	if known || len(exp.sources) == 0 {
		return &Plan{Plan: &plans.Plan{Environment: cfg.Meshx.Environment, Outputs: static}}, append(diags, d...)
	}
	opts.Targets, opts.Destroy = exp.sources, false
	p, _, d := Make(ctx, cfg, opts)
	diags = append(diags, d...)
	if p != nil {
		// An output reading a target that could not be observed has no
		// value to print.
		diags = append(diags, p.Unreachable...)
	}
	return p, diags
}

// Connect builds a provider per cluster and VM of cfg, whose notes worth
// showing (a host key trusted on first use) go to opts.Log, and whose
// encrypted keys' passphrase comes from opts.PassphraseEnv. Providers
// connect lazily, on their first Observe.
func Connect(ctx context.Context, cfg *config.Config, opts Options) (map[string]providers.Provider, error) {
	out := map[string]providers.Provider{}
	clusters := make([]kube.Cluster, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		clusters[i] = KubeCluster(c)
	}
	kps, err := kube.Connect(ctx, clusters)
	if err != nil {
		return nil, err // names the cluster already
	}
	for name, p := range kps {
		out["cluster."+name] = p
	}
	for _, v := range cfg.VMs {
		out["vm."+v.Name] = vm.New(vmHost(v, opts))
	}
	return out, nil
}

// vmHost says how the vm provider reaches VM v.
func vmHost(v *config.VM, opts Options) vm.Host {
	// What the ssh block does not set comes from ~/.ssh/config, as
	// with ssh; the configuration's defaults apply after it.
	port, user, knownHosts := v.SSH.Port, v.SSH.User, v.SSH.KnownHostsFile
	if _, set := v.Ranges["ssh.port"]; !set {
		port = 0
	}
	if _, set := v.Ranges["ssh.user"]; !set {
		user = ""
	}
	if _, set := v.Ranges["ssh.known_hosts_file"]; !set {
		knownHosts = ""
	}
	return vm.Host{
		Name:            v.Name,
		Address:         v.Address,
		Port:            port,
		User:            user,
		PrivateKeyFile:  v.SSH.PrivateKeyFile,
		PassphraseEnv:   opts.PassphraseEnv,
		UseAgent:        v.SSH.UseAgent,
		KnownHostsFile:  knownHosts,
		SSHConfigFile:   "~/.ssh/config",
		TrustOnFirstUse: v.SSH.InsecureTrustOnFirstUse,
		Bastion:         v.SSH.Bastion,
		Sudo:            v.SSH.Sudo,
		ConnectTimeout:  v.SSH.ConnectTimeout,
		Log:             opts.Log,
	}
}

// KubeCluster says how the kube provider reaches cluster block c.
func KubeCluster(c *config.Cluster) kube.Cluster {
	return kube.Cluster{Name: c.Name, Kubeconfig: c.Kubeconfig, Context: c.Context, RequestTimeout: c.RequestTimeout}
}

// PlannedOutputs answers Output from a plan: observed outputs of instances
// that stay as they are, Unknown for the rest.
func PlannedOutputs(p *Plan) providers.Outputs { return plannedView{p} }

type plannedView struct{ p *Plan }

func (v plannedView) Output(addr plans.Address, name string) (any, bool) {
	c, ok := v.p.Change(addr)
	if !ok {
		return nil, false
	}
	if val, ok := plannedOutputs(v.p.Resources[addr], v.p.Observed[addr], c)[name]; ok {
		return val, true
	}
	return plans.Unknown, true
}

// AppliedOutputs answers Output from the outputs an apply produced.
func AppliedOutputs(outs map[plans.Address]plans.Object) providers.Outputs {
	return appliedView(outs)
}

type appliedView map[plans.Address]plans.Object

func (v appliedView) Output(addr plans.Address, name string) (any, bool) {
	o, ok := v[addr]
	if !ok {
		return nil, false
	}
	if val, ok := o[name]; ok {
		return val, true
	}
	return plans.Unknown, true
}
