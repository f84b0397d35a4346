package kube

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// listThreshold is how many objects of one resource in one namespace make
// Observe list the namespace instead of getting them one by one.
const listThreshold = 3

// observation is the state of one Observe call.
type observation struct {
	p   *Provider
	env string
	// owned holds this environment's objects by resource.
	owned map[string][]metav1.Object
	// byAddr indexes them by their address annotation, then resource.
	byAddr map[string]map[string][]metav1.Object
	// identity holds objects looked up by name (nil: absent).
	identity map[ref]metav1.Object
	// claimed are identities that belong to requested instances; an owned
	// object there is never an orphan, even if it carries an old address.
	claimed map[ref]bool
}

// Observe reads every requested instance and this environment's orphans
// with one list per managed resource, plus a list per namespace (or a few
// gets) for instances not found among the owned objects.
func (p *Provider) Observe(ctx context.Context, req providers.ObserveRequest) (resp providers.ObserveResponse) {
	defer func() { resp.Err = p.explain(resp.Err) }()
	resp = providers.ObserveResponse{Objects: map[plans.Address]providers.Observed{}}
	if err := checkEnvironment(req.Environment); err != nil {
		resp.Err = fmt.Errorf("%s: %w", p.target(), err)
		return resp
	}
	specs := make([]*spec, len(req.Resources))
	for i := range req.Resources {
		s, err := specOf(&req.Resources[i])
		if err != nil {
			resp.Err = err
			return resp
		}
		specs[i] = s
	}
	o := &observation{p: p, env: req.Environment, identity: map[ref]metav1.Object{}, claimed: map[ref]bool{}}
	if err := o.listOwned(ctx); err != nil {
		resp.Err = err
		return resp
	}
	var need []ref
	for i, r := range req.Resources {
		for _, id := range identities(specs[i]) {
			o.claimed[id] = true
			if o.pickOwned(r.Addr, id) == nil {
				need = append(need, id)
			}
		}
	}
	if err := o.lookup(ctx, need); err != nil {
		resp.Err = err
		return resp
	}
	requested := map[string]bool{}
	for i, r := range req.Resources {
		requested[r.Addr.String()] = true
		obs, err := o.observe(ctx, &req.Resources[i], specs[i])
		if err != nil {
			resp.Err = err
			return resp
		}
		obs.Addr, obs.Kind = r.Addr, r.Kind
		resp.Objects[r.Addr] = obs
	}
	resp.Orphans = o.orphans(requested)
	return resp
}

func (o *observation) listOwned(ctx context.Context) error {
	sel := fmt.Sprintf("%s=%s,%s=%s", LabelManagedBy, ManagedByValue, LabelEnvironment, o.env)
	o.owned = map[string][]metav1.Object{}
	o.byAddr = map[string]map[string][]metav1.Object{}
	for _, res := range managedResources {
		objs, err := o.p.list(ctx, res, "", sel)
		if err != nil {
			return fmt.Errorf("%s: list %s owned by environment %q: %w", o.p.target(), res, o.env, err)
		}
		o.owned[res] = objs
		for _, m := range objs {
			a := m.GetAnnotations()[AnnotationAddress]
			if o.byAddr[a] == nil {
				o.byAddr[a] = map[string][]metav1.Object{}
			}
			o.byAddr[a][res] = append(o.byAddr[a][res], m)
		}
	}
	return nil
}

