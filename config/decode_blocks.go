package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/meshx-dev/meshx/internal/debfile"
	"github.com/meshx-dev/meshx/istio"
	"github.com/zclconf/go-cty/cty"
)

// evaluate decodes the nodes in dependency order. A node that references a
// failed node is skipped: its problems show once the first one is fixed.
func (l *loader) evaluate() {
	for _, n := range l.order {
		if n.failed {
			continue
		}
		for dep := range n.deps {
			if l.nodes[dep].failed {
				n.failed = true
			}
		}
		if n.failed {
			continue
		}
		l.checkILBRefs(n)
		if n.failed {
			continue
		}
		switch n.kind {
		case "meshx":
			l.decodeMeshx(n)
		case "local":
			v, diags := n.attr.Expr.Value(l.scope.ctx())
			l.diags = append(l.diags, diags...)
			if diags.HasErrors() {
				n.failed = true
				continue
			}
			l.scope.locals[n.name] = v
		case "cluster":
			l.scope.clusters[n.name] = l.decodeInstances(n, l.decodeCluster)
		case "vm":
			l.scope.vms[n.name] = l.decodeInstances(n, l.decodeVM)
		case "service":
			l.scope.services[n.name] = l.decodeInstances(n, l.decodeService)
		case "output":
			l.decodeOutput(n)
		}
	}
	// Failed nodes evaluate as unknown so that nothing else trips on them.
	for _, n := range l.order {
		if !n.failed {
			continue
		}
		switch n.kind {
		case "local":
			l.scope.locals[n.name] = cty.DynamicVal
		case "cluster":
			l.scope.clusters[n.name] = cty.DynamicVal
		case "vm":
			l.scope.vms[n.name] = cty.DynamicVal
		case "service":
			l.scope.services[n.name] = cty.DynamicVal
		}
	}
}

// checkILBRefs checks references to cluster.<c>.ilb.<key> against the
// profile's ILB keys, with better messages than a missing attribute gets.
func (l *loader) checkILBRefs(n *node) {
	for _, t := range n.traversals() {
		if t.RootName() != "cluster" || attrStep(t, 2) != "ilb" {
			continue
		}
		c := l.clusters[attrStep(t, 1)]
		if c == nil {
			continue
		}
		if !c.IsControl() {
			l.errorf(t.SourceRange(), "No load balancers on a remote cluster",
				"Only the control cluster has internal load balancers (ILBs), and cluster %q is a remote. Reference the control cluster's, like cluster.%s.ilb.pilot.address.",
				c.Name, l.controlName())
			n.failed = true
			continue
		}
		key := attrStep(t, 3)
		if key == "" && len(t) > 3 {
			l.errorf(t.SourceRange(), "Invalid reference", "Write ILB keys with a dot, like cluster.%s.ilb.pilot.address.", c.Name)
			n.failed = true
			continue
		}
		if key == "" {
			continue
		}
		keys := profileByName(l.profile).ILBKeys()
		found := false
		for _, k := range keys {
			found = found || k == key
		}
		if !found {
			l.errorf(t.SourceRange(), "Unknown ILB key",
				"Istio profile %q has the ILBs %s; there is no %q%s", l.profile, quoteList(keys), key, suggest(key, keys))
			n.failed = true
		}
	}
}

// controlName returns the name of a cluster decoded as control, or
// "control".
func (l *loader) controlName() string {
	for _, name := range slices.Sorted(maps.Keys(l.clusters)) {
		if l.clusters[name].IsControl() {
			return name
		}
	}
	return "control"
}

var controlPlaneAuths = []string{istio.AuthMutualTLS, istio.AuthNone}

