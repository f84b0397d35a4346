package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindRemoteSecret is the Istio multicluster Secret, in the control
// cluster, through which Istio reads a remote cluster.
const KindRemoteSecret = "kube_remote_secret"

// The label and annotation by which Istio's secret controller finds a
// remote secret and names its cluster.
const (
	istioMultiClusterLabel = "istio/multiCluster"
	istioClusterAnnotation = "networking.istio.io/cluster"
)

// remoteSecret is a kube_remote_secret instance.
type remoteSecret struct {
	namespace string
	// remote is the remote cluster's name, clusterID the secret's data key
	// and annotation, name the secret's name.
	remote, clusterID, name string
	// server, when set, replaces the reader's server in the kubeconfig;
	// tlsServerName is the kubeconfig's tls-server-name.
	server, tlsServerName string
	// reader is the address of the remote's Reader, whose outputs the
	// secret is built from.
	reader plans.Address
}

// RemoteSecret declares, in the control cluster's namespace o.Namespace,
// the Istio multicluster Secret for cluster remote at
// cluster.<remote>.secret (Target cluster.<control>), built from the
// outputs of reader (the remote's Reader address). o.ClusterID must be a
// DNS-1123 label; it is the secret's data key and annotation and names the
// kubeconfig's cluster, context and user; o.Format names the secret.
func RemoteSecret(control, remote string, o RemoteOptions, reader plans.Address) providers.Resource {
	s := &remoteSecret{namespace: o.Namespace, remote: remote, clusterID: o.ClusterID, name: o.Format.SecretName(o.ClusterID), server: o.Server, tlsServerName: o.TLSServerName, reader: reader}
	return providers.Resource{
		Addr:      plans.Address{Block: "cluster", Name: remote, Type: "secret"},
		Target:    clusterTarget(control),
		Kind:      KindRemoteSecret,
		DependsOn: []plans.Address{reader},
		Render:    s.render,
		ForceNew:  []string{"namespace", "name"},
		Private:   s,
	}
}

// Remote is the usual trio for one remote cluster: the Istio namespace in
// the remote, its Reader, and its RemoteSecret in the control cluster.
func Remote(control, remote string, o RemoteOptions) []providers.Resource {
	r := Reader(remote, o)
	return []providers.Resource{
		Namespace(remote, o.Namespace),
		r,
		RemoteSecret(control, remote, o, r.Addr),
	}
}

func (s *remoteSecret) kind() string { return KindRemoteSecret }

// render builds the control-cluster secret's attributes from
// the reader's outputs. While planning the token may be Unknown (a new
// token will be minted) or, with TokenRequest tokens, the fingerprint of
// the token in use.
func (s *remoteSecret) render(in providers.Outputs) (plans.Object, error) {
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
	if s.server != "" {
		server = s.server
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
			b, err := buildKubeconfig(s.clusterID, remoteKubeconfig{server: sv, tlsServerName: s.tlsServerName, ca: []byte(cv), token: tokenFP})
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
		"name":        s.name,
		"labels":      map[string]any{istioMultiClusterLabel: "true"},
		"annotations": map[string]any{istioClusterAnnotation: s.clusterID},
		"data_keys":   []any{s.clusterID},
		"server":      server,
		"ca":          ca,
		"token":       token,
		"kubeconfig":  kubeconfig,
	}, nil
}

func (s *remoteSecret) identities() []ref {
	return []ref{{res: resSecrets, namespace: s.namespace, name: s.name}}
}

func (s *remoteSecret) observe(ctx context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	obs := o.single(addr, s, s.identities()[0], s.project)
	others, err := o.multiClusterIDs(ctx, s.namespace)
	if err != nil {
		return providers.Observed{}, err
	}
	obs.Conflict = s.conflict(others)
	return obs, nil
}

// remoteSecretIDs is what a live remote secret tells istiod: its data keys
// (the cluster IDs istiod registers) and its cluster annotation. The
// kubeconfigs are not kept.
type remoteSecretIDs struct {
	name, owner string
	keys        []string
	annotation  string
}

// multiClusterIDs lists, once per observation and namespace, the remote
// secrets istiod reads in namespace (label istio/multiCluster=true) that
// are not this environment's: the only secrets meshx lists that are not
// its own, to refuse a cluster ID istiod would not register twice.
func (o *observation) multiClusterIDs(ctx context.Context, namespace string) ([]remoteSecretIDs, error) {
	if ids, ok := o.multiCluster[namespace]; ok {
		return ids, nil
	}
	objs, err := o.p.list(ctx, resSecrets, namespace, istioMultiClusterLabel+"=true")
	if err != nil {
		return nil, fmt.Errorf("%s: list the remote secrets in namespace %s: %w", o.p.target(), namespace, err)
	}
	ids := []remoteSecretIDs{}
	for _, m := range objs {
		if ownedBy(m, o.env) {
			continue
		}
		sec := m.(*corev1.Secret)
		keys := make([]string, 0, len(sec.Data))
		for k := range sec.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ids = append(ids, remoteSecretIDs{name: sec.Name, owner: ownerOf(sec, o.env), keys: keys, annotation: sec.Annotations[istioClusterAnnotation]})
	}
	if o.multiCluster == nil {
		o.multiCluster = map[string][]remoteSecretIDs{}
	}
	o.multiCluster[namespace] = ids
	return ids, nil
}

