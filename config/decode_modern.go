package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/meshx-dev/meshx/istio"
)

// The attributes of the istiod era (profile "1.20" and later) and of the
// setupMeshEx.sh era, each refused under the other's profile.
var (
	modernIstioAttrs = []string{"revision", "mesh_id", "network", "trust_domain", "debug_url"}
	modernVMAttrs    = []string{"workload_group", "labels", "auto_register", "token_lifetime", "network", "locality", "weight"}
	legacyVMAttrs    = []string{"certs_mode"}
)

// modern reports whether the configuration's profile is of the istiod era.
func (l *loader) modern() bool { return profileByName(l.profile).Modern != nil }

// wrongEra reports each attribute of attrs set on a block under a profile
// that has no use for it.
func (l *loader) wrongEra(d *decoder, attrs []string) {
	for _, name := range attrs {
		if !d.has(name) {
			continue
		}
		if l.modern() {
			l.errorf(d.attr(name).NameRange, "Attribute of the legacy profiles",
				"%s of %s belongs to the setupMeshEx.sh era (profiles 0.2 to 1.0); Istio %s has no use for it. Remove it.", name, d.where, l.profile)
		} else {
			l.errorf(d.attr(name).NameRange, "Attribute of the istiod era",
				"%s of %s configures istiod-era Istio (profile = \"1.20\" or later); profile %q has no such setting. Set the profile your mesh runs, or remove %s.", name, d.where, l.profile, name)
		}
	}
}

// decodeModernIstio decodes the istiod-era attributes of meshx.istio.
func (l *loader) decodeModernIstio(id *decoder, i *Istio) {
	if !l.modern() {
		l.wrongEra(id, modernIstioAttrs)
		return
	}
	if id.has("control_plane_auth") {
		l.errorf(id.attr("control_plane_auth").NameRange, "Attribute of the legacy profiles",
			"control_plane_auth set the legacy pilot's transport; istiod always serves VMs over mutual TLS on 15012 (Istio %s). Remove it.", l.profile)
	}
	i.Revision = id.str("revision", "")
	if id.has("revision") {
		id.checkName("revision", "revision", i.Revision, checkDNS1123Label)
	}
	i.MeshID = id.str("mesh_id", "")
	i.Network = id.str("network", "")
	if i.Network != "" {
		id.checkName("network", "network name", i.Network, checkLabelValue)
	}
	i.TrustDomain = id.str("trust_domain", "cluster.local")
	id.checkName("trust_domain", "trust domain", i.TrustDomain, checkDNS1123Subdomain)
	i.DebugURL = id.str("debug_url", "")
	if i.DebugURL != "" {
		checkDebugURL(id, i.DebugURL)
	}
}

// checkDebugURL checks meshx.istio.debug_url: an http:// or https:// URL
// of istiod's monitoring port, with no credentials in it (verify prints
// the URL) and no path of its own beyond "/".
func checkDebugURL(d *decoder, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		d.l.errorf(d.rng("debug_url"), "Invalid istiod debug URL",
			"The debug_url of %s is %s, not an http:// or https:// URL. Write istiod's monitoring port as meshx reaches it, like \"http://127.0.0.1:15014\" behind kubectl -n istio-system port-forward deploy/istiod 15014.", d.where, d.quoted("debug_url", s))
	case u.User != nil:
		d.l.errorf(d.rng("debug_url"), "Credentials in istiod debug URL",
			"The debug_url of %s holds a user name or password, which meshx would print. Remove them: istiod answers its debug endpoints to localhost, so reach it through kubectl port-forward.", d.where)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		d.l.errorf(d.rng("debug_url"), "Path in istiod debug URL",
			"The debug_url of %s is %s; meshx adds /debug/endpointz itself. Write only the scheme, host and port, like \"http://127.0.0.1:15014\".", d.where, d.quoted("debug_url", s))
	}
}

// decodeIstiodExposure decodes how the control cluster exposes istiod to
// VMs in the istiod era.
func (l *loader) decodeIstiodExposure(d *decoder, c *Cluster) {
	if !d.has("istiod_exposure") {
		if c.Role == RoleControl && l.modern() {
			c.IstiodExposure = ExposureILB
		}
		return
	}
	switch {
	case !l.modern():
		l.wrongEra(d, []string{"istiod_exposure"})
	case c.Role != RoleControl:
		l.errorf(d.attr("istiod_exposure").NameRange, "Attribute only for the control cluster",
			"istiod_exposure is set on %s, a remote cluster; istiod runs in the control cluster. Move it there.", d.where)
	default:
		c.IstiodExposure = d.str("istiod_exposure", ExposureILB)
		d.oneOf("istiod_exposure", c.IstiodExposure, []string{ExposureILB, ExposureEastWest}, "Unknown istiod exposure")
	}
}

