package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindReader is a remote cluster's reader: the service account, role,
// binding and token Istio's control plane reads the remote with.
const KindReader = "kube_reader"

const (
	// DefaultReaderServiceAccount is the remote reader's account in the
	// istio-remote chart of Istio 1.0.
	DefaultReaderServiceAccount = "istio-multi"
	// ReaderClusterRole is the cluster role the legacy remote reader is
	// bound to.
	ReaderClusterRole = "istio-reader"
	// DefaultTokenWait bounds the wait for the token controller to fill a
	// long-lived token secret.
	DefaultTokenWait = time.Minute

	// Recorded on the reader's service account for TokenRequest tokens.
	annotationTokenIssued      = "meshx.dev/token-issued"
	annotationTokenLifetime    = "meshx.dev/token-lifetime"
	annotationTokenFingerprint = "meshx.dev/token-fingerprint"
	// serviceAccountNameAnnot names the account of a token Secret.
	serviceAccountNameAnnot = "kubernetes.io/service-account.name"
)

// reader is a kube_reader instance.
type reader struct {
	namespace, serviceAccount string
	tokenLifetime             time.Duration
	format                    RemoteFormat
	// clusterID is the ID the control plane gives the remote.
	clusterID string
}

// Reader declares the remote reader at cluster.<cluster>.reader: service
// account o.ServiceAccount (empty: the format's default) in o.Namespace,
// the format's ClusterRole and its binding, and a token: a long-lived
// token Secret when o.TokenLifetime is 0, else TokenRequest tokens of that
// lifetime, rotated when a third of it is left. It depends on
// NamespaceAddress(cluster, o.Namespace), which the planner must declare
// (Remote does). Outputs: server, ca, token.
func Reader(cluster string, o RemoteOptions) providers.Resource {
	sa := o.ServiceAccount
	if sa == "" {
		sa = o.Format.DefaultServiceAccount()
	}
	r := &reader{namespace: o.Namespace, serviceAccount: sa, tokenLifetime: o.TokenLifetime, format: o.Format, clusterID: o.ClusterID}
	return providers.Resource{
		Addr:      ReaderAddress(cluster),
		Target:    clusterTarget(cluster),
		Kind:      KindReader,
		DependsOn: []plans.Address{NamespaceAddress(cluster, o.Namespace)},
		Render:    r.render,
		ForceNew:  []string{"namespace", "service_account"},
		// Observe leaves out the token when an update will replace it, so
		// the outputs it does give survive the update.
		OutputsSurviveUpdate: true,
		Settings:             providers.Settings{WaitTimeout: DefaultTokenWait},
		Private:              r,
	}
}

// ReaderAddress is the address Reader gives a cluster's reader.
func ReaderAddress(cluster string) plans.Address {
	return plans.Address{Block: "cluster", Name: cluster, Type: "reader"}
}

func (r *reader) kind() string { return KindReader }

func (r *reader) render(providers.Outputs) (plans.Object, error) {
	if errs := validation.IsDNS1123Label(r.namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", r.namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(r.serviceAccount); len(errs) > 0 {
		return nil, fmt.Errorf("service account %q: %s", r.serviceAccount, strings.Join(errs, "; "))
	}
	if r.tokenLifetime < 0 || (r.tokenLifetime > 0 && r.tokenLifetime < minTokenLifetime) {
		return nil, fmt.Errorf("token lifetime %s: want 0 (a long-lived token secret) or at least %s", r.tokenLifetime, minTokenLifetime)
	}
	role := r.format.ClusterRole(r.namespace)
	return plans.Object{
		"namespace":       r.namespace,
		"service_account": r.serviceAccount,
		"cluster_role":    role,
		"rules":           rulesValue(r.format.rules()),
		"binding":         bindingValue(r.format.bindingName(r.namespace, r.serviceAccount), role, []string{r.namespace + "/" + r.serviceAccount}),
		"token": map[string]any{
			"source":   tokenSource(r.tokenLifetime),
			"lifetime": r.tokenLifetime.String(),
			"ready":    true,
		},
	}, nil
}

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

func bindingValue(name, role string, subjects []string) map[string]any {
	return map[string]any{"name": name, "role": role, "subjects": stringsValue(subjects)}
}

func (r *reader) identities() []ref {
	ids := []ref{
		{res: resServiceAccounts, namespace: r.namespace, name: r.serviceAccount},
		{res: resClusterRoles, name: r.format.ClusterRole(r.namespace)},
		{res: resClusterRoleBindings, name: r.format.bindingName(r.namespace, r.serviceAccount)},
	}
	if r.tokenLifetime == 0 {
		ids = append(ids, ref{res: resSecrets, namespace: r.namespace, name: r.format.tokenSecretName(r.serviceAccount)})
	}
	return ids
}

