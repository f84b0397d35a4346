package planner

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
	"github.com/meshx-dev/meshx/providers/vm"
)

// Expansion is a configuration turned into resource instances.
type Expansion struct {
	Resources []providers.Resource
	// Ranges locate the block each instance comes from.
	Ranges map[plans.Address]hcl.Range

	// known collects, from instance outputs, the apply-time values
	// configuration expressions may reference.
	known func(providers.Outputs) (config.Known, error)
	// sources are the instances whose outputs known reads.
	sources []plans.Address
	// inventory is the environment's inventory, which Make completes and
	// Build keeps right.
	inventory *inventory
	// tokens mint the VMs' istio-tokens once Bind connects them.
	tokens []*kube.TokenSource
}

// Bind gives the expansion's token sources the providers of their
// clusters, once connected.
func (exp Expansion) Bind(provs map[string]providers.Provider) {
	for _, t := range exp.tokens {
		if p, ok := provs["cluster."+t.Cluster].(*kube.Provider); ok {
			t.Bind(p)
		}
	}
}

// expander accumulates instances, deduplicating shared ones (namespaces).
type expander struct {
	cfg     *config.Config
	profile *istio.Profile
	control *config.Cluster
	out     Expansion
	seen    map[plans.Address]bool
	// ilbs maps ILB key to its instance address on the control cluster
	// (for "istiod", the east-west gateway's with istiod_exposure =
	// "eastwest").
	ilbs map[string]plans.Address
	// istiodRoutes are the Gateway and VirtualService that route the
	// east-west gateway to istiod, which VMs wait for.
	istiodRoutes []plans.Address
	// info is the control cluster's facts instance, when the service CIDR
	// must be discovered.
	info *plans.Address
}

// Expand turns cfg into the instances that realise it: Istio's
// install/kubernetes/mesh-expansion.yaml, setupMeshEx.sh's
// generateClusterEnv, generateDnsmasq, machineCerts and machineSetup,
// setupIstioVM.sh's sidecar.env edits, istioctl register, and the
// multicluster guide's generate-kubeconfig.sh and create-secret.sh, as one
// graph.
func Expand(cfg *config.Config) (Expansion, hcl.Diagnostics) {
	e := &expander{cfg: cfg, seen: map[plans.Address]bool{}, ilbs: map[string]plans.Address{},
		out: Expansion{Ranges: map[plans.Address]hcl.Range{}}}
	var diags hcl.Diagnostics
	p, ok := istio.Lookup(cfg.Meshx.Istio.Profile)
	if !ok {
		return e.out, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown Istio profile",
			Detail: fmt.Sprintf("Profile %q is not one of %v.", cfg.Meshx.Istio.Profile, istio.Names()), Subject: &cfg.Meshx.DeclRange}}
	}
	e.profile = p
	e.out.known = e.known
	e.control = cfg.Control()
	if e.control == nil {
		return e.out, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No control cluster",
			Detail: `Declare exactly one cluster with role = "control".`}}
	}
	diags = append(diags, e.controlCluster()...)
	for _, c := range cfg.Clusters {
		if !c.IsControl() {
			e.remote(c)
		}
	}
	if p.Modern != nil {
		diags = append(diags, e.modern()...)
	} else {
		for _, s := range cfg.Services {
			e.service(s)
		}
		for _, v := range cfg.VMs {
			e.vm(v)
		}
	}
	e.expandInventory()
	e.out.sources = e.ilbList()
	if e.info != nil {
		e.out.sources = append(e.out.sources, *e.info)
	}
	return e.out, diags
}

func (e *expander) add(r providers.Resource, rng hcl.Range) {
	if e.seen[r.Addr] {
		return
	}
	e.seen[r.Addr] = true
	e.out.Resources = append(e.out.Resources, r)
	e.out.Ranges[r.Addr] = rng
}

