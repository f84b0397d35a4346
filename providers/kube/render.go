package kube

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Labels and annotations meshx writes on every object it owns.
const (
	LabelManagedBy         = "app.kubernetes.io/managed-by"
	LabelEnvironment       = "meshx.dev/environment"
	ManagedByValue         = "meshx"
	AnnotationAddress      = "meshx.dev/address"
	AnnotationKind         = "meshx.dev/kind"
	AnnotationDigest       = "meshx.dev/applied-digest"
	AnnotationTokenExpires = "meshx.dev/token-expires"
	// Recorded on the reader's service account for TokenRequest tokens.
	annotationTokenIssued      = "meshx.dev/token-issued"
	annotationTokenLifetime    = "meshx.dev/token-lifetime"
	annotationTokenFingerprint = "meshx.dev/token-fingerprint"

	// FieldManager is the server-side apply field manager of every write.
	FieldManager = "meshx"

	istioMultiClusterLabel   = "istio/multiCluster"
	istioClusterAnnotation   = "networking.istio.io/cluster"
	serviceAccountNameAnnot  = "kubernetes.io/service-account.name"
	meshxAnnotationKeyPrefix = "meshx.dev/"
)

// reservedKey reports whether a label or annotation key is one meshx sets
// itself, so configuration may not.
func reservedKey(k string) bool {
	return k == LabelManagedBy || strings.HasPrefix(k, meshxAnnotationKeyPrefix)
}