// conflict says why another remote secret keeps istiod from reading the
// one s writes: it registers s's cluster ID under a data key (istiod keeps
// the first secret of an ID: "cluster has already been registered"), or
// its annotation names the ID while its data key says otherwise. "" when
// none does. s's own name is the ordinary ownership check's.
func (s *remoteSecret) conflict(others []remoteSecretIDs) string {
	for _, x := range others {
		if x.name == s.name {
			continue
		}
		owner := x.owner
		if owner == "" {
			owner = "nobody (created outside meshx)"
		}
		what := fmt.Sprintf("Secret %s/%s in the control cluster, owned by %s,", s.namespace, x.name, owner)
		fix := fmt.Sprintf("Delete that secret if it is stale (kubectl -n %s delete secret %s), or give this cluster another cluster_id.", s.namespace, x.name)
		switch {
		case slices.Contains(x.keys, s.clusterID):
			return fmt.Sprintf("%s already registers cluster ID %q with istiod (its data key %q). istiod reads one secret per cluster ID and ignores the next (\"cluster has already been registered\"), so the secret meshx writes for cluster %q would never be read. %s",
				what, s.clusterID, s.clusterID, s.remote, fix)
		case x.annotation == s.clusterID:
			return fmt.Sprintf("%s is annotated %s: %q, but its data keys, the IDs istiod registers, are %s. The annotation and the key disagree, so tools reading the annotation take that secret for cluster %q while istiod does not. %s",
				what, istioClusterAnnotation, s.clusterID, strings.Join(quoteAll(x.keys), ", "), s.remote, fix)
		}
	}
	return ""
}

// quoteAll quotes each of ss; "none" for no strings.
func quoteAll(ss []string) []string {
	if len(ss) == 0 {
		return []string{"none"}
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// project reads the control-cluster secret back into render's shape; the token is Sensitive.
func (s *remoteSecret) project(live metav1.Object) plans.Object {
	sec := live.(*corev1.Secret)
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

// orphanRemoteSecret projects an orphan remote secret, whose cluster ID is
// its annotation.
func orphanRemoteSecret(live metav1.Object) (plans.Object, bool) {
	if _, ok := live.(*corev1.Secret); !ok {
		return nil, false
	}
	id := live.GetAnnotations()[istioClusterAnnotation]
	if id == "" {
		id = live.GetName()
	}
	return (&remoteSecret{clusterID: id}).project(live), true
}

// apply writes the Istio multicluster secret in the control
// cluster. With only a token fingerprint (a TokenRequest token between
// rotations) it reuses the live token that fingerprint stands for.
func (s *remoteSecret) apply(ctx context.Context, a *applier) (plans.Object, error) {
	id := s.identities()[0]
	live, err := a.claim(ctx, id)
	if err != nil {
		return nil, err
	}
	d := a.req.Desired
	server, _ := d["server"].(string)
	ca, _ := d["ca"].(string)
	if server == "" || ca == "" {
		return nil, fmt.Errorf("the reader %s gave no server or certificate authority", s.reader)
	}
	var token string
	switch t := d["token"].(type) {
	case plans.Sensitive:
		token = string(t.Bytes())
	case string:
		if sec, ok := live.(*corev1.Secret); ok {
			if k, err := parseKubeconfig(sec.Data[s.clusterID]); err == nil && k.token != "" && plans.Fingerprint([]byte(k.token)) == t {
				token = k.token
			}
		}
		if token == "" {
			// The only copy of the token is gone: mint a new one.
			rp := a.p.peers[s.remote]
			if rp == nil {
				return nil, fmt.Errorf("the reader's TokenRequest token was held only by Secret %s/%s, which no longer has it, and cluster %q is not connected to mint a new one",
					s.namespace, s.name, s.remote)
			}
			b, err := rp.remintReaderToken(ctx, a.env(), s.reader)
			if err != nil {
				return nil, err
			}
			token = string(b)
		}
	default:
		return nil, fmt.Errorf("the reader %s gave no token", s.reader)
	}
	want := remoteKubeconfig{server: server, tlsServerName: s.tlsServerName, ca: []byte(ca), token: token}
	kc, err := buildKubeconfig(s.clusterID, want)
	if err != nil {
		return nil, err
	}
	// Record what is really written: after a re-mint the token is not the
	// one the plan had.
	masked, err := buildKubeconfig(s.clusterID, want.withToken(plans.Fingerprint([]byte(token))))
	if err != nil {
		return nil, err
	}
	written := plans.Object{}
	for k, v := range d {
		written[k] = v
	}
	written["token"] = plans.NewSensitive([]byte(token))
	written["kubeconfig"] = plans.Fingerprint(masked)
	labels, annotations := marks(a.env(), a.addr, KindRemoteSecret, appliedDigest(s, written))
	annotations[istioClusterAnnotation] = s.clusterID
	if exp, ok := jwtExpiry(token); ok {
		annotations[AnnotationTokenExpires] = exp.Format(time.RFC3339)
	}
	labels[istioMultiClusterLabel] = "true"
	cfg := corev1ac.Secret(s.name, s.namespace).
		WithType(corev1.SecretTypeOpaque).
		WithLabels(labels).
		WithAnnotations(annotations).
		WithData(map[string][]byte{s.clusterID: kc})
	got, err := a.p.client.CoreV1().Secrets(s.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return nil, scrubErr(applyError(id, err), token, string(kc))
	}
	a.wrote(live, got)
	return nil, nil
}
