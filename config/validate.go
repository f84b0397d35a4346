package config

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/meshx-dev/meshx/istio"
)

// validate runs the checks that span blocks, once every block is decoded.
// Blocks that failed to decode are left out: their errors come first.
func (l *loader) validate() {
	sortInstances(l.cfg.Clusters, func(c *Cluster) string { return c.Name })
	sortInstances(l.cfg.VMs, func(v *VM) string { return v.Name })
	sortInstances(l.cfg.Services, func(s *Service) string { return s.Name })
	sort.Slice(l.cfg.Outputs, func(i, j int) bool { return l.cfg.Outputs[i].Name < l.cfg.Outputs[j].Name })

	if len(l.meshxBlocks) == 0 && l.firstFile != "" {
		l.errorf(fileStart(l.firstFile), "Missing meshx block",
			"Every environment needs one meshx block naming it, like\n\n  meshx {\n    environment = \"bookinfo\"\n  }\n\nAdd one to any of the *.hcl files.")
	}
	l.checkClusters()
	l.checkVMs()
	l.checkServices()
	l.checkModern()
}

func fileStart(name string) hcl.Range {
	return hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos}
}

// allDecoded reports whether every block of kind decoded.
func (l *loader) allDecoded(kind string) bool {
	for name := range l.blocks[kind] {
		if n := l.nodes[kind+"."+name]; n == nil || n.failed {
			return false
		}
	}
	return true
}

func (l *loader) checkClusters() {
	if len(l.blocks["cluster"]) == 0 {
		if l.firstFile != "" {
			rng := fileStart(l.firstFile)
			if len(l.meshxBlocks) > 0 {
				rng = l.meshxBlocks[0].DefRange
			}
			l.errorf(rng, "No clusters",
				"An environment needs at least the cluster running the Istio control plane. Add a block like\n\n  cluster \"control\" {\n    role       = \"control\"\n    kubeconfig = \"~/.kube/config\"\n    pod_cidr   = \"10.244.0.0/16\"\n  }")
		}
		return
	}
	var control *Cluster
	for _, c := range l.cfg.Clusters {
		if !c.IsControl() {
			continue
		}
		if control == nil {
			control = c
			continue
		}
		l.errorf(c.Ranges["role"], "More than one control cluster",
			"Both %s (at %s) and %s have role = \"control\", but one Istio control plane runs the mesh. Make the others role = \"remote\" (the default).",
			l.what("cluster", control.Name), posString(control.DeclRange), l.what("cluster", c.Name))
	}
	if control == nil && l.allDecoded("cluster") {
		first := l.cfg.Clusters[0]
		l.errorf(first.DeclRange, "No control cluster",
			"Exactly one cluster must have role = \"control\": the one running the Istio control plane (pilot, mixer, citadel). Add role = \"control\" to it; the others are remotes.")
	}
	if control != nil {
		for _, c := range l.cfg.Clusters {
			if c != control && c.ClusterID == control.ClusterID {
				rng := c.DeclRange
				if r, ok := c.Ranges["cluster_id"]; ok {
					rng = r
				}
				l.errorf(rng, "Remote cluster ID equals the control cluster's",
					"%s has the cluster ID %s, which is the control cluster's (%s). istiod ignores a remote secret whose key is its own cluster ID, so this cluster would never be read. Give it a distinct cluster_id.",
					l.what("cluster", c.Name), l.quotedAt(rng, c.ClusterID), control.Name)
			}
		}
	}
	ids := map[string]*Cluster{}
	for _, c := range l.cfg.Clusters {
		if c == control || (control != nil && c.ClusterID == control.ClusterID) {
			continue
		}
		if prev, dup := ids[c.ClusterID]; dup {
			rng := c.DeclRange
			if r, ok := c.Ranges["cluster_id"]; ok {
				rng = r
			}
			l.errorf(rng, "Duplicate cluster ID",
				"%s and %s both have the cluster ID %s; istiod would register only one (\"cluster has already been registered\"). Give each a distinct cluster_id.", l.what("cluster", prev.Name), l.what("cluster", c.Name), l.quotedAt(rng, c.ClusterID))
			continue
		}
		ids[c.ClusterID] = c
	}
	l.checkCIDRs()
	if control != nil && len(l.blocks["vm"]) > 0 && control.IstiodExposure != ExposureEastWest && l.nodes["cluster."+control.Name].body.blocks["mesh_expansion"] == nil {
		l.warnf(control.DeclRange, "No mesh_expansion block",
			"The control cluster has no mesh_expansion block, so its ILB Services get no internal-load-balancer annotations. On a cloud that may expose the control plane on a public address. Add mesh_expansion { load_balancer = \"gcp\" } (or alibaba, aws, azure), or load_balancer = \"none\" to say none is wanted.")
	}
}