// decodeEastWestGateway decodes the name of the east-west gateway Service
// that istiod_exposure = "eastwest" reads.
func (l *loader) decodeEastWestGateway(d *decoder, c *Cluster) {
	if c.IstiodExposure == ExposureEastWest {
		c.EastWestGateway = d.str("eastwest_gateway", DefaultEastWestGateway)
		d.checkName("eastwest_gateway", "Service name", c.EastWestGateway, checkDNS1035Label)
		return
	}
	if d.has("eastwest_gateway") && !l.modern() {
		l.wrongEra(d, []string{"eastwest_gateway"})
	} else if d.has("eastwest_gateway") {
		l.errorf(d.attr("eastwest_gateway").NameRange, "East-west gateway without its exposure",
			"eastwest_gateway names the gateway Service through which VMs reach istiod when istiod_exposure = %q, but %s does not expose istiod that way. Set istiod_exposure = %q, or remove eastwest_gateway.",
			ExposureEastWest, d.where, ExposureEastWest)
	}
}

// decodeWorkload decodes a VM's place in an istiod-era mesh.
func (l *loader) decodeWorkload(d *decoder, v *VM) {
	if !l.modern() {
		l.wrongEra(d, modernVMAttrs)
		return
	}
	l.wrongEra(d, legacyVMAttrs)
	w := &Workload{}
	// Instances of one vm block (for_each, count) share its group.
	label, _, _ := strings.Cut(v.Name, "[")
	w.Group = d.str("workload_group", label)
	d.checkName("workload_group", "WorkloadGroup name", w.Group, checkDNS1123Subdomain)
	var keys map[string]hcl.Range
	w.Labels, keys = d.stringMap("labels")
	for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
		rng := rangeOr(keys, k, d.rng("labels"))
		if msg := checkLabelKey(k); msg != "" {
			l.errorf(rng, "Invalid label key", "%s in the labels of %s is not a valid Kubernetes label key. %s", d.quoted("labels", k), d.where, msg)
		} else if msg := checkLabelValue(w.Labels[k]); msg != "" {
			l.errorf(rng, "Invalid label value", "The value %s of label %s of %s is not a valid Kubernetes label value. %s", d.quoted("labels", w.Labels[k]), d.quoted("labels", k), d.where, msg)
		}
	}
	if len(w.Labels) == 0 {
		if d.has("labels") {
			l.errorf(d.rng("labels"), "Empty labels",
				"The labels of %s are empty, so no Service could select it: Istio selects VMs by the labels of their WorkloadEntries. Set at least one, like labels = { app = %q }, or remove the attribute for that default.", d.where, w.Group)
		}
		w.Labels = map[string]string{"app": w.Group}
	}
	w.AutoRegister = d.boolean("auto_register", false)
	w.TokenLifetime = d.duration("token_lifetime", 24*time.Hour)
	if w.TokenLifetime < 10*time.Minute && d.has("token_lifetime") {
		l.errorf(d.rng("token_lifetime"), "Token lifetime too short",
			"The token_lifetime of %s is %s; Kubernetes issues tokens for at least 10m. Use 10m or more (apply mints a new token once two thirds of it have passed).", d.where, w.TokenLifetime)
	}
	w.Network = d.str("network", l.cfg.Meshx.Istio.Network)
	if d.has("network") {
		d.checkName("network", "network name", w.Network, checkLabelValue)
	}
	w.Locality = d.str("locality", "")
	if d.has("weight") {
		w.Weight = d.port("weight", 0)
	}
	if pd := d.nested("probe"); pd != nil {
		w.Probe = l.decodeProbe(pd)
	}
	v.Workload = w
}

