package planner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
	"github.com/meshx-dev/meshx/providers/vm"
)

// group is one WorkloadGroup of the istiod era: the VMs that name it, the
// first of which says what they share (config checks they agree).
type group struct {
	name    string
	cluster string
	first   *config.VM
	vms     []*config.VM
	// ports are the ports of the services its VMs serve, by name.
	ports map[string]int
}

// modern expands the istiod era: what `istioctl x workload group create`,
// `istioctl x workload entry configure` and istio.io's VM install steps
// do, as instances. The istiod load balancer comes from controlCluster.
func (e *expander) modern() hcl.Diagnostics {
	for _, g := range e.groups() {
		e.workloadGroup(g)
		for _, v := range g.vms {
			e.modernVM(g, v)
		}
	}
	for _, s := range e.cfg.Services {
		e.selectorService(s)
	}
	return nil
}

// eastWest exposes istiod through the control cluster's east-west gateway
// (istiod_exposure = "eastwest"), as Istio's
// samples/multicluster/expose-istiod.yaml does: the gateway Service is
// read, never written (gen-eastwest-gateway.sh installs it), and its
// address is istiod's for the VMs; the istiod-gateway Gateway and the
// istiod-vs VirtualService route its 15012 and 15017 to istiod. The
// Gateway selects the pods the gateway Service selects (the sample's
// istio=eastwestgateway for a Service without a selector). me.WaitTimeout
// bounds apply's wait for the gateway's address. With me.Manage false
// another environment owns the Gateway and VirtualService too: they are
// read by reference, never written.
func (e *expander) eastWest(me *config.MeshExpansion) {
	c := e.control
	istioNS := e.cfg.Meshx.Istio.Namespace
	rev := e.cfg.Meshx.Istio.Revision
	api := e.profile.Modern.NetworkingAPI
	rng := c.Ranges["istiod_exposure"]
	gw := kube.EastWestGateway(c.Name, istioNS, c.EastWestGateway, me.WaitTimeout)
	gw.Reference = fmt.Sprintf("istiod_exposure = %q on cluster %q reads the east-west gateway Service %s/%s and never creates it. Install the gateway first (Istio's samples/multicluster/gen-eastwest-gateway.sh, or the istio/gateway chart), name it with eastwest_gateway if it is not %s, or set istiod_exposure = %q to have meshx create a load balancer for istiod.",
		config.ExposureEastWest, c.Name, istioNS, c.EastWestGateway, config.DefaultEastWestGateway, config.ExposureILB)
	e.add(gw, rng)
	e.ilbs[istio.IstiodILB.Key] = gw.Addr

	vsName, vsSpec := istio.IstiodVirtualService(istioNS, rev)
	vs := kube.VirtualService(plans.Address{Block: "cluster", Name: c.Name, Type: "virtual_service", Key: istioNS + "/" + vsName},
		c.Name, api, istioNS, vsName, vsSpec)
	vs.DependsOn = append(vs.DependsOn, gw.Addr)
	routes := []providers.Resource{
		kube.Gateway(plans.Address{Block: "cluster", Name: c.Name, Type: "gateway", Key: istioNS + "/" + istio.IstiodGatewayName},
			c.Name, api, istioNS, istio.IstiodGatewayName, istio.IstiodGatewaySpec(rev), &gw.Addr),
		vs,
	}
	for _, r := range routes {
		if me.Manage {
			r.Settings.Adopt = c.Adopt
			e.add(r, rng)
		} else {
			r.ReadOnly = true
			r.Reference = fmt.Sprintf("This environment uses the istiod-gateway Gateway and %s VirtualService of cluster %q by reference (mesh_expansion { manage = false } with istiod_exposure = %q) and never creates them: apply the environment that owns them first, then plan again. Or remove manage = false to have this environment create and own them.",
				vsName, c.Name, config.ExposureEastWest)
			e.add(r, c.Ranges["mesh_expansion.manage"])
		}
		e.istiodRoutes = append(e.istiodRoutes, r.Addr)
	}
}