// cidrUse is one CIDR attribute of one cluster.
type cidrUse struct {
	cluster *Cluster
	attr    string
	prefix  netip.Prefix
	rng     hcl.Range
}

// checkCIDRs reports overlapping pod and service CIDRs, within a cluster and
// across clusters.
func (l *loader) checkCIDRs() {
	var uses []cidrUse
	for _, c := range l.cfg.Clusters {
		if c.PodPrefix.IsValid() {
			uses = append(uses, cidrUse{c, "pod_cidr", c.PodPrefix, c.Ranges["pod_cidr"]})
		}
		if c.ServicePrefix.IsValid() {
			uses = append(uses, cidrUse{c, "service_cidr", c.ServicePrefix, c.Ranges["service_cidr"]})
		}
	}
	for j := range uses {
		for i := 0; i < j; i++ {
			a, b := uses[i], uses[j]
			if !a.prefix.Overlaps(b.prefix) {
				continue
			}
			why := "Istio multicluster requires every cluster's pod and service CIDRs to be unique and not to overlap, or traffic for one cluster is routed into the other."
			if a.cluster == b.cluster {
				why = "A cluster's pods and services need separate address ranges."
			}
			l.errorf(b.rng, "Overlapping CIDR ranges",
				"The %s %s of %s overlaps the %s %s of %s (at %s). %s Choose ranges that do not overlap.",
				b.attr, l.shownAt(b.rng, b.prefix.String()), l.what("cluster", b.cluster.Name), a.attr, l.shownAt(a.rng, a.prefix.String()), l.what("cluster", a.cluster.Name), posString(a.rng), why)
		}
	}
}

func (l *loader) checkVMs() {
	control := l.cfg.Control()
	seen := map[string]*VM{}
	for _, v := range l.cfg.VMs {
		if v.Cluster == "" && control != nil {
			v.Cluster = control.Name
		}
		ip, err := netip.ParseAddr(v.MeshIP)
		if err != nil {
			continue
		}
		rng, ok := v.Ranges["mesh_ip"]
		if !ok {
			rng = v.Ranges["address"]
		}
		if ip.IsUnspecified() || ip.IsLoopback() || ip.IsMulticast() {
			l.errorf(rng, "Unusable mesh IP",
				"The mesh IP of %s is %s, an unspecified, loopback or multicast address that no sidecar can reach the VM at. Set mesh_ip (or address) to the VM's own network address.",
				l.what("vm", v.Name), v.MeshIP)
			continue
		}
		if prev, dup := seen[v.MeshIP]; dup {
			l.errorf(rng, "Duplicate mesh IP",
				"%s and %s both have the mesh IP %s, so their Endpoints would be indistinguishable. Give each VM its own address.", l.what("vm", prev.Name), l.what("vm", v.Name), l.shownAt(rng, v.MeshIP))
		} else {
			seen[v.MeshIP] = v
		}
		for _, c := range l.cfg.Clusters {
			for _, u := range []struct {
				attr string
				p    netip.Prefix
			}{{"pod_cidr", c.PodPrefix}, {"service_cidr", c.ServicePrefix}} {
				if u.p.IsValid() && u.p.Contains(ip) {
					l.errorf(rng, "VM address inside a cluster range",
						"The mesh IP %s of %s lies in the %s %s of %s. The sidecars route that range into the cluster, so the VM would be unreachable. Use the VM's own network address, or change the cluster's range.",
						l.shownAt(rng, v.MeshIP), l.what("vm", v.Name), u.attr, l.shownAt(c.Ranges[u.attr], u.p.String()), l.what("cluster", c.Name))
				}
			}
		}
		l.checkEnvPitfalls(v)
	}
}

// env returns the value of a sidecar setting as the sidecar sees it:
// cluster.env is sourced after sidecar.env, so it wins.
func (v *VM) env(key string) (string, hcl.Range, bool) {
	if s, ok := v.ClusterEnv.Values[key]; ok {
		return s, envKeyRange(v.ClusterEnv, key), true
	}
	if s, ok := v.SidecarEnv.Values[key]; ok {
		return s, envKeyRange(v.SidecarEnv, key), true
	}
	return "", hcl.Range{}, false
}

