package kube

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Apply carries out one change. Creates and updates are server-side
// applies with field manager "meshx" of objects this environment owns
// (or Settings.Adopt): as the plan saw them, asserted by the write itself
// for Services and Endpoints (fromPlan), else as a read just before
// shows them (claim); deletes remove only objects that still carry this
// environment's labels.
func (p *Provider) Apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	addr := req.Change.Addr
	a := &applier{p: p, req: req, addr: addr, progress: req.Progress}
	if a.progress == nil {
		a.progress = func(string) {}
	}
	out, err := a.run(ctx)
	err = p.explain(err)
	if err != nil && !strings.HasPrefix(err.Error(), addr.String()) {
		err = fmt.Errorf("%s: %w", addr, err)
	}
	return providers.ApplyResponse{Outputs: out, Changed: a.changed, Err: err}
}

// applier is the state of one Apply call, and the machinery every kind's
// apply uses: claiming an object, ownership marks, server-side apply
// options, recording whether anything changed.
type applier struct {
	p        *Provider
	req      providers.ApplyRequest
	addr     plans.Address
	progress func(string)
	changed  bool
}

func (a *applier) env() string { return a.req.Environment }

func (a *applier) run(ctx context.Context) (plans.Object, error) {
	if err := checkEnvironment(a.env()); err != nil {
		return nil, err
	}
	switch a.req.Change.Action {
	case plans.Delete:
		return nil, a.deleteObserved(ctx)
	case plans.Replace:
		if err := a.deleteObserved(ctx); err != nil {
			return nil, err
		}
	}
	r := a.req.Resource
	if r == nil {
		return nil, fmt.Errorf("%s of an instance without its resource", a.req.Change.Action)
	}
	in, err := instanceOf(r)
	if err != nil {
		return nil, err
	}
	if a.req.Change.Action == plans.NoOp && !r.ReadOnly {
		return a.req.Observed.Outputs, nil
	}
	if a.req.Desired == nil && !r.ReadOnly {
		return nil, fmt.Errorf("no desired state to apply")
	}
	return in.apply(ctx, a)
}

// marks are the labels and annotations for an object of this instance.
func (a *applier) marks(in instance) (map[string]string, map[string]string) {
	return marks(a.env(), a.addr, in.kind(), appliedDigest(in, a.req.Desired))
}

// claim fetches id and checks this environment may write it.
func (a *applier) claim(ctx context.Context, id ref) (metav1.Object, error) {
	live, err := a.p.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id.human(), err)
	}
	if live != nil && !ownedBy(live, a.env()) && !a.req.Resource.Settings.Adopt {
		return nil, notOwned(id, a.env(), ownerOf(live, a.env()))
	}
	return live, nil
}

func notOwned(id ref, env, owner string) error {
	return fmt.Errorf("%s exists and is not managed by meshx environment %q (owner: %s); meshx does not modify it unless adopt is set",
		id.human(), env, owner)
}

// observed is what the plan saw of the object an apply writes, when that
// settles whether this environment may write it (fromPlan): the object,
// by uid and resourceVersion, or its absence.
type observed struct {
	absent               bool
	uid, resourceVersion string
}

// absentVersion is a resourceVersion no object has: the largest the API
// server parses (it reads them as uint64, and etcd's revisions are
// int64). The API server ignores the resourceVersion of an apply that
// creates the object, so asserting this one means "only if it does not
// exist": an object of that name made since the plan fails the write
// with a conflict instead of being written over.
const absentVersion = "18446744073709551615"

// fromPlan settles from the plan's observation, without a request,
// whether this environment may write id, as claim does from the live
// object; the write then asserts what the plan saw (assert), so that it
// is one request where claim and apply were two, and an object changed,
// replaced, deleted or made since the plan fails it (stale) instead of
// being taken over. ok is false when the observation does not settle it
// (a replace deletes the object first; the plan saw another object than
// id), and the caller claims instead.
func (a *applier) fromPlan(id ref) (o observed, ok bool, err error) {
	obs := a.req.Observed
	switch {
	case a.req.Change.Action != plans.Create && a.req.Change.Action != plans.Update:
		return o, false, nil
	case !obs.Exists:
		return observed{absent: true}, true, nil
	}
	refs, err := splitRefs(obs.Details["objects"])
	if err != nil || len(refs) != 1 || refs[0] != id || obs.Details["uid"] == "" || obs.Details["resourceVersion"] == "" {
		return o, false, nil
	}
	if !obs.Owned && !a.req.Resource.Settings.Adopt {
		return o, false, notOwned(id, a.env(), obs.Owner)
	}
	return observed{uid: obs.Details["uid"], resourceVersion: obs.Details["resourceVersion"]}, true, nil
}