func (l *loader) decodeMeshx(n *node) {
	m := Meshx{DeclRange: n.body.block.DefRange, Ranges: map[string]hcl.Range{}}
	d := l.decoder(n, n.body, "the meshx block", "", m.Ranges)
	m.Environment = d.str("environment", "")
	if d.has("environment") && m.Environment != "" {
		d.checkName("environment", "environment name", m.Environment, checkDNS1123Label)
	} else if d.has("environment") && !n.failed {
		l.errorf(d.rng("environment"), "Invalid environment name", "The environment is empty. Name it, like environment = \"bookinfo\": it labels everything meshx owns.")
	}
	m.Adopt = d.boolean("adopt", false)
	m.Istio = Istio{Namespace: "istio-system", Profile: istio.DefaultProfile, ControlPlaneAuth: istio.AuthMutualTLS}
	if id := d.nested("istio"); id != nil {
		m.Istio.Namespace = id.str("namespace", m.Istio.Namespace)
		if id.has("namespace") {
			id.checkName("namespace", "namespace", m.Istio.Namespace, checkDNS1123Label)
		}
		m.Istio.Profile = id.str("profile", m.Istio.Profile)
		if _, ok := istio.Lookup(m.Istio.Profile); ok {
			l.profile = m.Istio.Profile
		} else if id.has("profile") {
			id.oneOf("profile", m.Istio.Profile, istio.Names(), "Unknown Istio profile")
		}
		prof := profileByName(l.profile)
		if !prof.HasCPAuth() {
			m.Istio.ControlPlaneAuth = istio.AuthNone
		}
		m.Istio.ControlPlaneAuth = id.str("control_plane_auth", m.Istio.ControlPlaneAuth)
		if id.has("control_plane_auth") && prof.Modern == nil &&
			id.oneOf("control_plane_auth", m.Istio.ControlPlaneAuth, controlPlaneAuths, "Invalid control plane auth policy") &&
			!prof.HasCPAuth() && m.Istio.ControlPlaneAuth != istio.AuthNone && !n.failed {
			l.errorf(id.rng("control_plane_auth"), "No control plane auth in this Istio profile",
				"Istio %s has no control-plane authentication: pilot serves plain text on 8080 only, and cluster.env has no auth key. Remove control_plane_auth (it is NONE), or choose profile \"0.4\" or later.", prof.Name)
		}
		l.decodeModernIstio(id, &m.Istio)
	}
	l.istioNS = m.Istio.Namespace
	l.cfg.Meshx = m
	l.scope.meshx = meshxObject(m)
}

// kubeconfig decodes a cluster's kubeconfig: a path or a list of paths,
// returned in KUBECONFIG's form (joined by the path list separator), or ""
// when unset (client-go's loading rules then apply).
func (l *loader) kubeconfig(d *decoder) string {
	v, ok := d.raw("kubeconfig")
	if !ok {
		return ""
	}
	var paths []string
	if t := v.Type(); t.IsListType() || t.IsTupleType() || t.IsSetType() {
		lv, ok := d.value("kubeconfig", cty.List(cty.String), `a path or a list of paths, like kubeconfig = ["~/.kube/config", "~/.kube/prod.yaml"]`)
		if !ok {
			return ""
		}
		for it := lv.ElementIterator(); it.Next(); {
			_, e := it.Element()
			paths = append(paths, e.AsString())
		}
	} else if s := d.str("kubeconfig", ""); s != "" {
		paths = []string{s}
	}
	if len(paths) == 0 || slices.Contains(paths, "") {
		l.errorf(d.rng("kubeconfig"), "Empty kubeconfig",
			"The kubeconfig of %s is empty or lists an empty path. Name the files, or remove the attribute to use KUBECONFIG (else ~/.kube/config).", d.where)
		return ""
	}
	for i, p := range paths {
		paths[i] = l.path(p)
	}
	return strings.Join(paths, string(filepath.ListSeparator))
}