// envShown returns the value of a setting (as env found it) for a
// diagnostic, or "(sensitive value)".
func (v *VM) envShown(key, val string) string {
	m := v.SidecarEnv
	if _, ok := v.ClusterEnv.Values[key]; ok {
		m = v.ClusterEnv
	}
	if contains(m.Sensitive, key) {
		return sensitiveText
	}
	return val
}

func envKeyRange(m EnvMap, key string) hcl.Range {
	return rangeOr(keyRanges(m.Expr, m.Range), key, m.Range)
}

// checkEnvPitfalls checks sidecar settings against what meshx writes itself
// and against the legacy flow's known traps.
func (l *loader) checkEnvPitfalls(v *VM) {
	p := profileByName(l.profile)
	// cluster.env keys meshx writes, and where their values come from.
	reserved := map[string]string{"ISTIO_SERVICE_CIDR": "the cluster's service_cidr"}
	if p.NamespaceInEnv {
		reserved["ISTIO_SYSTEM_NAMESPACE"] = "meshx.istio.namespace"
	}
	if p.HasCPAuth() {
		reserved[p.CPAuthKey] = "meshx.istio.control_plane_auth"
	}
	for _, key := range slices.Sorted(maps.Keys(reserved)) {
		if _, ok := v.ClusterEnv.Values[key]; ok || contains(v.ClusterEnv.Unknown, key) {
			l.errorf(envKeyRange(v.ClusterEnv, key), "Reserved cluster.env setting",
				"%s sets %s in cluster_env, but meshx writes that key itself from %s. Remove it here and set %s instead.", l.what("vm", v.Name), key, reserved[key], reserved[key])
		} else if _, ok := v.SidecarEnv.Values[key]; ok {
			l.warnf(envKeyRange(v.SidecarEnv, key), "Setting overridden by cluster.env",
				"%s sets %s in sidecar_env, but the sidecar reads cluster.env after sidecar.env, and meshx writes %s there from %s. Remove it and set %s instead.", l.what("vm", v.Name), key, key, reserved[key], reserved[key])
		}
	}
	if p.HasCPAuth() && p.CPAuthKey != "CONTROL_PLANE_AUTH_POLICY" {
		for _, m := range []EnvMap{v.SidecarEnv, v.ClusterEnv} {
			if _, ok := m.Values["CONTROL_PLANE_AUTH_POLICY"]; ok {
				l.warnf(envKeyRange(m, "CONTROL_PLANE_AUTH_POLICY"), "Setting ignored by the sidecar",
					"%s sets CONTROL_PLANE_AUTH_POLICY, but the Istio %s sidecar reads only %s, so it has no effect. Remove it and set meshx.istio.control_plane_auth.", l.what("vm", v.Name), p.Name, p.CPAuthKey)
			}
		}
	}
	auth := l.cfg.Meshx.Istio.ControlPlaneAuth
	port, rng, set := v.env("ISTIO_PILOT_PORT")
	mtls := strconv.Itoa(p.MTLSPilotPort)
	switch {
	case p.Legacy && auth == istio.AuthMutualTLS && !set && !contains(v.SidecarEnv.Unknown, "ISTIO_PILOT_PORT") && !contains(v.ClusterEnv.Unknown, "ISTIO_PILOT_PORT"):
		// The legacy flow never wrote the port, and the sidecar's default
		// (8080, plain text) cannot talk to a MUTUAL_TLS pilot.
		v.SidecarEnv.Values["ISTIO_PILOT_PORT"] = mtls
	case set && auth == istio.AuthMutualTLS && port != mtls:
		l.warnf(rng, "Pilot port does not match control plane auth",
			"%s sets ISTIO_PILOT_PORT=%s, but control_plane_auth is MUTUAL_TLS, which pilot serves on %s only; the sidecar would fail to connect. Set it to \"%s\".", l.what("vm", v.Name), v.envShown("ISTIO_PILOT_PORT", port), mtls, mtls)
	case set && auth == istio.AuthNone && port == mtls:
		l.warnf(rng, "Pilot port does not match control plane auth",
			"%s sets ISTIO_PILOT_PORT=%s, the mutual-TLS port, but control_plane_auth is NONE. Remove it (the default 8080 is right), or set control_plane_auth = \"MUTUAL_TLS\".", l.what("vm", v.Name), v.envShown("ISTIO_PILOT_PORT", port))
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (l *loader) checkServices() {
	control := l.cfg.Control()
	type claim struct {
		svc  *Service
		port Port
	}
	claims := map[string]map[int]claim{} // vm → port → first claim
	// In file order, so that the later of two conflicting services is
	// reported.
	services := append([]*Service(nil), l.cfg.Services...)
	sort.SliceStable(services, func(i, j int) bool { return rangeLess(services[i].DeclRange, services[j].DeclRange) })
	objects := map[[3]string]*Service{} // cluster, namespace, name → first
	for _, s := range services {
		if s.Cluster == "" && control != nil {
			s.Cluster = control.Name
		}
		id := [3]string{s.Cluster, s.Namespace, s.ServiceName}
		if prev, dup := objects[id]; dup && s.complete && prev.complete {
			rng, ok := s.Ranges["name"]
			if !ok {
				rng = s.DeclRange
			}
			l.errorf(rng, "Duplicate Kubernetes Service",
				"%s and %s (at %s) both write the Service %s/%s to %s; one would overwrite the other. Give them distinct names.",
				l.what("service", s.Name), l.what("service", prev.Name), posString(prev.DeclRange), s.Namespace, s.ServiceName, l.what("cluster", s.Cluster))
		} else if !dup {
			objects[id] = s
		}
		for _, vn := range s.VMs {
			v := l.vms[vn]
			if v == nil {
				continue
			}
			if v.Namespace != s.Namespace && !s.AllowNamespaceMismatch {
				rng, ok := s.Ranges["namespace"]
				if !ok {
					rng = s.Ranges["vm"]
				}
				l.errorf(rng, "Service namespace differs from its VM's",
					"%s is in namespace %s but %s is in %s, so the VM's identity (its certificates) belongs to another namespace than the Service it serves. Use the same namespace, or add allow_namespace_mismatch = true if that is intended.",
					l.what("service", s.Name), l.shownAt(s.Ranges["namespace"], quote(s.Namespace)), l.what("vm", v.Name), l.shownAt(v.Ranges["namespace"], quote(v.Namespace)))
			}
			if claims[vn] == nil {
				claims[vn] = map[int]claim{}
			}
			for _, p := range s.Ports {
				if p.Port == v.SSH.Port || p.Port == 22 {
					l.errorf(p.Range, "Service port is the VM's SSH port",
						"%s claims port %d on %s, which SSH uses. Capturing it would cut meshx off the VM (and the sidecar never captures 22). Serve the service on another port.", l.what("service", s.Name), p.Port, l.what("vm", v.Name))
					continue
				}
				if prev, dup := claims[vn][p.Port]; dup && prev.svc != s {
					l.errorf(p.Range, "Port claimed by two services",
						"Port %d of %s is claimed by %s (at %s) and %s. One port of a VM serves one service; change one of them.",
						p.Port, l.what("vm", vn), l.what("service", prev.svc.Name), posString(prev.port.Range), l.what("service", s.Name))
					continue
				}
				claims[vn][p.Port] = claim{s, p}
			}
		}
	}
	// An explicit ISTIO_INBOUND_PORTS replaces the list meshx computes.
	for _, v := range l.cfg.VMs {
		val, rng, ok := v.env("ISTIO_INBOUND_PORTS")
		if !ok || strings.TrimSpace(val) == "*" {
			continue
		}
		listed := map[int]bool{}
		for _, f := range strings.Split(val, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
				listed[n] = true
			}
		}
		var missing []string
		for _, port := range sortedInts(claims[v.Name]) {
			if !listed[port] {
				missing = append(missing, fmt.Sprintf("%d (%s)", port, l.what("service", claims[v.Name][port].svc.Name)))
			}
		}
		if len(missing) > 0 {
			l.warnf(rng, "Inbound ports leave out service ports",
				"%s sets ISTIO_INBOUND_PORTS=%s, which does not include %s, so that traffic bypasses the sidecar. Remove the setting to let meshx list the services' ports, or add them.",
				l.what("vm", v.Name), v.envShown("ISTIO_INBOUND_PORTS", val), strings.Join(missing, ", "))
		}
	}
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func rangeLess(a, b hcl.Range) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	return a.Start.Byte < b.Start.Byte
}