// assert makes an apply configuration's metadata m assert o: the
// observed uid and resourceVersion, or absentVersion. The API server
// refuses the write when they no longer hold: 409 Conflict on the
// resourceVersion or on the uid of a deleted object, 422 on the uid of a
// replaced one.
func (o observed) assert(m *metav1ac.ObjectMetaApplyConfiguration) {
	if o.absent {
		m.WithResourceVersion(absentVersion)
		return
	}
	m.WithUID(types.UID(o.uid)).WithResourceVersion(o.resourceVersion)
}

// unassert takes assert's preconditions off m again.
func unassert(m *metav1ac.ObjectMetaApplyConfiguration) {
	m.UID, m.ResourceVersion = nil, nil
}

// applyAsPlanned writes an object in one request when the plan's
// observation settles it (fromPlan) and enough is true: apply sends the
// apply configuration whose metadata is m, asserting what the plan saw.
// done is false when the caller must claim the object and write it the
// usual way: the observation did not settle it, or the object changed
// since the plan (stale); m then asserts nothing again.
func applyAsPlanned[T metav1.Object](a *applier, id ref, enough bool, m *metav1ac.ObjectMetaApplyConfiguration, apply func() (T, error)) (got T, done bool, err error) {
	o, ok, err := a.fromPlan(id)
	if err != nil || !ok || !enough {
		return got, err != nil, err
	}
	o.assert(m)
	got, err = apply()
	switch {
	case err == nil:
		if o.absent || got.GetResourceVersion() != o.resourceVersion {
			a.changed = true
		}
		return got, true, nil
	case stale(err):
		unassert(m)
		return got, false, nil
	}
	return got, true, applyError(id, err)
}

// stale says whether err is the API server refusing a write whose
// preconditions (assert) no longer hold.
func stale(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return false
	}
	s := st.Status()
	switch {
	case s.Reason == metav1.StatusReasonConflict:
		// Conflicts with other field managers list them; a stale
		// resourceVersion or a deleted uid lists none.
		if s.Details == nil {
			return true
		}
		for _, c := range s.Details.Causes {
			if c.Type == metav1.CauseTypeFieldManagerConflict {
				return false
			}
		}
		return true
	case s.Reason == metav1.StatusReasonInvalid && s.Details != nil:
		for _, c := range s.Details.Causes {
			if c.Field == "metadata.uid" {
				return true
			}
		}
	}
	return false
}

// wrote records whether a write changed the object.
func (a *applier) wrote(before, after metav1.Object) {
	if before == nil || after == nil || before.GetResourceVersion() != after.GetResourceVersion() {
		a.changed = true
	}
}

func (a *applier) opts() metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: FieldManager, Force: a.force()}
}

// force says whether conflicts with other field managers are overridden:
// when asked (-force-conflicts), or when the change repairs drift on an
// object this environment owns. The plan showed that drift and its repair,
// and approving the plan is asking for the repair; fields meshx never
// applied on a drift-free object still conflict.
func (a *applier) force() bool {
	if a.req.Change.Drift && a.req.Observed.Owned {
		return true
	}
	return a.req.Resource != nil && a.req.Resource.Settings.ForceConflicts
}