// decodeProbe decodes a probe block: exactly one of http_get, tcp_socket
// and exec, and the timing of Istio's ReadinessProbe in whole seconds.
func (l *loader) decodeProbe(d *decoder) *istio.Probe {
	p := &istio.Probe{}
	var methods []string
	if hd := d.nested("http_get"); hd != nil {
		methods = append(methods, "http_get")
		p.HTTPPort = hd.port("port", 0)
		p.HTTPPath = hd.str("path", "/")
		if !strings.HasPrefix(p.HTTPPath, "/") || strings.ContainsAny(p.HTTPPath, " \t\r\n") {
			l.errorf(hd.rng("path"), "Invalid probe path",
				"The path of %s is %s; pilot-agent requests it from the application as an HTTP path. Write an absolute path without spaces, like path = \"/healthz\".", hd.where, hd.quoted("path", p.HTTPPath))
		}
	}
	if td := d.nested("tcp_socket"); td != nil {
		methods = append(methods, "tcp_socket")
		p.TCPPort = td.port("port", 0)
	}
	if ed := d.nested("exec"); ed != nil {
		methods = append(methods, "exec")
		if v, ok := ed.value("command", cty.List(cty.String), `a list of strings, like command = ["/usr/bin/mysqladmin", "ping"]`); ok {
			for _, s := range v.AsValueSlice() {
				p.Exec = append(p.Exec, s.AsString())
			}
			if len(p.Exec) == 0 || p.Exec[0] == "" {
				l.errorf(ed.rng("command"), "Empty probe command",
					"The command of %s is empty; pilot-agent runs its first element with the rest as arguments. Write the program and its arguments, like command = [\"/usr/bin/mysqladmin\", \"ping\"].", ed.where)
			}
		}
	}
	if len(methods) != 1 {
		l.errorf(d.body.block.DefRange, "Probe needs one check",
			"%s has %d of http_get, tcp_socket and exec (%s); Istio's probe checks the application one way. Keep exactly one.",
			strings.ToUpper(d.where[:1])+d.where[1:], len(methods), strings.Join(methods, ", "))
	}
	seconds := func(name string) time.Duration {
		t := d.duration(name, 0)
		if t%time.Second != 0 {
			l.errorf(d.rng(name), "Probe timing not in whole seconds",
				"The %s of %s is %s; Istio's probe counts whole seconds. Write a whole number of seconds, like \"%ds\".", name, d.where, t, int(t.Round(time.Second)/time.Second))
		}
		return t
	}
	p.InitialDelay, p.Period, p.Timeout = seconds("initial_delay"), seconds("period"), seconds("timeout")
	threshold := func(name string) int {
		v, ok := d.value(name, cty.Number, fmt.Sprintf("a whole number, like %s = 3", name))
		if !ok {
			return 0
		}
		n, acc := v.AsBigFloat().Int64()
		if acc != big.Exact || n < 1 || n > 1000 {
			l.errorf(d.rng(name), "Invalid probe threshold",
				"The %s of %s is %s; it counts consecutive probes, a whole number from 1 to 1000.", name, d.where, v.AsBigFloat().Text('f', -1))
			return 0
		}
		return int(n)
	}
	p.SuccessThreshold, p.FailureThreshold = threshold("success_threshold"), threshold("failure_threshold")
	return p
}

// checkWorkloadGroups checks that the VMs of one WorkloadGroup agree on
// what the group says of all of them, and that no VM of the istiod era
// contradicts its cluster's ID in cluster_env (istio#42516).
func (l *loader) checkWorkloadGroups() {
	groups := map[string]*VM{}
	for _, v := range l.cfg.VMs {
		if v.Workload == nil || !v.complete {
			continue
		}
		l.checkClusterIDOverride(v)
		first, ok := groups[v.Workload.Group]
		if !ok {
			groups[v.Workload.Group] = v
			continue
		}
		differ := func(what, a, b string) {
			l.errorf(v.DeclRange, "WorkloadGroup members disagree",
				"vm.%s and vm.%s are both in WorkloadGroup %q but have different %s (%q and %q): a group has one. Make them equal, or put the VMs in different groups with workload_group.",
				first.Name, v.Name, v.Workload.Group, what, a, b)
		}
		switch {
		case first.Namespace != v.Namespace:
			differ("namespaces", first.Namespace, v.Namespace)
		case first.ServiceAccount != v.ServiceAccount:
			differ("service accounts", first.ServiceAccount, v.ServiceAccount)
		case fmt.Sprint(first.Workload.Labels) != fmt.Sprint(v.Workload.Labels):
			differ("labels", fmt.Sprint(first.Workload.Labels), fmt.Sprint(v.Workload.Labels))
		case first.Workload.Network != v.Workload.Network:
			differ("networks", first.Workload.Network, v.Workload.Network)
		case first.Workload.AutoRegister != v.Workload.AutoRegister:
			differ("auto_register settings", fmt.Sprint(first.Workload.AutoRegister), fmt.Sprint(v.Workload.AutoRegister))
		case probeText(first.Workload.Probe) != probeText(v.Workload.Probe):
			differ("probes", probeText(first.Workload.Probe), probeText(v.Workload.Probe))
		}
	}
}