// vmCluster is the cluster whose istiod a VM joins.
func (e *expander) vmCluster(v *config.VM) string {
	if v.Cluster != "" {
		return v.Cluster
	}
	return e.control.Name
}

// groups gathers the VMs by WorkloadGroup, sorted by name.
func (e *expander) groups() []*group {
	byName := map[string]*group{}
	var out []*group
	for _, v := range e.cfg.VMs {
		if v.Workload == nil {
			continue
		}
		g := byName[v.Workload.Group]
		if g == nil {
			g = &group{name: v.Workload.Group, cluster: e.vmCluster(v), first: v, ports: map[string]int{}}
			byName[g.name] = g
			out = append(out, g)
		}
		g.vms = append(g.vms, v)
		for _, s := range e.cfg.ServicesOn(v.Name) {
			for _, p := range s.Ports {
				if _, ok := g.ports[p.Name]; !ok {
					g.ports[p.Name] = p.Port
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// workloadGroup declares a group's namespace, service account and
// WorkloadGroup (`istioctl x workload group create`).
func (e *expander) workloadGroup(g *group) {
	v := g.first
	w := v.Workload
	e.namespace(g.cluster, v.Namespace, v.DeclRange)
	e.add(kube.ServiceAccount(g.cluster, v.Namespace, v.ServiceAccount), v.DeclRange)
	template := map[string]any{"serviceAccount": v.ServiceAccount}
	if w.Network != "" {
		template["network"] = w.Network
	}
	if len(g.ports) > 0 {
		template["ports"] = g.ports
	}
	var probe map[string]any
	if w.Probe != nil {
		probe = w.Probe.Spec()
	}
	r := kube.WorkloadGroup(workloadGroupAddress(g.cluster, v.Namespace, g.name), g.cluster, e.profile.Modern.NetworkingAPI,
		v.Namespace, g.name, w.Labels, template, probe)
	r.DependsOn = append(r.DependsOn, kube.NamespaceAddress(g.cluster, v.Namespace))
	r.Settings.Adopt = e.adopt(g.cluster)
	e.add(r, v.DeclRange)
}

func workloadGroupAddress(cluster, namespace, name string) plans.Address {
	return plans.Address{Block: "cluster", Name: cluster, Type: "workload_group", Key: namespace + "/" + name}
}

// adopt is the adopt setting of a cluster.
func (e *expander) adopt(cluster string) bool {
	c := e.cfg.Cluster(cluster)
	return c != nil && c.Adopt
}

// selectorService declares a service block's Service: selecting its VMs'
// WorkloadEntries by their labels, with no Endpoints.
func (e *expander) selectorService(s *config.Service) {
	cluster := s.Cluster
	if cluster == "" {
		cluster = e.control.Name
	}
	var selector map[string]string
	for _, name := range s.VMs {
		if v := e.cfg.VM(name); v != nil && v.Workload != nil {
			selector = v.Workload.Labels
			break
		}
	}
	ns := e.namespace(cluster, s.Namespace, s.DeclRange)
	ports := make([]kube.Port, len(s.Ports))
	for i, p := range s.Ports {
		ports[i] = kube.Port{Name: p.Name, Port: int32(p.Port), Protocol: "TCP"}
	}
	r := kube.SelectorService(plans.Address{Block: "service", Name: s.Name, Type: "service"}, cluster, s.Namespace, s.ServiceName,
		ports, selector, s.Labels, s.Annotations)
	r.DependsOn = append(r.DependsOn, ns)
	r.Settings.Adopt = e.adopt(cluster)
	e.add(r, s.DeclRange)
}

// modernVM declares one VM of the istiod era: its WorkloadEntry unless
// istiod registers it, and on the VM what istioctl writes plus the install
// steps, done right: the token 0600 istio-proxy on disk (linked where the
// agent reads it) and renewed, one managed /etc/hosts line, the unit
// enabled.
func (e *expander) modernVM(g *group, v *config.VM) {
	w := v.Workload
	cluster := g.cluster
	add := func(r providers.Resource) plans.Address {
		e.add(r, v.DeclRange)
		return r.Addr
	}
	istioNS := e.cfg.Meshx.Istio.Namespace
	rev := e.cfg.Meshx.Istio.Revision
	saAddr := kube.ServiceAccountAddress(cluster, v.Namespace, v.ServiceAccount)

	if !w.AutoRegister {
		spec := map[string]any{"address": v.MeshIP, "labels": w.Labels, "serviceAccount": v.ServiceAccount}
		if w.Network != "" {
			spec["network"] = w.Network
		}
		if w.Locality != "" {
			spec["locality"] = w.Locality
		}
		if w.Weight > 0 {
			spec["weight"] = w.Weight
		}
		name := workloadEntryName(v.Name)
		r := kube.WorkloadEntry(plans.Address{Block: "cluster", Name: cluster, Type: "workload_entry", Key: v.Namespace + "/" + name},
			cluster, e.profile.Modern.NetworkingAPI, v.Namespace, name, spec)
		r.DependsOn = append(r.DependsOn, kube.NamespaceAddress(cluster, v.Namespace), workloadGroupAddress(cluster, v.Namespace, g.name))
		r.Settings.Adopt = e.adopt(cluster)
		add(r)
	}

	pkgs := e.sidecarPackages(v)
	withPkg := func(deps ...plans.Address) []plans.Address { return append(deps, pkgs...) }
	c := e.cfg.Cluster(cluster)
	wl := istio.Workload{
		Group: g.name, Namespace: v.Namespace, ServiceAccount: v.ServiceAccount, Labels: w.Labels, Ports: g.ports,
		IstioNamespace: istioNS, Revision: rev, ClusterID: c.ClusterID, MeshID: e.cfg.Meshx.Istio.MeshID,
		Network: w.Network, TrustDomain: e.cfg.Meshx.Istio.TrustDomain, MeshIP: v.MeshIP,
		AutoRegister: w.AutoRegister, CaptureDNS: true, Probe: w.Probe,
	}

	proxyFile := func(path string, content vm.FileContent, deps []plans.Address) vm.FileOptions {
		return vm.FileOptions{Path: path, Content: content, Mode: 0o644, Owner: istio.ProxyUser, Group: istio.ProxyUser, DependsOn: deps}
	}
	envOpts := proxyFile(istio.ClusterEnvPath, func(in providers.Outputs) (any, error) {
		extra, unknown, err := e.envMap(v.ClusterEnv, in)
		if err != nil || unknown {
			return plans.Unknown, err
		}
		return istio.ModernClusterEnv(wl.ClusterEnvKeys(extra)), nil
	}, withPkg())
	envOpts.Sensitive = len(v.ClusterEnv.Sensitive) > 0
	clusterEnv := add(vm.File(v.Name, envOpts))

	mesh := add(vm.File(v.Name, proxyFile(istio.MeshConfigPath, func(providers.Outputs) (any, error) {
		return wl.MeshConfig()
	}, withPkg())))

	rc := kube.RootCert(cluster, v.Namespace)
	add(rc)
	root := add(vm.File(v.Name, proxyFile(istio.RootCertPath, func(in providers.Outputs) (any, error) {
		val, ok := in.Output(rc.Addr, "root-cert.pem")
		if !ok {
			return nil, fmt.Errorf("ConfigMap %s/%s has no root-cert.pem", v.Namespace, kube.RootCertConfigMap)
		}
		return val, nil
	}, withPkg(rc.Addr))))

	life := w.TokenLifetime
	if life <= 0 {
		life = istio.DefaultTokenLifetime
	}
	src := &kube.TokenSource{Cluster: cluster, Namespace: v.Namespace, ServiceAccount: v.ServiceAccount, Audiences: []string{istio.TokenAudience}}
	e.out.tokens = append(e.out.tokens, src)
	token := add(vm.Token(v.Name, vm.TokenOptions{Path: istio.TokenPath, Mint: src.Mint, Audience: istio.TokenAudience, Lifetime: life,
		Mode: 0o600, Owner: istio.ProxyUser, Group: istio.ProxyUser, DependsOn: withPkg(saAddr)}))
	dropIn := add(vm.File(v.Name, vm.FileOptions{Path: istio.TokenDropInPath, Content: func(providers.Outputs) (any, error) {
		return istio.TokenDropIn, nil
	}, Mode: 0o644, Owner: "root", Group: "root"}))

	ilb := e.ilbs[istio.IstiodILB.Key]
	hosts := add(vm.LineFunc(v.Name, istio.HostsPath, func(in providers.Outputs) (any, error) {
		ip, err := e.istiodIP(in, ilb)
		if err != nil || plans.IsUnknown(ip) {
			return ip, err
		}
		return istio.HostsLine(ip.(string), istioNS, rev), nil
	}, append([]plans.Address{ilb}, e.istiodRoutes...)))

	if len(pkgs) == 0 {
		return // no package, no unit file to enable
	}
	unit := vm.Unit(v.Name, istio.SidecarUnit, withPkg(clusterEnv, mesh, root, dropIn, hosts))
	unit.DependsOn = append(unit.DependsOn, token)
	add(unit)
}

// workloadEntryName is the WorkloadEntry of VM name: the name itself, or
// for an instance of a vm block with for_each or count (web["a"], web[0])
// the block's label and key joined by '-', lower-cased, with every other
// character a '-' (web-a, web-0).
func workloadEntryName(vm string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimRight(vm, `"]`)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' {
			b.WriteRune(r)
		} else if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-.")
}

// istiodIP returns the IP address VMs reach istiod at: the load balancer's
// IP, or, for a load balancer that has a host name instead (AWS), the
// first IPv4 address that name resolves to from here, so /etc/hosts can
// carry it (istioctl writes no hosts line then). A plan after the name
// moves replaces the line.
func (e *expander) istiodIP(in providers.Outputs, ilb plans.Address) (any, error) {
	ip, _ := in.Output(ilb, "ip")
	host, _ := in.Output(ilb, "hostname")
	if s, ok := ip.(string); ok && s != "" {
		if err := checkILBAddress(ilb, "ip", s); err != nil {
			return nil, err
		}
		return s, nil
	}
	h, ok := host.(string)
	if !ok || h == "" {
		return plans.Unknown, nil
	}
	if err := checkILBAddress(ilb, "hostname", h); err != nil {
		return nil, err
	}
	addrs, err := lookupIPv4(h, hostnameResolveWait)
	if err != nil {
		return nil, fmt.Errorf("%s: the load balancer's host name %q does not resolve to an IPv4 address here after %s (%v); /etc/hosts on the VMs needs one. Check with: host %s",
			ilb, h, hostnameResolveWait, err, h)
	}
	return addrs[0].String(), nil
}

// hostnameResolveWait bounds how long the name of a load balancer may take
// to resolve: a cloud publishes the name of a new one with its address,
// and its DNS answers for it a little later (an AWS ELB's, a minute or
// two).
const hostnameResolveWait = 3 * time.Minute

// lookupIPv4 resolves name to IPv4 addresses with the resolver of the
// machine meshx runs on, asking again every two seconds for up to wait
// while the answer is an error or empty.
func lookupIPv4(name string, wait time.Duration) ([]net.IP, error) {
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		addrs, err := net.DefaultResolver.LookupIP(ctx, "ip4", name)
		cancel()
		if err == nil && len(addrs) > 0 {
			return addrs, nil
		}
		if err == nil {
			err = errors.New("no IPv4 address")
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(2 * time.Second)
	}
}