// decodeCluster decodes one instance of a cluster block and returns the value
// references to it evaluate to.
func (l *loader) decodeCluster(n *node, inst *instance) cty.Value {
	c := &Cluster{Name: inst.name, Key: inst.key, DeclRange: n.body.block.DefRange, Ranges: map[string]hcl.Range{}}
	where := inst.where
	d := l.instanceDecoder(n, inst, c.Ranges)
	c.Role = d.str("role", RoleRemote)
	if !d.oneOf("role", c.Role, []string{RoleControl, RoleRemote}, "Invalid cluster role") {
		c.Role = ""
	}
	if c.Role == RoleControl && !inst.key.IsNone() {
		l.errorf(d.rng("role"), "Control cluster with for_each or count",
			"%s is the control cluster, but its block has %s: one Istio control plane runs the mesh. Give the control cluster a block of its own, and use for_each or count for remotes.", where, repetitionArg(n))
		c.Role = ""
		inst.failed = true
	}
	c.Kubeconfig = l.kubeconfig(d)
	c.Context = d.str("context", "")
	c.RequestTimeout = d.duration("request_timeout", 0)
	c.PodCIDR, c.PodPrefix = d.cidr("pod_cidr")
	c.ServiceCIDR, c.ServicePrefix = d.cidr("service_cidr")
	c.ClusterID = d.str("cluster_id", n.name)
	if !inst.key.IsNone() && d.attr("cluster_id") == nil && !inst.failed {
		l.errorf(n.body.block.DefRange, "Missing cluster_id",
			"%s is one of the instances of a block with %s, so the block's label cannot be its cluster ID: every instance needs its own. Add cluster_id, like cluster_id = \"%s-${%s}\".", where, repetitionArg(n), n.name, keyExpr(n))
		inst.failed = true
	}
	d.checkName("cluster_id", "cluster ID", c.ClusterID, checkDNS1123Label)
	c.Adopt = d.boolean("adopt", l.cfg.Meshx.Adopt)
	remoteOnly := func(name string) bool {
		if d.has(name) && c.Role == RoleControl {
			l.errorf(d.attr(name).NameRange, "Attribute only for remote clusters",
				"%s is set on %s, the control cluster. It configures how the control plane reads a remote cluster; remove it here.", name, where)
			return false
		}
		return true
	}
	if remoteOnly("service_account") && c.Role == RoleRemote {
		c.ServiceAccount = d.str("service_account", l.readerServiceAccount())
		d.checkName("service_account", "service account name", c.ServiceAccount, checkDNS1123Subdomain)
	}
	if remoteOnly("token_lifetime") && c.Role == RoleRemote {
		c.TokenLifetime = d.duration("token_lifetime", 0)
		if c.TokenLifetime != 0 && c.TokenLifetime < 10*time.Minute {
			l.errorf(d.rng("token_lifetime"), "Token lifetime too short",
				"The token_lifetime of %s is %s; Kubernetes issues tokens for at least 10m. Use 10m or more, or leave it unset for a long-lived token.", where, c.TokenLifetime)
		}
	}
	l.decodeIstiodExposure(d, c)
	l.decodeEastWestGateway(d, c)
	if md := d.nested("mesh_expansion"); md != nil {
		if c.Role == RoleRemote {
			l.errorf(md.body.block.DefRange, "Mesh expansion on a remote cluster",
				"The mesh_expansion block configures the control plane's internal load balancers, so it belongs on the control cluster; %s is a remote. Move it to the cluster with role = \"control\".", where)
		} else {
			c.MeshExpansion = l.meshExpansion(md, c)
		}
	}
	if c.Role == RoleControl && c.MeshExpansion == nil {
		c.MeshExpansion = &MeshExpansion{LoadBalancer: "none", WaitTimeout: 10 * time.Minute, Manage: true}
	}
	c.ManageRemoteSecret = true
	if rd := d.nested("remote_secret"); rd != nil {
		if c.Role == RoleControl {
			l.errorf(rd.body.block.DefRange, "Remote secret on the control cluster",
				"The remote_secret block says who owns the secret through which the control plane reads a remote cluster, so it belongs on a remote; %s is the control cluster. Remove it here.", where)
		} else {
			c.ManageRemoteSecret = rd.boolean("manage", true)
			l.decodeRemoteSecret(rd, c)
		}
	}
	if !c.ManageRemoteSecret {
		for _, name := range []string{"service_account", "token_lifetime"} {
			if d.has(name) {
				l.errorf(d.attr(name).NameRange, "Attribute of a reader this environment does not manage",
					"%s configures the reader meshx creates in %s, but its remote_secret block says manage = false: another environment owns the reader and its secret. Remove %s here (set it in the owning environment), or remove manage = false.", name, where, name)
			}
		}
	}
	c.complete = !inst.failed
	l.clusters[c.Name] = c
	l.cfg.Clusters = append(l.cfg.Clusters, c)
	return l.register("cluster", c.Name, clusterObject(c, l.profile, l.istioNS, Known{}))
}