// namespace declares (once) a namespace on a cluster and returns its address.
func (e *expander) namespace(cluster, name string, rng hcl.Range) plans.Address {
	r := kube.Namespace(cluster, name)
	e.add(r, rng)
	return r.Addr
}

// needsILBs says whether the control cluster exposes its control plane to
// VMs: when the block asks for it or when any VM joins the mesh.
func (e *expander) needsILBs() bool {
	return e.control.MeshExpansion != nil || len(e.cfg.VMs) > 0
}

func (e *expander) controlCluster() hcl.Diagnostics {
	c := e.control
	istioNS := e.cfg.Meshx.Istio.Namespace
	modern := e.profile.Modern != nil
	if c.ServiceCIDR == "" && len(e.cfg.VMs) > 0 && !modern {
		r := kube.ClusterInfo(c.Name)
		e.add(r, c.DeclRange)
		e.info = &r.Addr
	}
	if !e.needsILBs() || (modern && len(e.cfg.VMs) == 0) {
		return nil
	}
	me := c.MeshExpansion
	if me == nil {
		me = &config.MeshExpansion{LoadBalancer: "none", Manage: true}
	}
	if modern && c.IstiodExposure == config.ExposureEastWest {
		e.eastWest(me)
		return nil
	}
	base, err := istio.LoadBalancerAnnotations(me.LoadBalancer)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid load balancer", Detail: err.Error(), Subject: &c.DeclRange}}
	}
	for k, v := range me.Annotations {
		base[k] = v
	}
	var istioNSAddr plans.Address
	if me.Manage {
		istioNSAddr = e.namespace(c.Name, istioNS, c.DeclRange)
	}
	for _, l := range e.profile.ILBs {
		ns := l.Namespace(istioNS)
		var deps []plans.Address
		if ns == istioNS {
			deps = append(deps, istioNSAddr)
		}
		ports := make([]kube.Port, len(l.Ports))
		for i, p := range l.Ports {
			ports[i] = kube.Port{Name: p.Name, Port: int32(p.Port), Protocol: p.Protocol}
		}
		sel := l.Selector
		if modern {
			// The configured revision's istiod.
			sel = istio.IstiodSelector(e.cfg.Meshx.Istio.Revision)
		}
		r := kube.LoadBalancer(c.Name, l.Name, kube.LoadBalancerOptions{
			Namespace:   ns,
			Name:        l.Name,
			Ports:       ports,
			Selector:    sel,
			Annotations: base,
			Wait:        me.WaitTimeout,
		})
		rng := c.DeclRange
		if me.Manage {
			r.DependsOn = append(r.DependsOn, deps...)
			r.Settings.Adopt = c.Adopt
		} else {
			r.ReadOnly = true
			r.Reference = fmt.Sprintf("This environment uses the mesh-expansion load balancers of cluster %q by reference (mesh_expansion { manage = false }) and never creates them: apply the environment that owns them first, then plan again. Or remove manage = false to have this environment create and own them.", c.Name)
			rng = c.Ranges["mesh_expansion.manage"]
		}
		e.add(r, rng)
		e.ilbs[l.Key] = r.Addr
	}
	return nil
}

// RemoteOptions are the reader and secret of remote cluster c under cfg's
// profile: the istiod era's names (istioctl create-remote-secret's) from
// 1.20, Istio 1.0's before.
func RemoteOptions(cfg *config.Config, c *config.Cluster) kube.RemoteOptions {
	o := kube.RemoteOptions{
		Namespace:      cfg.Meshx.Istio.Namespace,
		ServiceAccount: c.ServiceAccount,
		ClusterID:      c.ClusterID,
		TokenLifetime:  c.TokenLifetime,
		Server:         c.RemoteServer,
		TLSServerName:  c.RemoteTLSServerName,
	}
	if p, ok := istio.Lookup(cfg.Meshx.Istio.Profile); ok && p.Modern != nil {
		o.Format = kube.RemoteModern
	}
	return o
}

