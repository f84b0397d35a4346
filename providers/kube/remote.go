package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// applyReader creates or updates the reader's account, role, binding and
// token, and returns its outputs with the real token.
func (a *applier) applyReader(ctx context.Context, s *spec) (plans.Object, error) {
	nsID := ref{res: resNamespaces, name: s.namespace}
	if ns, err := a.p.get(ctx, nsID); err != nil {
		return nil, fmt.Errorf("get %s: %w", nsID.human(), err)
	} else if ns == nil {
		return nil, fmt.Errorf("namespace %s does not exist in cluster %q: declare it (kube.Namespace) for the reader to depend on", s.namespace, a.p.name)
	}
	saID := ref{res: resServiceAccounts, namespace: s.namespace, name: s.serviceAccount}
	roleID := ref{res: resClusterRoles, name: ReaderClusterRole}
	bindingID := ref{res: resClusterRoleBindings, name: s.serviceAccount}
	secretID := ref{res: resSecrets, namespace: s.namespace, name: tokenSecretName(s.serviceAccount)}
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
	if s.tokenLifetime == 0 {
		if liveSecret, err = a.claim(ctx, secretID); err != nil {
			return nil, err
		}
	}

	labels, annotations := a.marks(KindReader)
	saAnnotations := merged(annotations)
	if liveSA != nil && s.tokenLifetime > 0 {
		// Keep the record of the token in use until a new one is minted.
		for _, k := range []string{AnnotationTokenExpires, annotationTokenIssued, annotationTokenLifetime, annotationTokenFingerprint} {
			if v, ok := liveSA.GetAnnotations()[k]; ok {
				saAnnotations[k] = v
			}
		}
	}
	sa := func(ann map[string]string) error {
		got, err := a.p.cs.CoreV1().ServiceAccounts(s.namespace).Apply(ctx,
			corev1ac.ServiceAccount(s.serviceAccount, s.namespace).WithLabels(labels).WithAnnotations(ann), a.opts())
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

	rule := readerRules[0]
	got, err := a.p.cs.RbacV1().ClusterRoles().Apply(ctx, rbacv1ac.ClusterRole(ReaderClusterRole).
		WithLabels(labels).WithAnnotations(annotations).
		WithRules(rbacv1ac.PolicyRule().WithAPIGroups(rule.apiGroups...).WithResources(rule.resources...).WithVerbs(rule.verbs...)), a.opts())
	if err != nil {
		return nil, applyError(roleID, err)
	}
	a.wrote(liveRole, got)

	if b, ok := liveBinding.(*rbacv1.ClusterRoleBinding); ok && b.RoleRef.Name != ReaderClusterRole {
		// roleRef cannot change in place.
		if err := a.p.del(ctx, bindingID, string(b.UID)); err != nil {
			return nil, fmt.Errorf("delete %s to change its role: %w", bindingID.human(), err)
		}
		liveBinding = nil
	}
	gotBinding, err := a.p.cs.RbacV1().ClusterRoleBindings().Apply(ctx, rbacv1ac.ClusterRoleBinding(s.serviceAccount).
		WithLabels(labels).WithAnnotations(annotations).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(ReaderClusterRole)).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithName(s.serviceAccount).WithNamespace(s.namespace)), a.opts())
	if err != nil {
		return nil, applyError(bindingID, err)
	}
	a.wrote(liveBinding, gotBinding)

	var token, caCert []byte
	var tokenOut any
	if s.tokenLifetime == 0 {
		token, caCert, err = a.longLivedToken(ctx, s, secretID, labels, annotations, liveSecret)
		tokenOut = plans.NewSensitive(token)
	} else {
		// Keep a token that is still fresh and of the configured lifetime:
		// the control secret holds it, and its fingerprint stands for it.
		cur := readerToken(readerParts{sa: liveSA.(*corev1.ServiceAccount)}, a.p.now())
		if cur.ready && cur.lifetime == s.tokenLifetime.String() && plans.IsFingerprint(cur.fingerprint) {
			tokenOut = cur.fingerprint
		} else {
			token, err = a.requestToken(ctx, s, saAnnotations, sa)
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
	out := plans.Object{"server": a.p.server, "token": tokenOut}
	ca, err := a.p.readerCA(ctx, s.namespace, caCert)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		return nil, fmt.Errorf("no certificate authority for cluster %q: its kubeconfig has none, and neither does the token secret nor ConfigMap %s/kube-root-ca.crt", a.p.name, s.namespace)
	}
	out["ca"] = string(ca)
	return out, nil
}

