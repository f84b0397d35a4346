package verify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
	"github.com/meshx-dev/meshx/providers/vm"
)

// Status is the outcome of one check.
type Status string

const (
	// Pass: the fact holds.
	Pass Status = "pass"
	// Fail: it does not, or it could not be established.
	Fail Status = "fail"
	// Skip: the check could not be made where meshx runs (istiod's debug
	// endpoint is not reachable, say); Observed says why and Fix how to
	// enable it. A skipped check is never a pass.
	Skip Status = "skip"
)

// Check is one verified fact about one subject.
type Check struct {
	// Subject is the configuration block checked: "vm.ecs1",
	// "cluster.remote1", "service.details".
	Subject string
	// Name says what was checked: "dns istio-pilot.istio-system",
	// "tcp istio-pilot-ilb 10.0.0.5:15005", "unit istio",
	// "cert /etc/certs/cert-chain.pem", "auth", "read", "no write",
	// "endpoints bookinfo/details", "ilb istio-pilot-ilb".
	Name   string
	Status Status
	// Observed is what was seen ("10.0.0.5", "enabled, active",
	// "expires 2027-02-28 (89 days left)"); never a secret.
	Observed string
	// Expected is what meshx expected, when it differs from Observed.
	Expected string
	// Fix says what to do; set on failures, and on skipped checks how to
	// make them.
	Fix string
}

// Report is the outcome of one verification.
type Report struct {
	Environment string
	// Profile is the Istio profile the environment uses.
	Profile string
	// Checks are ordered by subject, then in the order they were made.
	Checks []Check
}

// OK reports whether every check passed.
func (r *Report) OK() bool { return len(r.Failed()) == 0 }

// Failed returns the failing checks, in report order.
func (r *Report) Failed() []Check { return r.with(Fail) }

// Skipped returns the checks that could not be made, in report order.
func (r *Report) Skipped() []Check { return r.with(Skip) }

func (r *Report) with(s Status) []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == s {
			out = append(out, c)
		}
	}
	return out
}

// DefaultExpiryThreshold is Options.ExpiryThreshold's default: a
// certificate expiring within a week fails.
const DefaultExpiryThreshold = 7 * 24 * time.Hour

// DefaultParallelism bounds how many VMs, remote clusters and services are
// checked at once when Options.Parallelism is 0: as many as plan observes.
const DefaultParallelism = planner.DefaultObserveParallelism

// Options tune Run.
type Options struct {
	// ExpiryThreshold fails a certificate expiring within it (default
	// DefaultExpiryThreshold).
	ExpiryThreshold time.Duration
	// Parallelism bounds concurrent checks (default DefaultParallelism).
	Parallelism int
	// DialTimeout bounds each TCP connection attempt made from a VM
	// (default 5s).
	DialTimeout time.Duration
	// RequestTimeout bounds the request to istiod's debug endpoint
	// (default 30s).
	RequestTimeout time.Duration
	// Log receives the providers' notes worth showing (a host key trusted
	// on first use); nil drops them.
	Log func(string)
	// PassphraseEnv names the environment variable holding the passphrase
	// of encrypted SSH keys (see planner.Options).
	PassphraseEnv string
	// Now is the clock certificates are judged by (default time.Now).
	Now func() time.Time
	// Connect builds the provider of each target (default
	// planner.Connect).
	Connect func(ctx context.Context, cfg *config.Config) (map[string]providers.Provider, error)
}