// deleteObserved deletes the objects planning saw behind the instance,
// each only if it is still this environment's.
func (a *applier) deleteObserved(ctx context.Context) error {
	refs, err := splitRefs(a.req.Observed.Details["objects"])
	if err != nil {
		return err
	}
	if a.req.Resource != nil && a.req.Resource.ReadOnly {
		return nil
	}
	for _, r := range refs {
		live, err := a.p.get(ctx, r)
		if err != nil {
			return fmt.Errorf("get %s: %w", r.human(), err)
		}
		if live == nil {
			continue
		}
		if !ownedBy(live, a.env()) {
			if a.req.Change.Action == plans.Replace {
				continue // adopted-by-replace never happens to others' objects
			}
			return fmt.Errorf("not deleting %s: it is no longer managed by meshx environment %q (owner: %s)", r.human(), a.env(), ownerOf(live, a.env()))
		}
		if r.res == resNamespaces {
			if err := a.p.checkNamespaceDeletable(ctx, r.name, a.env()); err != nil {
				return err
			}
		}
		if err := a.p.del(ctx, r, string(live.GetUID())); err != nil {
			return fmt.Errorf("delete %s: %w", r.human(), err)
		}
		a.changed = true
		if r.res == resNamespaces {
			// Deletion of a namespace only starts here; wait for it to end
			// so a following apply can create it again.
			if err := a.waitGone(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// publishedEverywhere are the ConfigMaps controllers put into every
// namespace: kube-controller-manager's root CA bundle, and istiod's mesh
// root certificate and, from Istio 1.2x, its certificate revocation list
// (istio-ca-crl). They go with the namespace and are no reason to keep it.
var publishedEverywhere = map[string]bool{"kube-root-ca.crt": true, "istio-ca-root-cert": true, "istio-ca-crl": true}

// checkNamespaceDeletable refuses to delete a namespace meshx created
// while it holds workloads or configuration meshx does not own.
func (p *Provider) checkNamespaceDeletable(ctx context.Context, ns, env string) error {
	var foreign []string
	for _, res := range []string{"pods", resServices, "configmaps", "persistentvolumeclaims"} {
		var objs []metav1.Object
		switch res {
		case "pods":
			l, err := p.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list pods in namespace %s: %w", ns, err)
			}
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case resServices:
			l, err := p.client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list services in namespace %s: %w", ns, err)
			}
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case "configmaps":
			l, err := p.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list config maps in namespace %s: %w", ns, err)
			}
			for i := range l.Items {
				if publishedEverywhere[l.Items[i].Name] {
					continue
				}
				objs = append(objs, &l.Items[i])
			}
		case "persistentvolumeclaims":
			l, err := p.client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list persistent volume claims in namespace %s: %w", ns, err)
			}
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		}
		for _, m := range objs {
			if !ownedBy(m, env) {
				foreign = append(foreign, res+"/"+m.GetName())
			}
		}
	}
	if len(foreign) == 0 {
		return nil
	}
	sort.Strings(foreign)
	more := ""
	if len(foreign) > 5 {
		more = fmt.Sprintf(" and %d more", len(foreign)-5)
		foreign = foreign[:5]
	}
	return fmt.Errorf("not deleting Namespace %s, which meshx created: it holds objects meshx does not manage (%s%s). Move or delete them first, or keep the namespace by removing its %s label",
		ns, strings.Join(foreign, ", "), more, LabelManagedBy)
}

// conflictRE reads the manager out of a FieldManagerConflict cause:
// `conflict with "kubectl-edit" using v1`.
var conflictRE = regexp.MustCompile(`conflict with "([^"]*)"`)

// applyError explains a failed server-side apply; a conflict names every
// other manager and the fields it owns.
func applyError(id ref, err error) error {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Reason == metav1.StatusReasonConflict && st.Status().Details != nil {
		byManager := map[string][]string{}
		for _, c := range st.Status().Details.Causes {
			if c.Type != metav1.CauseTypeFieldManagerConflict {
				continue
			}
			m := "unknown manager"
			if x := conflictRE.FindStringSubmatch(c.Message); x != nil {
				m = x[1]
			}
			byManager[m] = append(byManager[m], c.Field)
		}
		if len(byManager) > 0 {
			managers := make([]string, 0, len(byManager))
			for m := range byManager {
				managers = append(managers, m)
			}
			sort.Strings(managers)
			var parts []string
			for _, m := range managers {
				fields := byManager[m]
				sort.Strings(fields)
				parts = append(parts, fmt.Sprintf("field manager %q owns %s", m, strings.Join(fields, ", ")))
			}
			return fmt.Errorf("apply %s: conflicts with other field managers: %s. Set force_conflicts to take these fields over, or change the configuration to match their values",
				id.human(), strings.Join(parts, "; "))
		}
	}
	return fmt.Errorf("apply %s: %w", id.human(), err)
}