// meshExpansion decodes the mesh_expansion block of control cluster c.
// With manage = false the ILBs are another environment's, so the
// attributes that shape them (load_balancer, annotations, wait_timeout)
// are refused. With istiod_exposure = "eastwest" meshx creates no load
// balancer at all, so load_balancer (but "none") and annotations, which
// would shape it, are refused too (eastWestLoadBalancer).
func (l *loader) meshExpansion(md *decoder, c *Cluster) *MeshExpansion {
	me := &MeshExpansion{Manage: md.boolean("manage", true)}
	if !me.Manage {
		for _, name := range []string{"load_balancer", "annotations", "wait_timeout"} {
			if md.has(name) {
				l.errorf(md.attr(name).NameRange, "Attribute of load balancers this environment does not manage",
					"%s shapes the internal load balancers meshx creates, but %s says manage = false: another environment owns them and this one only reads their addresses. Remove %s here (set it in the owning environment), or remove manage = false.", name, md.where, name)
			}
		}
		return me
	}
	if c.IstiodExposure == ExposureEastWest {
		l.eastWestLoadBalancer(md, c)
		me.LoadBalancer = "none"
		me.WaitTimeout = md.duration("wait_timeout", 10*time.Minute)
		return me
	}
	if md.attr("load_balancer") == nil {
		l.errorf(md.body.block.DefRange, "Missing required argument",
			"The argument \"load_balancer\" is required in %s: which cloud's internal-load-balancer annotations the ILB Services get (gcp, alibaba, aws, azure, or none). Or set manage = false to use the load balancers another environment owns.", md.where)
	}
	me.LoadBalancer = md.str("load_balancer", "")
	if md.has("load_balancer") && !md.oneOf("load_balancer", me.LoadBalancer, istio.Clouds(), "Unknown load balancer kind") {
		me.LoadBalancer = ""
	}
	me.Annotations = l.annotations(md, "annotations")
	me.WaitTimeout = md.duration("wait_timeout", 10*time.Minute)
	return me
}

// annotations decodes a map of Kubernetes annotations, checking the keys.
func (l *loader) annotations(d *decoder, name string) map[string]string {
	m, keys := d.stringMap(name)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if msg := checkLabelKey(k); msg != "" {
			l.errorf(rangeOr(keys, k, d.rng(name)), "Invalid annotation key", "%s in %s of %s is not a valid Kubernetes annotation key. %s", d.quoted(name, k), name, d.where, msg)
		}
	}
	return m
}

