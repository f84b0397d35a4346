package kube

import (
	"net/netip"
	"sort"
	"time"

	"github.com/meshx-dev/meshx/plans"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The project* functions turn live objects into the attribute view Render
// produces, so that plans.Equal(Render(), project(live after apply))
// holds. They are pure: every test of "a second plan is empty" starts here.

func projectNamespace(ns *corev1.Namespace) plans.Object {
	return plans.Object{"name": ns.Name}
}

// desiredPortKeys are the (port, protocol) keys of the configured ports,
// ignoring invalid ones (Render reports those).
func desiredPortKeys(ports []Port) map[portKey]bool {
	out := map[portKey]bool{}
	for _, p := range ports {
		if n, err := normalizePort(p, ""); err == nil {
			out[portKey{n.Port, n.Protocol}] = true
		}
	}
	return out
}

// projectServicePorts returns every live port: meshx declares the whole
// port set of the Services it manages (no controller adds ports), so a
// port someone else added or renumbered is a difference to show, and
// Apply removes it (with force_conflicts when another manager owns it).
func projectServicePorts(live []corev1.ServicePort) []any {
	ps := make([]Port, 0, len(live))
	for _, p := range live {
		ps = append(ps, Port{Name: p.Name, Port: p.Port, Protocol: protocolOf(p.Protocol)})
	}
	sortPorts(ps)
	return portsValue(ps)
}

func protocolOf(p corev1.Protocol) string {
	if p == "" {
		return "TCP"
	}
	return string(p)
}

func projectLoadBalancer(svc *corev1.Service, s *spec) plans.Object {
	of := meshxFields(svc)
	return plans.Object{
		"namespace":   svc.Namespace,
		"name":        svc.Name,
		"type":        string(svc.Spec.Type),
		"ports":       projectServicePorts(svc.Spec.Ports),
		"selector":    mapValue(svc.Spec.Selector),
		"annotations": projectMap(svc.Annotations, s.annotations, of.mapKeys("f:metadata", "f:annotations"), false),
	}
}

func projectService(svc *corev1.Service, s *spec) plans.Object {
	of := meshxFields(svc)
	return plans.Object{
		"namespace":   svc.Namespace,
		"name":        svc.Name,
		"ports":       projectServicePorts(svc.Spec.Ports),
		"labels":      projectMap(svc.Labels, s.labels, of.mapKeys("f:metadata", "f:labels"), true),
		"annotations": projectMap(svc.Annotations, s.annotations, of.mapKeys("f:metadata", "f:annotations"), false),
	}
}

// sortIPs sorts addresses numerically; strings that do not parse go last,
// in string order.
func sortIPs(ips []string) {
	sort.Slice(ips, func(i, j int) bool {
		a, errA := netip.ParseAddr(ips[i])
		b, errB := netip.ParseAddr(ips[j])
		switch {
		case errA == nil && errB == nil:
			return a.Less(b)
		case errA == nil:
			return true
		case errB == nil:
			return false
		}
		return ips[i] < ips[j]
	})
}

func projectEndpoints(ep *corev1.Endpoints, s *spec) plans.Object {
	of := meshxFields(ep)
	subsets := []any{}
	for _, ss := range ep.Subsets {
		var ips []string
		for _, a := range ss.Addresses {
			ips = append(ips, a.IP)
		}
		sortIPs(ips)
		ps := make([]Port, 0, len(ss.Ports))
		for _, p := range ss.Ports {
			ps = append(ps, Port{Name: p.Name, Port: p.Port, Protocol: protocolOf(p.Protocol)})
		}
		sortPorts(ps)
		sub := map[string]any{"addresses": stringsValue(ips), "ports": portsValue(ps)}
		if len(ss.NotReadyAddresses) > 0 {
			var nr []string
			for _, a := range ss.NotReadyAddresses {
				nr = append(nr, a.IP)
			}
			sortIPs(nr)
			sub["not_ready_addresses"] = stringsValue(nr)
		}
		subsets = append(subsets, sub)
	}
	return plans.Object{
		"namespace": ep.Namespace,
		"name":      ep.Name,
		"subsets":   subsets,
		"labels":    projectMap(ep.Labels, s.labels, of.mapKeys("f:metadata", "f:labels"), true),
	}
}

// readerParts are the live objects behind a reader; any may be nil.
type readerParts struct {
	sa      *corev1.ServiceAccount
	role    *corev1Role
	binding *rbacv1.ClusterRoleBinding
	secret  *corev1.Secret // the long-lived token secret
}

// corev1Role is rbacv1.ClusterRole, named apart so readerParts reads well.
type corev1Role = rbacv1.ClusterRole

func projectRules(rules []rbacv1.PolicyRule) []any {
	out := make([]any, len(rules))
	for i, r := range rules {
		m := map[string]any{
			"api_groups": stringsValue(sortedCopy(r.APIGroups)),
			"resources":  stringsValue(sortedCopy(r.Resources)),
			"verbs":      stringsValue(sortedCopy(r.Verbs)),
		}
		if len(r.ResourceNames) > 0 {
			m["resource_names"] = stringsValue(sortedCopy(r.ResourceNames))
		}
		if len(r.NonResourceURLs) > 0 {
			m["non_resource_urls"] = stringsValue(sortedCopy(r.NonResourceURLs))
		}
		out[i] = m
	}
	return out
}

func sortedCopy(ss []string) []string {
	out := append([]string{}, ss...)
	sort.Strings(out)
	return out
}

// tokenState is what the live objects say about the reader's token.
type tokenState struct {
	source   string // "secret", "request" or "" (none)
	lifetime string
	ready    bool
	// fingerprint of a TokenRequest token, as recorded on the account.
	fingerprint string
	// token of a long-lived secret.
	token []byte
	// caCert is the token secret's ca.crt, if any.
	caCert []byte
}

// readerToken works out the token's state at now. A TokenRequest token is
// ready until a third of its lifetime is left.
func readerToken(parts readerParts, now time.Time) tokenState {
	if sec := parts.secret; sec != nil {
		t := tokenState{source: "secret", lifetime: time.Duration(0).String(), token: sec.Data["token"], caCert: sec.Data["ca.crt"]}
		t.ready = len(t.token) > 0
		return t
	}
	if parts.sa == nil {
		return tokenState{}
	}
	a := parts.sa.Annotations
	expires, err1 := time.Parse(time.RFC3339, a[AnnotationTokenExpires])
	issued, err2 := time.Parse(time.RFC3339, a[annotationTokenIssued])
	if err1 != nil || err2 != nil || a[annotationTokenLifetime] == "" {
		return tokenState{}
	}
	life := expires.Sub(issued)
	return tokenState{
		source:      "request",
		lifetime:    a[annotationTokenLifetime],
		ready:       life > 0 && now.Before(expires.Add(-life/3)),
		fingerprint: a[annotationTokenFingerprint],
	}
}

func projectReader(parts readerParts, s *spec, now time.Time) plans.Object {
	o := plans.Object{
		"namespace":       s.namespace,
		"service_account": "",
		"cluster_role":    "",
		"rules":           []any{},
		"binding":         map[string]any{},
	}
	if parts.sa != nil {
		o["namespace"], o["service_account"] = parts.sa.Namespace, parts.sa.Name
	}
	if parts.role != nil {
		o["cluster_role"] = parts.role.Name
		o["rules"] = projectRules(parts.role.Rules)
	}
	if b := parts.binding; b != nil {
		var subjects []string
		for _, sub := range b.Subjects {
			if sub.Kind == rbacv1.ServiceAccountKind {
				subjects = append(subjects, sub.Namespace+"/"+sub.Name)
			} else {
				subjects = append(subjects, sub.Kind+":"+sub.Name)
			}
		}
		sort.Strings(subjects)
		o["binding"] = bindingValue(b.Name, b.RoleRef.Name, subjects)
	}
	t := readerToken(parts, now)
	o["token"] = map[string]any{"source": t.source, "lifetime": t.lifetime, "ready": t.ready}
	return o
}

// projectRemoteSecret reads the control-cluster secret back into
// renderRemoteSecret's shape; the token is Sensitive.
func projectRemoteSecret(sec *corev1.Secret, s *spec) plans.Object {
	of := meshxFields(sec)
	keys := make([]string, 0, len(sec.Data))
	for k := range sec.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := plans.Object{
		"namespace":   sec.Namespace,
		"name":        sec.Name,
		"labels":      projectMap(sec.Labels, map[string]string{istioMultiClusterLabel: ""}, of.mapKeys("f:metadata", "f:labels"), true),
		"annotations": projectMap(sec.Annotations, map[string]string{istioClusterAnnotation: ""}, of.mapKeys("f:metadata", "f:annotations"), false),
		"data_keys":   stringsValue(keys),
		"server":      "",
		"ca":          "",
		"token":       "",
		"kubeconfig":  "",
	}
	kc, ok := sec.Data[s.clusterID]
	if !ok {
		return o
	}
	o["kubeconfig"] = maskedKubeconfigFingerprint(kc, s.clusterID)
	if k, err := parseKubeconfig(kc); err == nil {
		o["server"], o["ca"] = k.server, string(k.ca)
		if k.token != "" {
			o["token"] = plans.NewSensitive([]byte(k.token))
		}
	}
	return o
}

// istioSecretOutputs are the PEM files of Citadel's istio.<sa> secret.
func istioSecretOutputs(sec *corev1.Secret) plans.Object {
	out := plans.Object{}
	if v, ok := sec.Data["root-cert.pem"]; ok {
		out["root-cert.pem"] = string(v)
	}
	if v, ok := sec.Data["cert-chain.pem"]; ok {
		out["cert-chain.pem"] = string(v)
	}
	if v, ok := sec.Data["key.pem"]; ok {
		out["key.pem"] = plans.NewSensitive(v)
	}
	return out
}

// loadBalancerOutputs returns address, ip and hostname from the first
// ingress point, or nil while there is none.
func loadBalancerOutputs(svc *corev1.Service) plans.Object {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP == "" && in.Hostname == "" {
			continue
		}
		addr := in.IP
		if addr == "" {
			addr = in.Hostname
		}
		return plans.Object{"address": addr, "ip": in.IP, "hostname": in.Hostname}
	}
	return nil
}