// longLivedToken applies the service-account-token Secret and waits for
// the token controller to fill it.
func (a *applier) longLivedToken(ctx context.Context, s *spec, id ref, labels, annotations map[string]string, live metav1.Object) (token, caCert []byte, err error) {
	cfg := corev1ac.Secret(id.name, id.namespace).
		WithType(corev1.SecretTypeServiceAccountToken).
		WithLabels(labels).
		WithAnnotations(merged(annotations, map[string]string{serviceAccountNameAnnot: s.serviceAccount}))
	got, err := a.p.cs.CoreV1().Secrets(id.namespace).Apply(ctx, cfg, a.opts())
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
		sec, err := a.p.cs.CoreV1().Secrets(id.namespace).Get(ctx, id.name, metav1.GetOptions{})
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
func (a *applier) requestToken(ctx context.Context, s *spec, saAnnotations map[string]string, applySA func(map[string]string) error) ([]byte, error) {
	secs := int64(s.tokenLifetime / time.Second)
	issued := a.p.now().UTC().Truncate(time.Second)
	tr, err := a.p.cs.CoreV1().ServiceAccounts(s.namespace).CreateToken(ctx, s.serviceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("request a token for ServiceAccount %s/%s: %w", s.namespace, s.serviceAccount, err)
	}
	token := []byte(tr.Status.Token)
	expires := tr.Status.ExpirationTimestamp.UTC()
	ann := merged(saAnnotations, map[string]string{
		AnnotationTokenExpires:     expires.Format(time.RFC3339),
		annotationTokenIssued:      issued.Format(time.RFC3339),
		annotationTokenLifetime:    s.tokenLifetime.String(),
		annotationTokenFingerprint: plans.Fingerprint(token),
	})
	if err := applySA(ann); err != nil {
		return token, err
	}
	a.changed = true
	return token, nil
}

// applyRemoteSecret writes the Istio multicluster secret in the control
// cluster. With only a token fingerprint (a TokenRequest token between
// rotations) it reuses the live token that fingerprint stands for.
func (a *applier) applyRemoteSecret(ctx context.Context, s *spec) error {
	id := ref{res: resSecrets, namespace: s.namespace, name: s.clusterID}
	live, err := a.claim(ctx, id)
	if err != nil {
		return err
	}
	d := a.req.Desired
	server, _ := d["server"].(string)
	ca, _ := d["ca"].(string)
	if server == "" || ca == "" {
		return fmt.Errorf("the reader %s gave no server or certificate authority", s.reader)
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
			rp := lookup(s.remote)
			if rp == nil {
				return fmt.Errorf("the reader's TokenRequest token was held only by Secret %s/%s, which no longer has it, and cluster %q is not connected to mint a new one",
					s.namespace, s.clusterID, s.remote)
			}
			b, err := rp.remintReaderToken(ctx, a.env(), s.reader)
			if err != nil {
				return err
			}
			token = string(b)
		}
	default:
		return fmt.Errorf("the reader %s gave no token", s.reader)
	}
	kc, err := buildKubeconfig(s.clusterID, server, []byte(ca), token)
	if err != nil {
		return err
	}
	// Record what is really written: after a re-mint the token is not the
	// one the plan had.
	masked, err := buildKubeconfig(s.clusterID, server, []byte(ca), plans.Fingerprint([]byte(token)))
	if err != nil {
		return err
	}
	written := plans.Object{}
	for k, v := range d {
		written[k] = v
	}
	written["token"] = plans.NewSensitive([]byte(token))
	written["kubeconfig"] = plans.Fingerprint(masked)
	labels, annotations := marks(a.env(), a.addr, KindRemoteSecret, appliedDigest(KindRemoteSecret, written))
	annotations[istioClusterAnnotation] = s.clusterID
	if exp, ok := jwtExpiry(token); ok {
		annotations[AnnotationTokenExpires] = exp.Format(time.RFC3339)
	}
	labels[istioMultiClusterLabel] = "true"
	cfg := corev1ac.Secret(s.clusterID, s.namespace).
		WithType(corev1.SecretTypeOpaque).
		WithLabels(labels).
		WithAnnotations(annotations).
		WithData(map[string][]byte{s.clusterID: kc})
	got, err := a.p.cs.CoreV1().Secrets(s.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return scrubErr(applyError(id, err), token, string(kc))
	}
	a.wrote(live, got)
	return nil
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
		s := &spec{namespace: sa.Namespace, serviceAccount: sa.Name, tokenLifetime: life}
		token, err := a.requestToken(ctx, s, ann, func(ann map[string]string) error {
			_, err := p.cs.CoreV1().ServiceAccounts(sa.Namespace).Apply(ctx,
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