func (e *expander) remote(c *config.Cluster) {
	istioNS := e.cfg.Meshx.Istio.Namespace
	opts := RemoteOptions(e.cfg, c)
	if !c.ManageRemoteSecret {
		// Another environment owns the reader and the secret: check that
		// the secret exists, and touch neither.
		r := kube.RemoteSecret(e.control.Name, c.Name, opts, kube.ReaderAddress(c.Name))
		r.DependsOn, r.ReadOnly = nil, true
		r.Reference = fmt.Sprintf("This environment uses the remote secret of cluster %q by reference (remote_secret { manage = false }) and never creates it: apply the environment that joins %q to the mesh first, then plan again. Or remove manage = false to have this environment create and own the reader and its secret.", c.Name, c.Name)
		e.add(r, c.Ranges["remote_secret.manage"])
		return
	}
	controlNS := e.namespace(e.control.Name, istioNS, e.control.DeclRange)
	for _, r := range kube.Remote(e.control.Name, c.Name, opts) {
		if r.Kind == kube.KindRemoteSecret {
			r.DependsOn = append(r.DependsOn, controlNS)
			r.Settings.Adopt = e.control.Adopt
		} else {
			r.Settings.Adopt = c.Adopt
		}
		e.add(r, c.DeclRange)
	}
}

// service registers a VM service as istioctl register did, done right: a
// selector-less Service and an Endpoints object listing every VM's mesh IP.
func (e *expander) service(s *config.Service) {
	cluster := s.Cluster
	if cluster == "" {
		cluster = e.control.Name
	}
	cl := e.cfg.Cluster(cluster)
	adopt := cl != nil && cl.Adopt
	ns := e.namespace(cluster, s.Namespace, s.DeclRange)
	ports := make([]kube.Port, len(s.Ports))
	for i, p := range s.Ports {
		ports[i] = kube.Port{Name: p.Name, Port: int32(p.Port), Protocol: "TCP"}
	}
	ann := map[string]string{}
	for k, v := range s.Annotations {
		ann[k] = v
	}
	ann[kube.ServiceAccountsAnnotation] = s.ServiceAccount
	svcAddr := plans.Address{Block: "service", Name: s.Name, Type: "service"}
	svc := kube.Service(svcAddr, cluster, s.Namespace, s.ServiceName, ports, s.Labels, ann)
	svc.DependsOn = append(svc.DependsOn, ns)
	svc.Settings.Adopt = adopt
	e.add(svc, s.DeclRange)

	ipSet := map[string]bool{}
	var ips []string
	for _, name := range s.VMs {
		v := e.cfg.VM(name)
		if v == nil || ipSet[v.MeshIP] {
			continue
		}
		ipSet[v.MeshIP] = true
		ips = append(ips, v.MeshIP)
	}
	sort.Strings(ips)
	epAddr := plans.Address{Block: "service", Name: s.Name, Type: "endpoints"}
	ep := kube.Endpoints(epAddr, cluster, s.Namespace, s.ServiceName, ips, ports, s.Labels)
	ep.DependsOn = append(ep.DependsOn, ns, svcAddr)
	ep.Settings.Adopt = adopt
	e.add(ep, s.DeclRange)
}