// Run verifies the environment cfg describes, as it is now. Diagnostics
// are returned only for what stops verification as a whole (a
// configuration that does not expand, providers that cannot be built);
// everything found on clusters and VMs, an unreachable one included, is a
// Check in the Report.
func Run(ctx context.Context, cfg *config.Config, opts Options) (*Report, hcl.Diagnostics) {
	exp, diags := planner.Expand(cfg)
	if diags.HasErrors() {
		return nil, diags
	}
	profile, _ := istio.Lookup(cfg.Meshx.Istio.Profile) // Expand checked it
	if opts.ExpiryThreshold <= 0 {
		opts.ExpiryThreshold = DefaultExpiryThreshold
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = defaultRequestTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	connect := opts.Connect
	if connect == nil {
		connect = func(ctx context.Context, cfg *config.Config) (map[string]providers.Provider, error) {
			return planner.Connect(ctx, cfg, planner.Options{Log: opts.Log, PassphraseEnv: opts.PassphraseEnv})
		}
	}
	provs, err := connect(ctx, cfg)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot connect", Detail: err.Error()})
	}
	defer func() {
		for _, p := range provs {
			_ = p.Close()
		}
	}()
	v := &verifier{cfg: cfg, exp: exp, profile: profile, provs: provs, opts: opts,
		byAddr: map[plans.Address]*providers.Resource{}, observed: map[plans.Address]providers.Observed{},
		outputs: map[plans.Address]plans.Object{}, clusterErr: map[string]error{}}
	for i := range exp.Resources {
		v.byAddr[exp.Resources[i].Addr] = &exp.Resources[i]
	}
	v.observeClusters(ctx)

	var jobs []func(context.Context) []Check
	for _, c := range cfg.Clusters {
		if c.IsControl() {
			jobs = append(jobs, func(context.Context) []Check { return append(v.ilbChecks(c), v.routeChecks(c)...) })
		} else {
			jobs = append(jobs, func(ctx context.Context) []Check { return v.remoteChecks(ctx, c) })
		}
	}
	for _, r := range exp.Resources {
		if r.Kind == kube.KindEndpoints {
			jobs = append(jobs, func(context.Context) []Check { return v.endpointsChecks(r) })
		}
	}
	if profile.Modern != nil {
		for _, s := range cfg.Services {
			jobs = append(jobs, func(ctx context.Context) []Check { return v.istiodEndpointsChecks(ctx, s) })
		}
	}
	for _, m := range cfg.VMs {
		jobs = append(jobs, func(ctx context.Context) []Check { return v.vmChecks(ctx, m) })
	}
	rep := &Report{Environment: cfg.Meshx.Environment, Profile: profile.Name, Checks: v.runAll(ctx, jobs)}
	sort.SliceStable(rep.Checks, func(i, j int) bool { return subjectLess(rep.Checks[i].Subject, rep.Checks[j].Subject) })
	return rep, diags
}

// subjectLess orders clusters, then services, then VMs, each by name.
func subjectLess(a, b string) bool {
	rank := func(s string) int {
		switch {
		case strings.HasPrefix(s, "cluster."):
			return 0
		case strings.HasPrefix(s, "service."):
			return 1
		}
		return 2
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return a < b
}

// verifier holds what every check reads: the expansion, the providers, and
// what the clusters said.
type verifier struct {
	cfg     *config.Config
	exp     planner.Expansion
	profile *istio.Profile
	provs   map[string]providers.Provider
	opts    Options
	byAddr  map[plans.Address]*providers.Resource

	// observed and outputs hold the clusters' answers; clusterErr the
	// clusters that could not be read, by target.
	observed   map[plans.Address]providers.Observed
	outputs    map[plans.Address]plans.Object
	clusterErr map[string]error

	// svcIP is the control cluster's kubernetes ClusterIP, read once;
	// svcWhy says why it could not be.
	svcOnce       sync.Once
	svcIP, svcWhy string

	// istiod is istiod's endpointz, read once (the istiod era).
	istiod istiodView
}

// clusterKinds are the instances whose live state the checks compare
// against: load-balancer addresses (the east-west gateway's included),
// Citadel's secrets and istiod's istio-ca-root-cert ConfigMaps (the
// current root), the Endpoints of registered services, and the Gateway
// and VirtualService that route the east-west gateway to istiod.
var clusterKinds = map[string]bool{kube.KindLoadBalancer: true, kube.KindIstioSecret: true, kube.KindRootCert: true, kube.KindEndpoints: true,
	kube.KindGateway: true, kube.KindVirtualService: true}

// observeClusters reads, on every cluster at once, the instances the
// checks need, through the kube provider's Observe (which only reads).
func (v *verifier) observeClusters(ctx context.Context) {
	byTarget := map[string][]providers.Resource{}
	for _, r := range v.exp.Resources {
		if clusterKinds[r.Kind] {
			byTarget[r.Target] = append(byTarget[r.Target], r)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for t, rs := range byTarget {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := v.provs[t]
			var resp providers.ObserveResponse
			if p == nil {
				resp.Err = fmt.Errorf("no provider is configured for %s", t)
			} else {
				resp = p.Observe(ctx, providers.ObserveRequest{Environment: v.cfg.Meshx.Environment, Resources: rs})
			}
			mu.Lock()
			defer mu.Unlock()
			if resp.Err != nil {
				v.clusterErr[t] = resp.Err
				return
			}
			for a, o := range resp.Objects {
				v.observed[a] = o
				if o.Exists && o.Outputs != nil {
					v.outputs[a] = o.Outputs
				}
			}
		}()
	}
	wg.Wait()
}

// runAll runs jobs, at most Parallelism at a time, and concatenates their
// checks in job order.
func (v *verifier) runAll(ctx context.Context, jobs []func(context.Context) []Check) []Check {
	res := make([][]Check, len(jobs))
	sem := make(chan struct{}, v.opts.Parallelism)
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res[i] = job(ctx)
		}()
	}
	wg.Wait()
	var out []Check
	for _, r := range res {
		out = append(out, r...)
	}
	return out
}