// probeText shows a probe in a diagnostic, or "none".
func probeText(p *istio.Probe) string {
	if p == nil {
		return "none"
	}
	b, _ := json.Marshal(p.Spec())
	return string(b)
}

// checkClusterIDOverride refuses an ISTIO_META_CLUSTER_ID in a VM's
// cluster_env that differs from the ID of the cluster whose istiod the VM
// joins: istiod would place the VM's proxy in a cluster it does not know.
func (l *loader) checkClusterIDOverride(v *VM) {
	id, ok := v.ClusterEnv.Values["ISTIO_META_CLUSTER_ID"]
	if !ok {
		return
	}
	name := v.Cluster
	c := l.cfg.Control()
	if name != "" {
		c = l.cfg.Cluster(name)
	}
	if c == nil || c.ClusterID == id {
		return
	}
	l.errorf(v.ClusterEnv.Range, "Cluster ID disagrees",
		"The cluster_env of vm.%s sets ISTIO_META_CLUSTER_ID = %q, but the VM joins cluster %q, whose cluster ID is %q; istiod would not recognise the VM's cluster. Remove the key (meshx writes the cluster's ID), or change cluster_id on the cluster.",
		v.Name, id, c.Name, c.ClusterID)
}

// checkModern runs the checks of the istiod era that span blocks.
func (l *loader) checkModern() {
	if !l.modern() {
		return
	}
	l.checkWorkloadGroups()
	for _, s := range l.cfg.Services {
		if s.complete {
			l.checkModernService(s)
		}
	}
}

// checkModernService checks a service block of the istiod era: its
// Service selects its VMs' WorkloadEntries by label, so it must live in
// their namespace and its VMs must carry the same labels.
func (l *loader) checkModernService(s *Service) {
	var first *VM
	for _, name := range s.VMs {
		v := l.vms[name]
		if v == nil || v.Workload == nil {
			continue
		}
		if v.Namespace != s.Namespace && s.AllowNamespaceMismatch {
			l.errorf(s.Ranges["allow_namespace_mismatch"], "Service outside its VMs' namespace",
				"service %q is in namespace %q but vm.%s is in %q. In the istiod era a Service selects WorkloadEntries of its own namespace only, so allow_namespace_mismatch cannot work. Put the service in %q and remove allow_namespace_mismatch.",
				s.Name, s.Namespace, v.Name, v.Namespace, v.Namespace)
			return
		}
		if first == nil {
			first = v
		} else if fmt.Sprint(first.Workload.Labels) != fmt.Sprint(v.Workload.Labels) {
			l.errorf(s.DeclRange, "Service VMs with different labels",
				"service %q selects its VMs by label, but vm.%s has labels %v and vm.%s %v. Give them the same labels.",
				s.Name, first.Name, first.Workload.Labels, v.Name, v.Workload.Labels)
			return
		}
	}
}

// eastWestLoadBalancer refuses the mesh_expansion attributes that shape
// the load balancer in front of istiod when control cluster c exposes
// istiod through its east-west gateway: meshx creates no load balancer
// then (the gateway Service is read, never written), so they would
// silently do nothing. load_balancer = "none" says as much and is
// accepted; wait_timeout still bounds the wait for the gateway's address.
func (l *loader) eastWestLoadBalancer(md *decoder, c *Cluster) {
	for _, name := range []string{"load_balancer", "annotations"} {
		if !md.has(name) || (name == "load_balancer" && md.str(name, "") == "none") {
			continue
		}
		l.errorf(md.attr(name).NameRange, "Attribute of a load balancer meshx does not create",
			"%s in %s shapes the istiod-ilb Service that meshx creates with istiod_exposure = %q; with istiod_exposure = %q VMs reach istiod through the east-west gateway Service %q, which meshx reads and never changes, so %s would do nothing. Give the gateway Service its internal-load-balancer annotations where it is installed (k8s.serviceAnnotations in the IstioOperator of Istio's gen-eastwest-gateway.sh, or service.annotations of the istio/gateway chart) and remove %s here, or set istiod_exposure = %q.",
			name, md.where, ExposureILB, ExposureEastWest, c.EastWestGateway, name, name, ExposureILB)
	}
}