// driftView drops the token's readiness, which changes as the token nears
// expiry rather than by anyone's hand.
func (r *reader) driftView(o plans.Object) plans.Object {
	if o == nil {
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

// orphanReader: a reader's orphan is the list of its objects.
func orphanReader(metav1.Object) (plans.Object, bool) { return nil, false }

// readerParts are the live objects behind a reader; any may be nil.
type readerParts struct {
	sa      *corev1.ServiceAccount
	role    *corev1Role
	binding *rbacv1.ClusterRoleBinding
	secret  *corev1.Secret // the long-lived token secret
}

// corev1Role is rbacv1.ClusterRole, named apart so readerParts reads well.
type corev1Role = rbacv1.ClusterRole

// parts finds the reader's objects at addr.
func (r *reader) parts(o *observation, addr plans.Address) readerParts {
	var parts readerParts
	for _, id := range r.identities() {
		m := o.pick(addr, id)
		if m == nil {
			continue
		}
		switch v := m.(type) {
		case *corev1.ServiceAccount:
			parts.sa = v
		case *rbacv1.ClusterRole:
			parts.role = v
		case *rbacv1.ClusterRoleBinding:
			parts.binding = v
		}
	}
	// The token secret: the one meshx made for this reader, whatever the
	// token mode now is (a switch to TokenRequest deletes it).
	if owned := o.byAddr[addr.String()][resSecrets]; len(owned) > 0 {
		parts.secret = owned[0].(*corev1.Secret)
	} else if r.tokenLifetime == 0 {
		if m := o.identity[ref{res: resSecrets, namespace: r.namespace, name: r.format.tokenSecretName(r.serviceAccount)}]; m != nil {
			parts.secret = m.(*corev1.Secret)
		}
	}
	return parts
}

// objects are the parts that exist, in deletion order: binding, role,
// token secret, account.
func (p readerParts) objects() []liveObject {
	var out []liveObject
	if p.binding != nil {
		out = append(out, liveObject{resClusterRoleBindings, p.binding})
	}
	if p.role != nil {
		out = append(out, liveObject{resClusterRoles, p.role})
	}
	if p.secret != nil {
		out = append(out, liveObject{resSecrets, p.secret})
	}
	if p.sa != nil {
		out = append(out, liveObject{resServiceAccounts, p.sa})
	}
	return out
}

func (r *reader) observe(ctx context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	conflict, err := r.installConflict(ctx, o.p)
	if err != nil {
		return providers.Observed{}, err
	}
	obs, err := r.observeParts(ctx, o, addr)
	obs.Conflict = conflict
	return obs, err
}

func (r *reader) observeParts(ctx context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	parts := r.parts(o, addr)
	objs := parts.objects()
	if len(objs) == 0 {
		return providers.Observed{}, nil
	}
	obs := providers.Observed{Exists: true, Owned: true, Object: r.project(parts, o.p.now())}
	var refs []ref
	for _, x := range objs {
		refs = append(refs, refOf(x.res, x.m))
		if !ownedBy(x.m, o.env) && obs.Owned {
			obs.Owned = false
			obs.Owner = refOf(x.res, x.m).human() + ": " + ownerOf(x.m, o.env)
		}
	}
	anchor := objs[len(objs)-1].m
	obs.Details = details(anchor, refs)
	if obs.Owned && parts.sa != nil {
		obs.Drift = drifted(parts.sa, r, obs.Object)
	}
	outs, err := r.outputs(ctx, o.p, parts, obs.Object)
	if err != nil {
		return providers.Observed{}, err
	}
	obs.Outputs = outs
	return obs, nil
}

// outputs are the reader's outputs as they stand: the token only when it
// is the one the configuration wants and it is ready.
func (r *reader) outputs(ctx context.Context, p *Provider, parts readerParts, projection plans.Object) (plans.Object, error) {
	out := plans.Object{"server": p.client.Server}
	t := readerToken(parts, p.now())
	ca, err := p.readerCA(ctx, r.namespace, t.caCert)
	if err != nil {
		return nil, err
	}
	if ca != nil {
		out["ca"] = string(ca)
	}
	want, _ := r.render(nil)
	if want == nil || parts.sa == nil || !plans.Equal(want["token"], projection["token"]) {
		return out, nil
	}
	switch t.source {
	case "secret":
		out["token"] = plans.NewSensitive(t.token)
	case "request":
		if plans.IsFingerprint(t.fingerprint) {
			out["token"] = t.fingerprint
		}
	}
	return out, nil
}

// readerCA is the CA a remote's kubeconfig should trust: the one in the
// kubeconfig meshx itself uses, else the token secret's ca.crt, else the
// kube-root-ca.crt ConfigMap of the namespace. nil when there is none.
func (p *Provider) readerCA(ctx context.Context, namespace string, fromSecret []byte) ([]byte, error) {
	if len(p.client.ca) > 0 {
		return p.client.ca, nil
	}
	if len(fromSecret) > 0 {
		return fromSecret, nil
	}
	cm, err := p.client.CoreV1().ConfigMaps(namespace).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		return nil, nil
	}
	if v := cm.Data["ca.crt"]; v != "" {
		return []byte(v), nil
	}
	return nil, nil
}

// project is the attribute view of the reader's live parts at now.
func (r *reader) project(parts readerParts, now time.Time) plans.Object {
	o := plans.Object{
		"namespace":       r.namespace,
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

// apply creates or updates the reader's account, role, binding and
// token, and returns its outputs with the real token.
func (r *reader) apply(ctx context.Context, a *applier) (plans.Object, error) {
	nsID := ref{res: resNamespaces, name: r.namespace}
	if ns, err := a.p.get(ctx, nsID); err != nil {
		return nil, fmt.Errorf("get %s: %w", nsID.human(), err)
	} else if ns == nil {
		return nil, fmt.Errorf("namespace %s does not exist in cluster %q: declare it (kube.Namespace) for the reader to depend on", r.namespace, a.p.name)
	}
	saID := ref{res: resServiceAccounts, namespace: r.namespace, name: r.serviceAccount}
	role := r.format.ClusterRole(r.namespace)
	roleID := ref{res: resClusterRoles, name: role}
	bindingID := ref{res: resClusterRoleBindings, name: r.format.bindingName(r.namespace, r.serviceAccount)}
	secretID := ref{res: resSecrets, namespace: r.namespace, name: r.format.tokenSecretName(r.serviceAccount)}
	liveSA, err := a.claim(ctx, saID)
	if err != nil {
		return nil, err
	}
	liveRole, err := a.claim(ctx, roleID)
	if err != nil {
		return nil, err
	}
	liveBinding, err := a.claim(ctx, bindingID)
	if err != nil {
		return nil, err
	}
	liveSecret, err := a.p.get(ctx, secretID)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", secretID.human(), err)
	}
	if r.tokenLifetime == 0 {
		if liveSecret, err = a.claim(ctx, secretID); err != nil {
			return nil, err
		}
	}

	labels, annotations := a.marks(r)
	saAnnotations := merged(annotations)
	if liveSA != nil && r.tokenLifetime > 0 {
		// Keep the record of the token in use until a new one is minted.
		for _, k := range []string{AnnotationTokenExpires, annotationTokenIssued, annotationTokenLifetime, annotationTokenFingerprint} {
			if v, ok := liveSA.GetAnnotations()[k]; ok {
				saAnnotations[k] = v
			}
		}
	}
	sa := func(ann map[string]string) error {
		got, err := a.p.client.CoreV1().ServiceAccounts(r.namespace).Apply(ctx,
			corev1ac.ServiceAccount(r.serviceAccount, r.namespace).WithLabels(labels).WithAnnotations(ann), a.opts())
		if err != nil {
			return applyError(saID, err)
		}
		a.wrote(liveSA, got)
		liveSA = got
		return nil
	}
	if err := sa(saAnnotations); err != nil {
		return nil, err
	}

	var rules []*rbacv1ac.PolicyRuleApplyConfiguration
	for _, rule := range r.format.rules() {
		rules = append(rules, rbacv1ac.PolicyRule().WithAPIGroups(rule.apiGroups...).WithResources(rule.resources...).WithVerbs(rule.verbs...))
	}
	got, err := a.p.client.RbacV1().ClusterRoles().Apply(ctx, rbacv1ac.ClusterRole(role).
		WithLabels(labels).WithAnnotations(annotations).WithRules(rules...), a.opts())
	if err != nil {
		return nil, applyError(roleID, err)
	}
	a.wrote(liveRole, got)

	if b, ok := liveBinding.(*rbacv1.ClusterRoleBinding); ok && b.RoleRef.Name != role {
		// roleRef cannot change in place.
		if err := a.p.del(ctx, bindingID, string(b.UID)); err != nil {
			return nil, fmt.Errorf("delete %s to change its role: %w", bindingID.human(), err)
		}
		liveBinding = nil
	}
	gotBinding, err := a.p.client.RbacV1().ClusterRoleBindings().Apply(ctx, rbacv1ac.ClusterRoleBinding(bindingID.name).
		WithLabels(labels).WithAnnotations(annotations).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(role)).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithName(r.serviceAccount).WithNamespace(r.namespace)), a.opts())
	if err != nil {
		return nil, applyError(bindingID, err)
	}
	a.wrote(liveBinding, gotBinding)

	var token, caCert []byte
	var tokenOut any
	if r.tokenLifetime == 0 {
		token, caCert, err = a.longLivedToken(ctx, r, secretID, labels, annotations, liveSecret)
		tokenOut = plans.NewSensitive(token)
	} else {
		// Keep a token that is still fresh and of the configured lifetime:
		// the control secret holds it, and its fingerprint stands for it.
		cur := readerToken(readerParts{sa: liveSA.(*corev1.ServiceAccount)}, a.p.now())
		if cur.ready && cur.lifetime == r.tokenLifetime.String() && plans.IsFingerprint(cur.fingerprint) {
			tokenOut = cur.fingerprint
		} else {
			token, err = a.requestToken(ctx, r, saAnnotations, sa)
			tokenOut = plans.NewSensitive(token)
		}
		if err == nil && liveSecret != nil && ownedBy(liveSecret, a.env()) {
			// Switching to TokenRequest tokens revokes the long-lived one.
			if err = a.p.del(ctx, secretID, string(liveSecret.GetUID())); err != nil {
				err = fmt.Errorf("delete %s: %w", secretID.human(), err)
			}
		}
	}
	if err != nil {
		return nil, scrubErr(err, string(token))
	}
	out := plans.Object{"server": a.p.client.Server, "token": tokenOut}
	ca, err := a.p.readerCA(ctx, r.namespace, caCert)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		return nil, fmt.Errorf("no certificate authority for cluster %q: its kubeconfig has none, and neither does the token secret nor ConfigMap %s/kube-root-ca.crt", a.p.name, r.namespace)
	}
	out["ca"] = string(ca)
	return out, nil
}