// vm declares what setupIstioVM.sh did to a machine, plus what it forgot:
// units enabled at boot, merged sidecar.env, modes on the key.
func (e *expander) vm(v *config.VM) {
	p := e.profile
	istioNS := e.cfg.Meshx.Istio.Namespace
	cluster := v.Cluster
	if cluster == "" {
		cluster = e.control.Name
	}
	add := func(r providers.Resource) plans.Address {
		e.add(r, v.DeclRange)
		return r.Addr
	}

	dnsmasqPkg := add(vm.Package(v.Name, "dnsmasq", vm.PackageSource{Apt: "dnsmasq"}))
	sidecarPkgs := e.sidecarPackages(v)
	withPkg := func(deps ...plans.Address) []plans.Address {
		return append(deps, sidecarPkgs...)
	}

	// cluster.env: the service CIDR the sidecar intercepts. A sensitive
	// setting makes the whole file sensitive: plans show its fingerprint.
	var envDeps []plans.Address
	if e.info != nil {
		envDeps = append(envDeps, *e.info)
	}
	envDeps = append(envDeps, e.ilbList()...)
	clusterEnv := add(vm.File(v.Name, vm.FileOptions{Path: istio.ClusterEnvPath, Content: func(in providers.Outputs) (any, error) {
		cidr, err := e.serviceCIDR(in)
		if err != nil || plans.IsUnknown(cidr) {
			return cidr, err
		}
		extra, unknown, err := e.envMap(v.ClusterEnv, in)
		if err != nil || unknown {
			return plans.Unknown, err
		}
		return p.ClusterEnv(cidr.(string), istioNS, e.cfg.Meshx.Istio.ControlPlaneAuth, extra), nil
	}, Mode: 0o644, Owner: istio.ProxyUser, Group: istio.ProxyUser, Sensitive: len(v.ClusterEnv.Sensitive) > 0, DependsOn: withPkg(envDeps...)}))

	// kubedns: dnsmasq answers the control plane's names with ILB addresses.
	kubedns := add(vm.File(v.Name, vm.FileOptions{Path: istio.KubednsPath, Content: func(in providers.Outputs) (any, error) {
		addrs := map[string]string{}
		for _, key := range slices.Sorted(maps.Keys(e.ilbs)) {
			a := e.ilbs[key]
			val, _ := in.Output(a, "address")
			if plans.IsUnknown(val) || val == nil {
				return plans.Unknown, nil
			}
			s := fmt.Sprint(val)
			if err := checkILBAddress(a, "address", s); err != nil {
				return nil, err
			}
			addrs[key] = s
		}
		return p.Kubedns(istioNS, addrs)
	}, Mode: 0o644, Owner: "root", Group: "root", DependsOn: append(e.ilbList(), dnsmasqPkg)}))

	// Certificates from Citadel's istio.<sa> secret.
	secret := kube.IstioSecret(cluster, v.Namespace, v.ServiceAccount)
	secret.DependsOn = append(secret.DependsOn, e.namespace(cluster, v.Namespace, v.DeclRange))
	add(secret)
	var certs []plans.Address
	for _, cf := range istio.CertFiles(v.CertsMode == config.CertsRootOnly) {
		name := cf.Name
		certs = append(certs, add(vm.File(v.Name, vm.FileOptions{Path: istio.CertDir + "/" + name, Content: func(in providers.Outputs) (any, error) {
			val, ok := in.Output(secret.Addr, name)
			if !ok {
				return nil, fmt.Errorf("the istio.%s secret has no %s", v.ServiceAccount, name)
			}
			return val, nil
		}, Mode: cf.Mode, Owner: istio.ProxyUser, Group: istio.ProxyUser, Sensitive: cf.Sensitive, DependsOn: withPkg(secret.Addr)})))
	}

	// sidecar.env: the keys meshx manages, merged into the packaged file.
	// Sensitive settings are plans.Sensitive, so plans show their
	// fingerprints (config refuses one known only after apply).
	var ports []int
	var names []string
	for _, s := range e.cfg.ServicesOn(v.Name) {
		names = append(names, s.ServiceName)
		for _, pt := range s.Ports {
			ports = append(ports, pt.Port)
		}
	}
	sort.Strings(names)
	service := ""
	if len(names) > 0 {
		service = names[0]
	}
	sidecarEnv := add(vm.EnvFile(v.Name, vm.EnvFileOptions{Path: istio.SidecarEnvPath, Keys: func(in providers.Outputs) (map[string]any, error) {
		extra, unknown, err := e.envMap(v.SidecarEnv, in)
		if err != nil {
			return nil, err
		}
		keys := istio.SidecarEnvKeys(ports, service, v.Namespace, extra)
		out := make(map[string]any, len(keys))
		for k, val := range keys {
			out[k] = val
		}
		for _, k := range v.SidecarEnv.Sensitive {
			if s, ok := out[k].(string); ok {
				out[k] = plans.NewSensitive([]byte(s))
			}
		}
		if unknown {
			for _, k := range v.SidecarEnv.Unknown {
				out[k] = plans.Unknown
			}
		}
		return out, nil
	}, Mode: 0o644, Owner: istio.ProxyUser, Group: istio.ProxyUser, DependsOn: withPkg(e.ilbList()...)}))

	dhclient := add(vm.Line(v.Name, istio.DhclientPath, istio.DhclientLine))

	// Units, enabled at boot and restarted only when an input changed.
	for _, u := range p.Units {
		var triggers []plans.Address
		switch u {
		case "dnsmasq":
			triggers = []plans.Address{dnsmasqPkg, kubedns, dhclient}
		case "istio-auth-node-agent":
			triggers = withPkg(certs...)
		case "istio":
			triggers = withPkg(append([]plans.Address{clusterEnv, sidecarEnv}, certs...)...)
		}
		if len(sidecarPkgs) == 0 && u != "dnsmasq" {
			continue // no package, no unit file to enable
		}
		add(vm.Unit(v.Name, u, triggers))
	}
}