func checkMap(what string, m map[string]string) error {
	for k, v := range m {
		if reservedKey(k) {
			return fmt.Errorf("%s %q is reserved for meshx's ownership marks", what, k)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("%s key %q: %s", what, k, strings.Join(errs, "; "))
		}
		if what == "label" {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return fmt.Errorf("label %s=%q: %s", k, v, strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

func mapValue(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func checkNamespacedName(namespace, name string) error {
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return fmt.Errorf("name %q: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

func renderNamespace(s *spec) (plans.Object, error) {
	if errs := validation.IsDNS1123Label(s.name); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", s.name, strings.Join(errs, "; "))
	}
	return plans.Object{"name": s.name}, nil
}

func renderLoadBalancer(s *spec) (plans.Object, error) {
	if err := checkNamespacedName(s.namespace, s.name); err != nil {
		return nil, err
	}
	ps, err := normalizePorts(s.ports)
	if err != nil {
		return nil, err
	}
	if len(s.selector) == 0 {
		return nil, fmt.Errorf("load balancer %s/%s: a selector is required", s.namespace, s.name)
	}
	if err := checkMap("selector", s.selector); err != nil {
		return nil, err
	}
	if err := checkMap("annotation", s.annotations); err != nil {
		return nil, err
	}
	return plans.Object{
		"namespace":   s.namespace,
		"name":        s.name,
		"type":        "LoadBalancer",
		"ports":       portsValue(ps),
		"selector":    mapValue(s.selector),
		"annotations": mapValue(s.annotations),
	}, nil
}

func renderService(s *spec) (plans.Object, error) {
	if err := checkNamespacedName(s.namespace, s.name); err != nil {
		return nil, err
	}
	ps, err := normalizePorts(s.ports)
	if err != nil {
		return nil, err
	}
	if err := checkMap("label", s.labels); err != nil {
		return nil, err
	}
	if err := checkMap("annotation", s.annotations); err != nil {
		return nil, err
	}
	return plans.Object{
		"namespace":   s.namespace,
		"name":        s.name,
		"ports":       portsValue(ps),
		"labels":      mapValue(s.labels),
		"annotations": mapValue(s.annotations),
	}, nil
}

// normalizeIPs parses, deduplicates and sorts addresses numerically.
func normalizeIPs(ips []string) ([]string, error) {
	seen := map[netip.Addr]bool{}
	var addrs []netip.Addr
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("endpoint address %q is not an IP address", s)
		}
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, nil
}

func renderEndpoints(s *spec) (plans.Object, error) {
	if err := checkNamespacedName(s.namespace, s.name); err != nil {
		return nil, err
	}
	ps, err := normalizePorts(s.ports)
	if err != nil {
		return nil, err
	}
	ips, err := normalizeIPs(s.ips)
	if err != nil {
		return nil, err
	}
	if err := checkMap("label", s.labels); err != nil {
		return nil, err
	}
	subsets := []any{}
	if len(ips) > 0 {
		subsets = append(subsets, map[string]any{"addresses": stringsValue(ips), "ports": portsValue(ps)})
	}
	return plans.Object{
		"namespace": s.namespace,
		"name":      s.name,
		"subsets":   subsets,
		"labels":    mapValue(s.labels),
	}, nil
}

func stringsValue(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// readerRules are istio-reader's rules in the istio-remote chart of 1.0.
var readerRules = []ruleSpec{{
	apiGroups: []string{""},
	resources: []string{"endpoints", "nodes", "pods", "services"},
	verbs:     []string{"get", "list", "watch"},
}}

type ruleSpec struct{ apiGroups, resources, verbs []string }

func rulesValue(rules []ruleSpec) []any {
	out := make([]any, len(rules))
	for i, r := range rules {
		out[i] = map[string]any{
			"api_groups": stringsValue(r.apiGroups),
			"resources":  stringsValue(r.resources),
			"verbs":      stringsValue(r.verbs),
		}
	}
	return out
}

// minTokenLifetime is the shortest TokenRequest lifetime the API server
// accepts.
const minTokenLifetime = 10 * time.Minute

func tokenSource(lifetime time.Duration) string {
	if lifetime > 0 {
		return "request"
	}
	return "secret"
}

func renderReader(s *spec) (plans.Object, error) {
	if errs := validation.IsDNS1123Label(s.namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", s.namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(s.serviceAccount); len(errs) > 0 {
		return nil, fmt.Errorf("service account %q: %s", s.serviceAccount, strings.Join(errs, "; "))
	}
	if s.tokenLifetime < 0 || (s.tokenLifetime > 0 && s.tokenLifetime < minTokenLifetime) {
		return nil, fmt.Errorf("token lifetime %s: want 0 (a long-lived token secret) or at least %s", s.tokenLifetime, minTokenLifetime)
	}
	return plans.Object{
		"namespace":       s.namespace,
		"service_account": s.serviceAccount,
		"cluster_role":    ReaderClusterRole,
		"rules":           rulesValue(readerRules),
		"binding":         bindingValue(s.serviceAccount, ReaderClusterRole, []string{s.namespace + "/" + s.serviceAccount}),
		"token": map[string]any{
			"source":   tokenSource(s.tokenLifetime),
			"lifetime": s.tokenLifetime.String(),
			"ready":    true,
		},
	}, nil
}

func bindingValue(name, role string, subjects []string) map[string]any {
	return map[string]any{"name": name, "role": role, "subjects": stringsValue(subjects)}
}

func tokenSecretName(sa string) string { return sa + "-token" }

// renderRemoteSecret builds the control-cluster secret's attributes from
// the reader's outputs. While planning the token may be Unknown (a new
// token will be minted) or, with TokenRequest tokens, the fingerprint of
// the token in use.
func renderRemoteSecret(s *spec, in providers.Outputs) (plans.Object, error) {
	if errs := validation.IsDNS1123Label(s.clusterID); len(errs) > 0 {
		return nil, fmt.Errorf("cluster ID %q must be a DNS-1123 label (it is the secret's data key): %s", s.clusterID, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(s.namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", s.namespace, strings.Join(errs, "; "))
	}
	get := func(name string) (any, error) {
		v, ok := in.Output(s.reader, name)
		if !ok {
			return nil, fmt.Errorf("%s has no output %q", s.reader, name)
		}
		return v, nil
	}
	server, err := get("server")
	if err != nil {
		return nil, err
	}
	ca, err := get("ca")
	if err != nil {
		return nil, err
	}
	token, err := get("token")
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]any{"server": server, "ca": ca} {
		if _, ok := v.(string); !ok && !plans.IsUnknown(v) {
			return nil, fmt.Errorf("%s output %q is a %T, want a string", s.reader, name, v)
		}
	}
	var tokenFP string
	switch t := token.(type) {
	case plans.Sensitive:
		tokenFP = t.Fingerprint()
	case string:
		if !plans.IsFingerprint(t) {
			return nil, fmt.Errorf("%s output \"token\" must be sensitive", s.reader)
		}
		tokenFP = t
	default:
		if !plans.IsUnknown(token) {
			return nil, fmt.Errorf("%s output \"token\" is a %T, want a sensitive value", s.reader, token)
		}
	}
	var kubeconfig any = plans.Unknown
	if sv, ok := server.(string); ok && tokenFP != "" {
		if cv, ok := ca.(string); ok {
			b, err := buildKubeconfig(s.clusterID, sv, []byte(cv), tokenFP)
			if err != nil {
				return nil, err
			}
			// Sensitive, though it holds only the token's fingerprint: the
			// plan then marks it "(sensitive value, sha256:…)" like the
			// token, and its fingerprint is the one Observe reports.
			kubeconfig = plans.NewSensitive(b)
		}
	}
	return plans.Object{
		"namespace":   s.namespace,
		"name":        s.clusterID,
		"labels":      map[string]any{istioMultiClusterLabel: "true"},
		"annotations": map[string]any{istioClusterAnnotation: s.clusterID},
		"data_keys":   []any{s.clusterID},
		"server":      server,
		"ca":          ca,
		"token":       token,
		"kubeconfig":  kubeconfig,
	}, nil
}

// driftView drops the attributes that change with time rather than by
// anyone's hand (a token nearing expiry), so they never count as drift.
func driftView(kind string, o plans.Object) plans.Object {
	if kind != KindReader || o == nil {
		return o
	}
	out := make(plans.Object, len(o))
	for k, v := range o {
		out[k] = v
	}
	if t, ok := o["token"].(map[string]any); ok {
		c := make(map[string]any, len(t))
		for k, v := range t {
			if k != "ready" {
				c[k] = v
			}
		}
		out["token"] = c
	}
	return out
}
