package kube

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"

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
	// multiCluster caches, by namespace, the cluster IDs of the remote
	// secrets istiod reads there (multiClusterIDs).
	multiCluster map[string][]remoteSecretIDs
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
	ins := make([]instance, len(req.Resources))
	for i := range req.Resources {
		in, err := instanceOf(&req.Resources[i])
		if err != nil {
			resp.Err = err
			return resp
		}
		ins[i] = in
	}
	o := &observation{p: p, env: req.Environment, identity: map[ref]metav1.Object{}, claimed: map[ref]bool{}}
	if err := o.listOwned(ctx); err != nil {
		resp.Err = err
		return resp
	}
	var need []ref
	for i, r := range req.Resources {
		for _, id := range ins[i].identities() {
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
		obs, err := ins[i].observe(ctx, o, r.Addr)
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

// listOwned lists this environment's objects of every managed resource.
// The lists go out at once: one after the other, they were most of a
// no-op plan's time (ten round trips, the Services' and Endpoints' of a
// few hundred objects the longest).
func (o *observation) listOwned(ctx context.Context) error {
	sel := fmt.Sprintf("%s=%s,%s=%s", LabelManagedBy, ManagedByValue, LabelEnvironment, o.env)
	lists := make([][]metav1.Object, len(managedResources))
	errs := make([]error, len(managedResources))
	var wg sync.WaitGroup
	for i, res := range managedResources {
		wg.Go(func() { lists[i], errs[i] = o.p.list(ctx, res, "", sel) })
	}
	wg.Wait()
	o.owned = map[string][]metav1.Object{}
	o.byAddr = map[string]map[string][]metav1.Object{}
	for i, res := range managedResources {
		objs, err := lists[i], errs[i]
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
// reads other secrets. The groups (resource and namespace) are fetched at
// once, at most lookupParallelism at a time, as listOwned does.
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
	found := make([]map[ref]metav1.Object, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, lookupParallelism)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			found[i], errs[i] = o.lookupGroup(ctx, k[0], k[1], groups[k])
		})
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			return errs[i]
		}
		maps.Copy(o.identity, found[i])
	}
	return nil
}

// lookupParallelism bounds the concurrent requests of lookup.
const lookupParallelism = 16

// lookupGroup fetches the objects ids of resource res in namespace ns;
// an absent one maps to nil.
func (o *observation) lookupGroup(ctx context.Context, res, ns string, ids []ref) (map[ref]metav1.Object, error) {
	out := make(map[ref]metav1.Object, len(ids))
	if len(ids) >= listThreshold && res != resSecrets {
		objs, err := o.p.list(ctx, res, ns, "")
		if err != nil {
			return nil, fmt.Errorf("%s: list %s in namespace %q: %w", o.p.target(), res, ns, err)
		}
		for _, id := range ids {
			out[id] = nil
		}
		for _, m := range objs {
			if id := refOf(res, m); o.claimed[id] {
				out[id] = m
			}
		}
		return out, nil
	}
	for _, id := range ids {
		m, err := o.p.get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("%s: get %s: %w", o.p.target(), id.human(), err)
		}
		out[id] = m
	}
	return out, nil
}

// liveObject is a live object and the API resource it is of.
type liveObject struct {
	res string
	m   metav1.Object
}

// single builds the Observed of instance in made of one object, the one
// behind id at addr; project turns it into the instance's Object.
func (o *observation) single(addr plans.Address, in instance, id ref, project func(metav1.Object) plans.Object) providers.Observed {
	m := o.pick(addr, id)
	if m == nil || m.GetDeletionTimestamp() != nil {
		// Gone, or going: a terminating namespace takes nothing new, so
		// plan it as missing; Apply waits for it to finish first.
		return providers.Observed{}
	}
	obs := providers.Observed{
		Exists:  true,
		Owned:   ownedBy(m, o.env),
		Object:  project(m),
		Details: details(m, []ref{refOf(id.res, m)}),
	}
	if obs.Owned {
		obs.Drift = drifted(m, in, obs.Object)
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

// orphans groups the owned objects of no requested instance by address.
func (o *observation) orphans(requested map[string]bool) []providers.Observed {
	type group struct {
		kind string
		objs []liveObject
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
			if _, err := plans.ParseAddress(a); err != nil || orphanProjections[kind] == nil {
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
			g.objs = append(g.objs, liveObject{res, m})
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
			Object:  orphanObject(g.kind, g.objs[0].m, refs),
			Details: details(g.objs[len(g.objs)-1].m, refs),
		}
		out = append(out, obs)
	}
	return out
}

// orphanObject is the Before of an orphan's delete: its kind's projection
// of m (orphanProjections), or a plain list of the objects.
func orphanObject(kind string, m metav1.Object, refs []ref) plans.Object {
	if project := orphanProjections[kind]; project != nil {
		if o, ok := project(m); ok {
			return o
		}
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.String()
	}
	sort.Strings(names)
	return plans.Object{"objects": stringsValue(names)}
}