// longLivedToken applies the service-account-token Secret and waits for
// the token controller to fill it.
func (a *applier) longLivedToken(ctx context.Context, r *reader, id ref, labels, annotations map[string]string, live metav1.Object) (token, caCert []byte, err error) {
	cfg := corev1ac.Secret(id.name, id.namespace).
		WithType(corev1.SecretTypeServiceAccountToken).
		WithLabels(labels).
		WithAnnotations(merged(annotations, map[string]string{serviceAccountNameAnnot: r.serviceAccount}))
	got, err := a.p.client.CoreV1().Secrets(id.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return nil, nil, applyError(id, err)
	}
	a.wrote(live, got)
	timeout := a.req.Resource.Settings.WaitTimeout
	if timeout <= 0 {
		timeout = DefaultTokenWait
	}
	what := id.namespace + "/" + id.name
	err = a.p.poll(ctx, timeout, func(time.Duration) (bool, error) {
		sec, err := a.p.client.CoreV1().Secrets(id.namespace).Get(ctx, id.name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("get Secret %s: %w", what, err)
		}
		token, caCert = sec.Data["token"], sec.Data["ca.crt"]
		return len(token) > 0, nil
	}, func(elapsed time.Duration) {
		a.progress(fmt.Sprintf("waiting for the token controller to fill Secret %s (%s elapsed)", what, elapsed.Round(time.Second)))
	})
	if errors.Is(err, errTimeout) {
		return nil, nil, fmt.Errorf("Secret %s has no token after %s: is kube-controller-manager running with --service-account-private-key-file in cluster %q? Check with: kubectl -n %s describe secret %s",
			what, timeout, a.p.name, id.namespace, id.name)
	}
	return token, caCert, err
}