// kubeProvider returns the kube provider of cluster name.
func (v *verifier) kubeProvider(name string) (*kube.Provider, error) {
	p, ok := v.provs["cluster."+name].(*kube.Provider)
	if !ok {
		return nil, fmt.Errorf("cluster.%s has no Kubernetes connection", name)
	}
	return p, nil
}

// vmProvider returns the vm provider of VM name.
func (v *verifier) vmProvider(name string) (*vm.Provider, error) {
	p, ok := v.provs["vm."+name].(*vm.Provider)
	if !ok {
		return nil, fmt.Errorf("vm.%s has no SSH connection", name)
	}
	return p, nil
}

// controlName is the control cluster's block name.
func (v *verifier) controlName() string { return v.cfg.Control().Name }

// unreadable says why instance a's cluster could not be read, or nil.
func (v *verifier) unreadable(a plans.Address) error {
	r := v.byAddr[a]
	if r == nil {
		return nil
	}
	return v.clusterErr[r.Target]
}

// ilbChecks says, for the control cluster, whether each load balancer of
// the profile has an address, and with istiod_exposure = "eastwest"
// whether the east-west gateway meshx reads has one and istiod's port:
// every VM check depends on them.
func (v *verifier) ilbChecks(c *config.Cluster) []Check {
	subject := "cluster." + c.Name
	var out []Check
	for _, r := range v.exp.Resources {
		if r.Kind != kube.KindLoadBalancer || r.Target != subject {
			continue
		}
		ck := Check{Subject: subject, Name: lbCheckName(r)}
		ns, name := v.profileILB(r.Addr.Key).Namespace(v.cfg.Meshx.Istio.Namespace), r.Addr.Key
		if r.Addr.Type == eastWestType {
			ns, name, _ = strings.Cut(r.Addr.Key, "/")
		}
		o := v.observed[r.Addr]
		addr, _ := v.outputs[r.Addr]["address"].(string)
		switch err := v.clusterErr[subject]; {
		case err != nil:
			ck.Status, ck.Observed = Fail, "cannot read the cluster: "+firstLine(err)
			ck.Fix = fixUnreachable
		case !o.Exists:
			ck.Status, ck.Observed = Fail, "no Service "+ns+"/"+name
			ck.Fix = "Run meshx apply: it creates the load balancer."
			if r.Reference != "" {
				ck.Fix = r.Reference
			}
		case addr == "":
			ck.Status, ck.Observed = Fail, "no address yet"
			ck.Fix = fmt.Sprintf("The load balancer has no ingress address: check the cloud's load-balancer controller (kubectl -n %s describe service %s).", ns, name)
		default:
			ck.Status, ck.Observed = Pass, addr
			if r.Addr.Type == eastWestType {
				gatewayPortCheck(&ck, o, ns, name)
			}
		}
		out = append(out, ck)
	}
	return out
}

// profileILB is the profile's load balancer whose Service is name.
func (v *verifier) profileILB(name string) istio.ILB {
	for _, l := range v.profile.ILBs {
		if l.Name == name {
			return l
		}
	}
	return istio.ILB{Name: name}
}

// fixUnreachable is what to do about a cluster that could not be read.
const fixUnreachable = "Check the cluster's kubeconfig and that its API server is reachable, then verify again."

// firstLine is an error's first line, for a table cell. A request that
// got no answer is only why not ("dial tcp 127.0.0.1:6443: connect:
// connection refused"): client-go's "Get \"https://…\": " before it
// names a URL the subject says already.
func firstLine(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