var (
	hostnameRe = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$`)
	userRe     = regexp.MustCompile(`^[A-Za-z_][-A-Za-z0-9_.]*$`)
)

// decodeVM decodes one instance of a vm block and returns the value
// references to it evaluate to.
func (l *loader) decodeVM(n *node, inst *instance) cty.Value {
	v := &VM{Name: inst.name, Key: inst.key, DeclRange: n.body.block.DefRange, Ranges: map[string]hcl.Range{}}
	where := inst.where
	d := l.instanceDecoder(n, inst, v.Ranges)
	v.Address = d.str("address", "")
	addrIP, addrErr := netip.ParseAddr(v.Address)
	if d.has("address") && addrErr != nil && !hostnameRe.MatchString(v.Address) && !inst.failed {
		l.errorf(d.rng("address"), "Invalid VM address",
			"The address of %s is %s, which is neither an IP address nor a host name. Write where SSH connects, like address = \"10.0.0.5\".", where, d.quoted("address", v.Address))
	}
	if d.has("mesh_ip") {
		s := d.str("mesh_ip", "")
		if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
			// ::ffff:10.0.0.5 is 10.0.0.5: checked and registered as such.
			v.MeshIP = ip.Unmap().String()
		} else if !inst.failed {
			l.errorf(d.rng("mesh_ip"), "Invalid mesh IP",
				"The mesh_ip of %s is %s, which is not an IP address. Write the address the VM's services are reached at, like mesh_ip = \"10.0.0.5\".", where, d.quoted("mesh_ip", s))
		}
	} else if addrErr == nil {
		v.MeshIP = addrIP.Unmap().String()
	} else if hostnameRe.MatchString(v.Address) {
		l.errorf(d.rng("address"), "Missing mesh IP",
			"The address of %s is the host name %s, so meshx cannot tell which IP to register in the mesh. Add mesh_ip = \"<the VM's IP>\".", where, d.quoted("address", v.Address))
	}
	v.Namespace = d.str("namespace", "default")
	d.checkName("namespace", "namespace", v.Namespace, checkDNS1123Label)
	v.ServiceAccount = d.str("service_account", "default")
	d.checkName("service_account", "service account name", v.ServiceAccount, checkDNS1123Subdomain)
	v.CertsMode = d.str("certs_mode", CertsAll)
	d.oneOf("certs_mode", v.CertsMode, []string{CertsAll, CertsRootOnly}, "Invalid certificate mode")
	v.Cluster = d.clusterRef()
	v.SidecarEnv = d.envMap("sidecar_env")
	v.ClusterEnv = d.envMap("cluster_env")
	l.decodeSSH(v, d)
	v.SidecarPackages = l.decodePackages(d)
	l.decodeWorkload(d, v)
	v.complete = !inst.failed
	l.vms[v.Name] = v
	l.cfg.VMs = append(l.cfg.VMs, v)
	return l.register("vm", v.Name, vmObject(v))
}

// decodePackages decodes the sidecar's packages of a VM: sidecar_package
// when the profile ships one package, or one package "<name>" block for
// each of the profile's packages (istio-agent, istio-auth-node-agent and
// istio-proxy before 0.5). A null source leaves a package out; a VM has
// all of the profile's packages or none.
func (l *loader) decodePackages(d *decoder) []*SidecarPackage {
	prof := profileByName(l.profile)
	where := d.where
	byName := map[string]*SidecarPackage{}
	var first hcl.Range
	if pd := d.nested("sidecar_package"); pd != nil {
		first = pd.body.block.DefRange
		if len(prof.Packages) != 1 {
			l.errorf(pd.body.block.DefRange, "One sidecar package, several needed",
				"Istio %s ships the sidecar as %d packages, %s, as setupIstioVM.sh installed them; %s has a single sidecar_package block. Write one block per package instead, like package %q { source = \"…\", sha256 = \"…\" }.",
				prof.Name, len(prof.Packages), quoteList(prof.Packages), where, prof.Packages[0])
		} else if pd.nonNull("source") {
			byName[prof.Packages[0]] = l.decodePackage(pd, where, prof.Packages[0])
		}
	}
	pds, names := d.labeled("package")
	if first != (hcl.Range{}) && len(pds) > 0 {
		l.errorf(pds[0].body.block.DefRange, "Both sidecar_package and package blocks",
			"%s has a sidecar_package block (at %s) and package blocks. Use one form: package blocks name each of %s.", where, posString(first), quoteList(prof.Packages))
		pds = nil
	}
	for i, pd := range pds {
		name := names[i]
		if !contains(prof.Packages, name) {
			l.errorf(pd.body.block.LabelRanges[0], "Unknown sidecar package",
				"Istio %s's sidecar packages are %s; %s names %q%s", prof.Name, quoteList(prof.Packages), where, name, suggest(name, prof.Packages))
			continue
		}
		if _, dup := byName[name]; dup {
			l.errorf(pd.body.block.DefRange, "Duplicate package block", "%s has two package %q blocks. Keep one.", where, name)
			continue
		}
		byName[name] = nil
		if pd.nonNull("source") {
			byName[name] = l.decodePackage(pd, where, name)
		}
	}
	var out, missing []string
	var pkgs []*SidecarPackage
	for _, name := range prof.Packages {
		if p := byName[name]; p != nil {
			pkgs = append(pkgs, p)
			out = append(out, name)
		} else {
			missing = append(missing, name)
		}
	}
	if len(pkgs) > 0 && len(missing) > 0 && !*d.failed {
		l.errorf(d.body.block.DefRange, "Missing sidecar package",
			"%s installs %s but not %s: Istio %s's sidecar needs all of %s. Add a package block with the source of each, or leave them all out.",
			where, quoteList(out), quoteList(missing), prof.Name, quoteList(prof.Packages))
	}
	return pkgs
}

// decodePackage decodes one sidecar package block whose source is not null.
func (l *loader) decodePackage(pd *decoder, where, name string) *SidecarPackage {
	p := &SidecarPackage{Name: name, Source: pd.str("source", "")}
	p.SHA256 = strings.ToLower(pd.str("sha256", ""))
	switch {
	case p.Source == "" && !*pd.failed:
		l.errorf(pd.rng("source"), "Missing sidecar package source", "The source of %s is empty. Write a URL, like \"https://…/%s.deb\", or a local path.", pd.where, name)
	case strings.Contains(p.Source, "://") && !isURL(p.Source):
		l.errorf(pd.rng("source"), "Unsupported package source",
			"The source of %s is %s; meshx downloads http:// and https:// URLs and uploads local paths. Use one of those.", pd.where, pd.quoted("source", p.Source))
	case isURL(p.Source) && p.SHA256 == "" && !*pd.failed:
		l.errorf(pd.rng("source"), "Missing sidecar package checksum",
			"The sidecar package of %s is downloaded from a URL, so meshx needs its SHA-256 to check what arrives. Add sha256 = \"<64 hex digits>\" (sha256sum %s.deb).", where, name)
	case p.Source != "" && !isURL(p.Source):
		p.Source = l.path(p.Source)
		if msg := checkLocalDeb(p.Source); msg != "" {
			l.errorf(pd.rng("source"), "Unusable sidecar package",
				"The source of %s is the local file %s, which %s meshx uploads this file to the VM when applying. Point source at the %s .deb, or use its https:// URL with sha256.", pd.where, p.Source, msg, name)
		}
	}
	if isURL(p.Source) && !urlTextRe.MatchString(p.Source) {
		l.errorf(pd.rng("source"), "Invalid package URL",
			"The source of %s is %q, which holds a space, a quote, a backslash or a control character; the VM's download command would not take it as written. Percent-encode those characters (a space is %%20, ' is %%27).", pd.where, p.Source)
	}
	if p.SHA256 != "" && !sha256Re.MatchString(p.SHA256) {
		l.errorf(pd.rng("sha256"), "Invalid SHA-256 digest", "The sha256 of %s must be 64 hexadecimal digits, as sha256sum prints; it has %d characters.", pd.where, len(p.SHA256))
	}
	return p
}

// urlTextRe matches the package URLs the VM provider accepts: no space,
// quote, backslash or control character.
var urlTextRe = regexp.MustCompile(`^[^\x00-\x20\x7f"'\\]*$`)

// checkLocalDeb returns "" when file looks like a .deb (a non-empty
// regular file starting with an ar header), else what it is instead, as a
// sentence ending with a period.
func checkLocalDeb(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Sprintf("cannot be read (%v).", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return fmt.Sprintf("cannot be read (%v).", err)
	case !fi.Mode().IsRegular():
		return "is not a regular file."
	case fi.Size() == 0:
		return "is empty."
	}
	if !debfile.ReadMagic(f) {
		return "is not a .deb (it does not start with an ar archive header)."
	}
	return ""
}

func (l *loader) decodeSSH(v *VM, vd *decoder) {
	s := SSH{User: "root", Port: 22, KnownHostsFile: l.path("~/.ssh/known_hosts")}
	d := vd.nested("ssh")
	if d == nil {
		// meshx connects as ssh would: ~/.ssh/config, its default keys
		// and the agent.
		v.SSH = s
		return
	}
	s.User = d.str("user", s.User)
	if !userRe.MatchString(s.User) {
		l.errorf(d.rng("user"), "Invalid SSH user", "%s is not a user name. Write the login name, like user = \"root\".", d.quoted("user", s.User))
	}
	s.Port = d.port("port", 22)
	if k := d.str("private_key_file", ""); k != "" {
		s.PrivateKeyFile = l.path(k)
		l.keyFiles[s.PrivateKeyFile] = true
	}
	s.UseAgent = d.boolean("use_agent", false)
	if k := d.str("known_hosts_file", ""); k != "" {
		s.KnownHostsFile = l.path(k)
		if fi, err := os.Stat(s.KnownHostsFile); err == nil && !fi.Mode().IsRegular() {
			l.errorf(d.rng("known_hosts_file"), "Unusable known_hosts file",
				"The known_hosts_file of %s is %s, which is a directory or another non-regular file, so no host key can be read from it or recorded in it. Point it at a file of host keys (ssh-keyscan -H HOST >> FILE), or leave it out to use ~/.ssh/known_hosts.", vd.where, s.KnownHostsFile)
		}
	}
	s.Bastion = d.str("bastion", "")
	if s.Bastion != "" {
		if msg := checkBastion(s.Bastion); msg != "" {
			l.errorf(d.rng("bastion"), "Invalid bastion", "The bastion of %s is %s: %s Write host:port or user@host:port, like \"jump@10.0.0.2:22\".", d.where, d.quoted("bastion", s.Bastion), msg)
		}
	}
	s.Sudo = d.boolean("sudo", false)
	s.InsecureTrustOnFirstUse = d.boolean("trust_on_first_use", false)
	s.ConnectTimeout = d.duration("connect_timeout", 0)
	if s.User != "root" && !s.Sudo && !*d.failed {
		l.errorf(d.rng("user"), "Non-root SSH user without sudo",
			"meshx logs in to %s as %q, but installing the sidecar, writing /etc/certs and restarting units needs root. Add sudo = true (with passwordless sudo on the VM) or log in as root.", vd.where, d.quoted("user", s.User))
	}
	if s.InsecureTrustOnFirstUse {
		l.warnf(d.rng("trust_on_first_use"), "Host keys trusted on first use",
			"meshx will accept and record %s's host key the first time it connects, so a machine impersonating it then would not be noticed. Prefer adding the key to known_hosts_file (ssh-keyscan) and removing trust_on_first_use.", vd.where)
	}
	v.SSH = s
}

// checkBastion returns "" for host:port, user@host:port or host, else why not.
func checkBastion(b string) string {
	hostport := b
	if i := strings.LastIndexByte(b, '@'); i >= 0 {
		if !userRe.MatchString(b[:i]) {
			return "The user part is not a user name."
		}
		hostport = b[i+1:]
	}
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	if _, err := netip.ParseAddr(host); err != nil && !hostnameRe.MatchString(host) {
		return "The host part is neither an IP address nor a host name."
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "The port is not a number from 1 to 65535."
		}
	}
	return ""
}

// decodeService decodes one instance of a service block and returns the value
// references to it evaluate to.
func (l *loader) decodeService(n *node, inst *instance) cty.Value {
	s := &Service{Name: inst.name, Key: inst.key, DeclRange: n.body.block.DefRange, Ranges: map[string]hcl.Range{}}
	where := inst.where
	d := l.instanceDecoder(n, inst, s.Ranges)
	s.ServiceName = n.name
	switch {
	case d.attr("name") != nil:
		s.ServiceName = d.str("name", "")
		if d.has("name") {
			d.checkName("name", "service name", s.ServiceName, checkDNS1035Label)
		}
	case !inst.key.IsNone():
		l.errorf(n.body.block.DefRange, "Missing service name",
			"%s is one of the instances of a block with %s, so the block's label cannot name its Kubernetes Service: every instance needs its own. Add name, like name = \"%s-${%s}\".", where, repetitionArg(n), n.name, keyExpr(n))
		inst.failed = true
	default:
		l.checkName(n.body.block.LabelRanges[0], "service name", s.Name, checkDNS1035Label)
	}
	names, ranges, unknownVMs := d.instanceRefs("vm", "vm", true)
	seen := map[string]hcl.Range{}
	var vms []*VM
	for i, name := range names {
		if prev, dup := seen[name]; dup {
			l.errorf(ranges[i], "Duplicate VM reference", "%s lists vm.%s twice (first at %s). Remove one.", where, name, posString(prev))
			continue
		}
		seen[name] = ranges[i]
		s.VMs = append(s.VMs, name)
		if v := l.vms[name]; v != nil {
			vms = append(vms, v)
		}
	}
	s.Namespace = d.str("namespace", "")
	if s.Namespace == "" && len(vms) > 0 {
		s.Namespace = vms[0].Namespace
	}
	if d.has("namespace") {
		d.checkName("namespace", "namespace", s.Namespace, checkDNS1123Label)
	} else if s.Namespace == "" && !unknownVMs && !inst.failed {
		l.errorf(d.rng("vm"), "Missing service namespace",
			"%s has no VMs, so it has no VM's namespace to default to. Set namespace, or give it VMs.", where)
		inst.failed = true
	}
	s.Ports = l.decodePorts(d)
	s.ServiceAccount = d.str("service_account", "")
	if d.has("service_account") {
		d.checkName("service_account", "service account name", s.ServiceAccount, checkDNS1123Subdomain)
	} else if len(vms) > 0 {
		s.ServiceAccount = vms[0].ServiceAccount
		for _, v := range vms[1:] {
			if v.ServiceAccount != s.ServiceAccount {
				l.errorf(d.rng("vm"), "Ambiguous service account",
					"The VMs of %s run as different service accounts (vm.%s as %s, vm.%s as %s), so meshx cannot pick the one to announce. Set service_account on the service.",
					where, vms[0].Name, l.quotedAt(vms[0].Ranges["service_account"], vms[0].ServiceAccount), v.Name, l.quotedAt(v.Ranges["service_account"], v.ServiceAccount))
				break
			}
		}
	}
	var keys map[string]hcl.Range
	s.Labels, keys = d.stringMap("labels")
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		rng := rangeOr(keys, k, d.rng("labels"))
		if msg := checkLabelKey(k); msg != "" {
			l.errorf(rng, "Invalid label key", "%s in the labels of %s is not a valid Kubernetes label key. %s", d.quoted("labels", k), where, msg)
		} else if msg := checkLabelValue(s.Labels[k]); msg != "" {
			l.errorf(rng, "Invalid label value", "The value %s of label %s of %s is not a valid Kubernetes label value. %s", d.quoted("labels", s.Labels[k]), d.quoted("labels", k), where, msg)
		}
	}
	s.Annotations = l.annotations(d, "annotations")
	s.Cluster = d.clusterRef()
	s.AllowNamespaceMismatch = d.boolean("allow_namespace_mismatch", false)
	s.complete = !inst.failed
	l.services[s.Name] = s
	l.cfg.Services = append(l.cfg.Services, s)
	return l.register("service", s.Name, serviceObject(s))
}

func (l *loader) decodeOutput(n *node) {
	o := &Output{Name: n.name, DeclRange: n.body.block.DefRange}
	a := n.body.attrs["value"]
	if a != nil {
		o.Expr = a.Expr
		v, diags := a.Expr.Value(l.scope.ctx())
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			n.failed = true
			return
		}
		o.Value = v
	}
	if da := n.body.attrs["description"]; da != nil {
		if v, ok := l.literal(da, cty.String, "a string"); ok && !v.IsNull() {
			o.Description = v.AsString()
		}
	}
	if sa := n.body.attrs["sensitive"]; sa != nil {
		if v, ok := l.literal(sa, cty.Bool, "true or false"); ok && !v.IsNull() {
			o.Sensitive = v.True()
		}
	}
	if a != nil && o.Value.ContainsMarked() && !o.Sensitive {
		l.errorf(a.Expr.Range(), "Output refers to sensitive values",
			"The value of output %q derives from a sensitive variable, and would be shown in plain text. Add sensitive = true to the output block.", n.name)
	}
	if a != nil {
		o.Value, _ = o.Value.UnmarkDeep()
	}
	l.cfg.Outputs = append(l.cfg.Outputs, o)
}