// sidecarPackages declares the sidecar's packages of v, in the profile's
// install order: each depends on the one before, as setupIstioVM.sh ran
// dpkg -i.
func (e *expander) sidecarPackages(v *config.VM) []plans.Address {
	var pkgs []plans.Address
	for _, sp := range v.SidecarPackages {
		src := vm.PackageSource{SHA256: sp.SHA256}
		if sp.IsURL() {
			src.URL = sp.Source
		} else {
			src.Path = sp.Source
		}
		r := vm.Package(v.Name, sp.Name, src)
		r.DependsOn = append(r.DependsOn, pkgs...)
		e.add(r, v.DeclRange)
		pkgs = append(pkgs, r.Addr)
	}
	return pkgs
}

// ilbList returns the ILB instance addresses in key order.
func (e *expander) ilbList() []plans.Address {
	keys := slices.Sorted(maps.Keys(e.ilbs))
	out := make([]plans.Address, len(keys))
	for i, k := range keys {
		out[i] = e.ilbs[k]
	}
	return out
}

// serviceCIDR returns the control cluster's service CIDR: configured, or
// discovered by the cluster-info instance.
func (e *expander) serviceCIDR(in providers.Outputs) (any, error) {
	if e.control.ServiceCIDR != "" {
		return e.control.ServiceCIDR, nil
	}
	if e.info == nil {
		return nil, fmt.Errorf("cluster %q has no service_cidr and none was discovered", e.control.Name)
	}
	v, _ := in.Output(*e.info, "service_cidr")
	if v == nil || plans.IsUnknown(v) {
		return plans.Unknown, nil
	}
	if err := checkDiscoveredCIDR(*e.info, v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkILBAddress refuses an ingress address of a load-balancer Service
// that is neither an IP address nor a DNS-1123 name. Such values come from
// the cluster at apply time, after configuration validation, and end up in
// files on VMs (cluster.env, the dnsmasq kubedns file): a line break or a
// shell character there would add lines or commands.
func checkILBAddress(svc plans.Address, field, s string) error {
	if s == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
		return nil
	}
	if len(validation.IsDNS1123Subdomain(s)) == 0 {
		return nil
	}
	return fmt.Errorf("%s: the load balancer's ingress %s %q is neither an IP address nor a DNS name; meshx writes no file from it. Check the Service's status.loadBalancer.ingress", svc, field, s)
}

// checkDiscoveredCIDR refuses a discovered service CIDR that does not
// parse as one, for the reason checkILBAddress gives.
func checkDiscoveredCIDR(info plans.Address, v any) error {
	s, ok := v.(string)
	if ok {
		if _, err := netip.ParsePrefix(s); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: the discovered service CIDR %q is not a CIDR; meshx writes no file from it. Set service_cidr on the cluster", info, fmt.Sprint(v))
}

// known collects the apply-time values configuration expressions may
// reference (ILB addresses, discovered service CIDRs) from outputs.
func (e *expander) known(in providers.Outputs) (config.Known, error) {
	k := config.Known{ILB: map[string]map[string]config.ILBStatus{}, ServiceCIDR: map[string]string{}}
	m := map[string]config.ILBStatus{}
	for _, key := range slices.Sorted(maps.Keys(e.ilbs)) {
		a := e.ilbs[key]
		ip, _ := in.Output(a, "ip")
		host, _ := in.Output(a, "hostname")
		st := config.ILBStatus{}
		if s, ok := ip.(string); ok {
			st.IP = s
		}
		if s, ok := host.(string); ok {
			st.Hostname = s
		}
		if err := checkILBAddress(a, "ip", st.IP); err != nil {
			return config.Known{}, err
		}
		if err := checkILBAddress(a, "hostname", st.Hostname); err != nil {
			return config.Known{}, err
		}
		if st.Address() != "" {
			m[key] = st
		}
	}
	k.ILB[e.control.Name] = m
	if e.info != nil {
		if v, _ := in.Output(*e.info, "service_cidr"); v != nil && !plans.IsUnknown(v) {
			if err := checkDiscoveredCIDR(*e.info, v); err != nil {
				return config.Known{}, err
			}
			k.ServiceCIDR[e.control.Name] = fmt.Sprint(v)
		}
	}
	return k, nil
}

// envMap evaluates a KEY=value map of the configuration, re-evaluating its
// expression when some values were unknown at load time. unknown reports
// values still not known.
func (e *expander) envMap(m config.EnvMap, in providers.Outputs) (map[string]string, bool, error) {
	if len(m.Unknown) == 0 || m.Expr == nil {
		return m.Values, false, nil
	}
	known, err := e.known(in)
	if err != nil {
		return nil, false, err
	}
	vals, diags := e.cfg.EvalEnv(m, known)
	if diags.HasErrors() {
		return nil, false, fmt.Errorf("%s", diags.Error())
	}
	if vals == nil {
		return nil, true, nil
	}
	return vals, false, nil
}

// OutputValues evaluates the output blocks with the instance outputs known
// so far; values that depend on unknown ones are Unknown, sensitive ones
// only a fingerprint.
func OutputValues(cfg *config.Config, exp Expansion, in providers.Outputs) ([]plans.OutputValue, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	known := config.Known{}
	if exp.known != nil {
		k, err := exp.known(in)
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid apply-time value", Detail: err.Error()}}
		}
		known = k
	}
	var out []plans.OutputValue
	for _, o := range cfg.Outputs {
		v, d := cfg.EvalExpr(o.Expr, known)
		diags = append(diags, d...)
		ov := plans.OutputValue{Name: o.Name, Sensitive: o.Sensitive}
		switch {
		case d.HasErrors():
			continue
		case !v.IsWhollyKnown():
			ov.Value = plans.Unknown
		case o.Sensitive:
			b, _ := ctyjson.Marshal(v, v.Type())
			ov.Value = plans.Fingerprint(b)
		default:
			ov.Value = ctyToJSON(v)
		}
		out = append(out, ov)
	}
	return out, diags
}

// ctyToJSON converts a known cty value to a JSON-shaped Go value.
func ctyToJSON(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if i, acc := v.AsBigFloat().Int64(); acc == 0 {
			return i
		}
		return f
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		var out []any
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyToJSON(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyToJSON(e)
		}
		return out
	}
	return v.GoString()
}