// identities are the objects an instance is made of, by name.
func identities(s *spec) []ref {
	switch s.kind {
	case KindNamespace:
		return []ref{{res: resNamespaces, name: s.name}}
	case KindLoadBalancer, KindService:
		return []ref{{res: resServices, namespace: s.namespace, name: s.name}}
	case KindEndpoints:
		return []ref{{res: resEndpoints, namespace: s.namespace, name: s.name}}
	case KindReader:
		ids := []ref{
			{res: resServiceAccounts, namespace: s.namespace, name: s.serviceAccount},
			{res: resClusterRoles, name: ReaderClusterRole},
			{res: resClusterRoleBindings, name: s.serviceAccount},
		}
		if s.tokenLifetime == 0 {
			ids = append(ids, ref{res: resSecrets, namespace: s.namespace, name: tokenSecretName(s.serviceAccount)})
		}
		return ids
	case KindRemoteSecret:
		return []ref{{res: resSecrets, namespace: s.namespace, name: s.clusterID}}
	case KindIstioSecret:
		return []ref{{res: resSecrets, namespace: s.namespace, name: s.name}}
	}
	return nil
}

// pickOwned returns the owned object of id's resource at addr, preferring
// one named as id (another name means the configuration renamed it).
func (o *observation) pickOwned(addr plans.Address, id ref) metav1.Object {
	cands := o.byAddr[addr.String()][id.res]
	for _, m := range cands {
		if refOf(id.res, m) == id {
			return m
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return nil
}

// pick returns the object behind id for the instance at addr, or nil.
func (o *observation) pick(addr plans.Address, id ref) metav1.Object {
	if m := o.pickOwned(addr, id); m != nil {
		return m
	}
	return o.identity[id]
}

// lookup fetches objects by name: a list per namespace where several are
// wanted, else gets. Secrets are always fetched one by one, so meshx never
// reads other secrets.
func (o *observation) lookup(ctx context.Context, ids []ref) error {
	groups := map[[2]string][]ref{}
	for _, id := range ids {
		k := [2]string{id.res, id.namespace}
		groups[k] = append(groups[k], id)
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
	for _, k := range keys {
		g := groups[k]
		if len(g) >= listThreshold && k[0] != resSecrets {
			objs, err := o.p.list(ctx, k[0], k[1], "")
			if err != nil {
				return fmt.Errorf("%s: list %s in namespace %q: %w", o.p.target(), k[0], k[1], err)
			}
			for _, id := range g {
				o.identity[id] = nil
			}
			for _, m := range objs {
				if id := refOf(k[0], m); o.claimed[id] {
					o.identity[id] = m
				}
			}
			continue
		}
		for _, id := range g {
			m, err := o.p.get(ctx, id)
			if err != nil {
				return fmt.Errorf("%s: get %s: %w", o.p.target(), id.human(), err)
			}
			o.identity[id] = m
		}
	}
	return nil
}

// single builds the Observed of an instance made of one object.
func (o *observation) single(addr plans.Address, kind string, res string, m metav1.Object, project func(metav1.Object) plans.Object) providers.Observed {
	if m == nil || m.GetDeletionTimestamp() != nil {
		// Gone, or going: a terminating namespace takes nothing new, so
		// plan it as missing; Apply waits for it to finish first.
		return providers.Observed{}
	}
	obs := providers.Observed{
		Exists:  true,
		Owned:   ownedBy(m, o.env),
		Object:  project(m),
		Details: details(m, []ref{refOf(res, m)}),
	}
	if obs.Owned {
		obs.Drift = drifted(m, kind, obs.Object)
	} else {
		obs.Owner = ownerOf(m, o.env)
	}
	return obs
}

func details(m metav1.Object, refs []ref) map[string]string {
	return map[string]string{
		"resourceVersion": m.GetResourceVersion(),
		"uid":             string(m.GetUID()),
		"objects":         joinRefs(refs),
	}
}

func (o *observation) observe(ctx context.Context, r *providers.Resource, s *spec) (providers.Observed, error) {
	ids := identities(s)
	switch s.kind {
	case KindNamespace:
		return o.single(r.Addr, s.kind, resNamespaces, o.pick(r.Addr, ids[0]), func(m metav1.Object) plans.Object {
			return projectNamespace(m.(*corev1.Namespace))
		}), nil
	case KindLoadBalancer:
		m := o.pick(r.Addr, ids[0])
		obs := o.single(r.Addr, s.kind, resServices, m, func(m metav1.Object) plans.Object {
			return projectLoadBalancer(m.(*corev1.Service), s)
		})
		if m != nil {
			obs.Outputs = loadBalancerOutputs(m.(*corev1.Service))
		}
		return obs, nil
	case KindService:
		return o.single(r.Addr, s.kind, resServices, o.pick(r.Addr, ids[0]), func(m metav1.Object) plans.Object {
			return projectService(m.(*corev1.Service), s)
		}), nil
	case KindEndpoints:
		return o.single(r.Addr, s.kind, resEndpoints, o.pick(r.Addr, ids[0]), func(m metav1.Object) plans.Object {
			return projectEndpoints(m.(*corev1.Endpoints), s)
		}), nil
	case KindRemoteSecret:
		return o.single(r.Addr, s.kind, resSecrets, o.pick(r.Addr, ids[0]), func(m metav1.Object) plans.Object {
			return projectRemoteSecret(m.(*corev1.Secret), s)
		}), nil
	case KindIstioSecret:
		m := o.identity[ids[0]]
		if m == nil {
			return providers.Observed{}, nil
		}
		sec := m.(*corev1.Secret)
		return providers.Observed{
			Exists:  true,
			Owned:   true, // read-only: nothing to own
			Object:  plans.Object{"namespace": sec.Namespace, "name": sec.Name},
			Outputs: istioSecretOutputs(sec),
			Details: details(sec, nil),
		}, nil
	case KindClusterInfo:
		out, err := o.p.clusterInfo(ctx)
		if err != nil {
			return providers.Observed{}, err
		}
		return providers.Observed{Exists: true, Owned: true, Object: out, Outputs: out}, nil
	case KindReader:
		return o.observeReader(ctx, r.Addr, s)
	}
	return providers.Observed{}, fmt.Errorf("%s: unknown kind %q", r.Addr, s.kind)
}

// readerParts finds the reader's objects for s at addr.
func (o *observation) readerParts(addr plans.Address, s *spec) readerParts {
	var parts readerParts
	for _, id := range identities(s) {
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
	} else if s.tokenLifetime == 0 {
		if m := o.identity[ref{res: resSecrets, namespace: s.namespace, name: tokenSecretName(s.serviceAccount)}]; m != nil {
			parts.secret = m.(*corev1.Secret)
		}
	}
	return parts
}

func (p readerParts) objects() []struct {
	res string
	m   metav1.Object
} {
	var out []struct {
		res string
		m   metav1.Object
	}
	add := func(res string, m metav1.Object) {
		out = append(out, struct {
			res string
			m   metav1.Object
		}{res, m})
	}
	// Deletion order: binding, role, token secret, account.
	if p.binding != nil {
		add(resClusterRoleBindings, p.binding)
	}
	if p.role != nil {
		add(resClusterRoles, p.role)
	}
	if p.secret != nil {
		add(resSecrets, p.secret)
	}
	if p.sa != nil {
		add(resServiceAccounts, p.sa)
	}
	return out
}

func (o *observation) observeReader(ctx context.Context, addr plans.Address, s *spec) (providers.Observed, error) {
	parts := o.readerParts(addr, s)
	objs := parts.objects()
	if len(objs) == 0 {
		return providers.Observed{}, nil
	}
	obs := providers.Observed{Exists: true, Owned: true, Object: projectReader(parts, s, o.p.now())}
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
		obs.Drift = drifted(parts.sa, KindReader, obs.Object)
	}
	outs, err := o.p.readerOutputs(ctx, s, parts, obs.Object)
	if err != nil {
		return providers.Observed{}, err
	}
	obs.Outputs = outs
	return obs, nil
}

// readerOutputs are the reader's outputs as they stand: the token only
// when it is the one the configuration wants and it is ready.
func (p *Provider) readerOutputs(ctx context.Context, s *spec, parts readerParts, projection plans.Object) (plans.Object, error) {
	out := plans.Object{"server": p.server}
	t := readerToken(parts, p.now())
	ca, err := p.readerCA(ctx, s.namespace, t.caCert)
	if err != nil {
		return nil, err
	}
	if ca != nil {
		out["ca"] = string(ca)
	}
	want, _ := renderReader(s)
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
	if len(p.ca) > 0 {
		return p.ca, nil
	}
	if len(fromSecret) > 0 {
		return fromSecret, nil
	}
	cm, err := p.cs.CoreV1().ConfigMaps(namespace).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		return nil, nil
	}
	if v := cm.Data["ca.crt"]; v != "" {
		return []byte(v), nil
	}
	return nil, nil
}

// orphans groups the owned objects of no requested instance by address.
func (o *observation) orphans(requested map[string]bool) []providers.Observed {
	type group struct {
		kind string
		objs []struct {
			res string
			m   metav1.Object
		}
	}
	groups := map[string]*group{}
	var order []string
	for _, res := range managedResources {
		for _, m := range o.owned[res] {
			id := refOf(res, m)
			a := m.GetAnnotations()[AnnotationAddress]
			if o.claimed[id] || (a != "" && requested[a]) {
				continue
			}
			if !meshxFields(m).found {
				// Carries the labels but meshx never wrote it: a controller
				// copied them (the endpoints controller copies a Service's
				// labels to its Endpoints). Not meshx's to delete.
				continue
			}
			kind := m.GetAnnotations()[AnnotationKind]
			if _, err := plans.ParseAddress(a); err != nil || !knownKind(kind) {
				// Labelled by hand or by another version: delete it as a
				// bare object under an address of its own.
				a = plans.Address{Block: "cluster", Name: o.p.name, Type: "object", Key: id.String()}.String()
				kind = "kube_object"
			}
			g := groups[a]
			if g == nil {
				g = &group{kind: kind}
				groups[a] = g
				order = append(order, a)
			}
			g.objs = append(g.objs, struct {
				res string
				m   metav1.Object
			}{res, m})
		}
	}
	sort.Strings(order)
	var out []providers.Observed
	for _, a := range order {
		g := groups[a]
		addr, _ := plans.ParseAddress(a)
		var refs []ref
		for _, x := range g.objs {
			refs = append(refs, refOf(x.res, x.m))
		}
		obs := providers.Observed{
			Addr:    addr,
			Kind:    g.kind,
			Exists:  true,
			Owned:   true,
			Object:  o.orphanObject(g.kind, g.objs[0].res, g.objs[0].m, refs),
			Details: details(g.objs[len(g.objs)-1].m, refs),
		}
		out = append(out, obs)
	}
	return out
}

func knownKind(k string) bool {
	switch k {
	case KindNamespace, KindLoadBalancer, KindService, KindEndpoints, KindReader, KindRemoteSecret:
		return true
	}
	return false
}

// orphanObject is the Before of an orphan's delete: the projection with
// the configuration meshx last applied standing in for the (gone) desired
// state, or a plain list of the objects.
func (o *observation) orphanObject(kind, res string, m metav1.Object, refs []ref) plans.Object {
	switch v := m.(type) {
	case *corev1.Namespace:
		if kind == KindNamespace {
			return projectNamespace(v)
		}
	case *corev1.Service:
		s := &spec{namespace: v.Namespace, name: v.Name}
		if kind == KindLoadBalancer {
			return projectLoadBalancer(v, s)
		}
		if kind == KindService {
			return projectService(v, s)
		}
	case *corev1.Endpoints:
		if kind == KindEndpoints {
			return projectEndpoints(v, &spec{})
		}
	case *corev1.Secret:
		if kind == KindRemoteSecret {
			return projectRemoteSecret(v, &spec{clusterID: v.Name})
		}
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.String()
	}
	sort.Strings(names)
	return plans.Object{"objects": stringsValue(names)}
}