// requestToken mints a TokenRequest token and records its expiry,
// lifetime and fingerprint on the service account.
func (a *applier) requestToken(ctx context.Context, r *reader, saAnnotations map[string]string, applySA func(map[string]string) error) ([]byte, error) {
	secs := int64(r.tokenLifetime / time.Second)
	issued := a.p.now().UTC().Truncate(time.Second)
	tr, err := a.p.client.CoreV1().ServiceAccounts(r.namespace).CreateToken(ctx, r.serviceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("request a token for ServiceAccount %s/%s: %w", r.namespace, r.serviceAccount, err)
	}
	token := []byte(tr.Status.Token)
	expires := tr.Status.ExpirationTimestamp.UTC()
	ann := merged(saAnnotations, map[string]string{
		AnnotationTokenExpires:     expires.Format(time.RFC3339),
		annotationTokenIssued:      issued.Format(time.RFC3339),
		annotationTokenLifetime:    r.tokenLifetime.String(),
		annotationTokenFingerprint: plans.Fingerprint(token),
	})
	if err := applySA(ann); err != nil {
		return token, err
	}
	a.changed = true
	return token, nil
}

// remintReaderToken mints a new TokenRequest token for the reader at addr
// (owned by env) and records it on the reader's service account, as the
// reader's own Apply does.
func (p *Provider) remintReaderToken(ctx context.Context, env string, addr plans.Address) ([]byte, error) {
	objs, err := p.list(ctx, resServiceAccounts, "", fmt.Sprintf("%s=%s,%s=%s", LabelManagedBy, ManagedByValue, LabelEnvironment, env))
	if err != nil {
		return nil, fmt.Errorf("%s: list service accounts: %w", p.target(), err)
	}
	for _, m := range objs {
		sa := m.(*corev1.ServiceAccount)
		if sa.Annotations[AnnotationAddress] != addr.String() {
			continue
		}
		life, err := time.ParseDuration(sa.Annotations[annotationTokenLifetime])
		if err != nil || life <= 0 {
			return nil, fmt.Errorf("%s: ServiceAccount %s/%s records no token lifetime", addr, sa.Namespace, sa.Name)
		}
		ann := map[string]string{}
		for k, v := range sa.Annotations {
			if strings.HasPrefix(k, meshxAnnotationKeyPrefix) {
				ann[k] = v
			}
		}
		labels := map[string]string{LabelManagedBy: ManagedByValue, LabelEnvironment: env}
		a := &applier{p: p, addr: addr, req: providers.ApplyRequest{Environment: env}}
		r := &reader{namespace: sa.Namespace, serviceAccount: sa.Name, tokenLifetime: life}
		token, err := a.requestToken(ctx, r, ann, func(ann map[string]string) error {
			_, err := p.client.CoreV1().ServiceAccounts(sa.Namespace).Apply(ctx,
				corev1ac.ServiceAccount(sa.Name, sa.Namespace).WithLabels(labels).WithAnnotations(ann),
				metav1.ApplyOptions{FieldManager: FieldManager})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", addr, scrubErr(err, string(token)))
		}
		return token, nil
	}
	return nil, fmt.Errorf("%s: no service account of environment %q in cluster %q", addr, env, p.name)
}

// injectorConfigMap is the ConfigMap of an Istio install's sidecar
// injector, whose "values" hold the install's Helm values
// (istioctl/pkg/workload reads the cluster ID there, from
// global.multiCluster.clusterName).
const injectorConfigMap = "istio-sidecar-injector"

// installedClusterID is the cluster ID an Istio install's injector
// ConfigMap gives its cluster, or "" when it names none.
func installedClusterID(cm *corev1.ConfigMap) string {
	var values struct {
		Global struct {
			MultiCluster struct {
				ClusterName string `json:"clusterName"`
			} `json:"multiCluster"`
		} `json:"global"`
	}
	if json.Unmarshal([]byte(cm.Data["values"]), &values) != nil {
		return ""
	}
	return values.Global.MultiCluster.ClusterName
}

// installConflict says why the remote's own Istio install disagrees with
// the cluster ID the control plane would give it: the remote's proxies
// and gateways then name their cluster otherwise than istiod does
// (istio#42516). "" when the remote has no istiod-era install or it
// agrees.
func (r *reader) installConflict(ctx context.Context, p *Provider) (string, error) {
	if r.format != RemoteModern || r.clusterID == "" {
		return "", nil
	}
	id := ref{res: resConfigMaps, namespace: r.namespace, name: injectorConfigMap}
	m, err := p.get(ctx, id)
	if err != nil {
		return "", fmt.Errorf("%s: get %s: %w", p.target(), id.human(), err)
	}
	cm, ok := m.(*corev1.ConfigMap)
	if !ok {
		return "", nil
	}
	installed := installedClusterID(cm)
	if installed == "" || installed == r.clusterID {
		return "", nil
	}
	return fmt.Sprintf("The Istio install in cluster %q calls its cluster %q (ConfigMap %s/%s, values global.multiCluster.clusterName), but its cluster_id here is %q: the remote's proxies would name their cluster otherwise than istiod does. Set cluster_id = %q, or install Istio in the remote with values.global.multiCluster.clusterName=%s.",
		p.name, installed, r.namespace, injectorConfigMap, r.clusterID, installed, r.clusterID), nil
}
