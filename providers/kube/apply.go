package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Apply carries out one change. Creates and updates are server-side
// applies with field manager "meshx" after checking, on the live object,
// that this environment owns it (or Settings.Adopt); deletes remove only
// objects that still carry this environment's labels.
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
	if a.req.Resource == nil {
		return nil, fmt.Errorf("%s of an instance without its resource", a.req.Change.Action)
	}
	s, err := specOf(a.req.Resource)
	if err != nil {
		return nil, err
	}
	if a.req.Change.Action == plans.NoOp && !ReadOnly(s.kind) {
		return a.req.Observed.Outputs, nil
	}
	if a.req.Desired == nil && !ReadOnly(s.kind) {
		return nil, fmt.Errorf("no desired state to apply")
	}
	switch s.kind {
	case KindNamespace:
		return nil, a.applyNamespace(ctx, s)
	case KindLoadBalancer:
		return a.applyLoadBalancer(ctx, s)
	case KindService:
		return nil, a.applyService(ctx, s)
	case KindEndpoints:
		return nil, a.applyEndpoints(ctx, s)
	case KindReader:
		return a.applyReader(ctx, s)
	case KindRemoteSecret:
		return nil, a.applyRemoteSecret(ctx, s)
	case KindIstioSecret:
		return a.waitIstioSecret(ctx, s)
	case KindClusterInfo:
		return a.p.clusterInfo(ctx)
	}
	return nil, fmt.Errorf("unknown kind %q", s.kind)
}

// marks are the labels and annotations for an object of this instance.
func (a *applier) marks(kind string) (map[string]string, map[string]string) {
	return marks(a.env(), a.addr, kind, appliedDigest(kind, a.req.Desired))
}

// claim fetches id and checks this environment may write it.
func (a *applier) claim(ctx context.Context, id ref) (metav1.Object, error) {
	live, err := a.p.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id.human(), err)
	}
	if live != nil && !ownedBy(live, a.env()) && !a.req.Resource.Settings.Adopt {
		return nil, fmt.Errorf("%s exists and is not managed by meshx environment %q (owner: %s); meshx does not modify it unless adopt is set",
			id.human(), a.env(), ownerOf(live, a.env()))
	}
	return live, nil
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

func (a *applier) applyNamespace(ctx context.Context, s *spec) error {
	id := ref{res: resNamespaces, name: s.name}
	live, err := a.p.get(ctx, id)
	if err != nil {
		return fmt.Errorf("get %s: %w", id.human(), err)
	}
	if live != nil && live.GetDeletionTimestamp() != nil {
		if err := a.waitGone(ctx, id); err != nil {
			return err
		}
		live = nil
	}
	if live != nil && !ownedBy(live, a.env()) && !a.req.Resource.Settings.Adopt {
		// An existing namespace is used as it is (Resource.UseExisting).
		return nil
	}
	labels, annotations := a.marks(KindNamespace)
	got, err := a.p.cs.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(s.name).WithLabels(labels).WithAnnotations(annotations), a.opts())
	if err != nil {
		return applyError(id, err)
	}
	a.wrote(live, got)
	return nil
}

func serviceApply(s *spec, lb bool, labels, annotations map[string]string) (*corev1ac.ServiceApplyConfiguration, error) {
	ps, err := normalizePorts(s.ports)
	if err != nil {
		return nil, err
	}
	sp := corev1ac.ServiceSpec()
	for _, p := range ps {
		port := corev1ac.ServicePort().WithPort(p.Port).WithProtocol(corev1.Protocol(p.Protocol))
		if p.Name != "" {
			port.WithName(p.Name)
		}
		sp.WithPorts(port)
	}
	if lb {
		sp.WithType(corev1.ServiceTypeLoadBalancer).WithSelector(s.selector)
	}
	return corev1ac.Service(s.name, s.namespace).WithLabels(labels).WithAnnotations(annotations).WithSpec(sp), nil
}

// dropForeignPorts deals with live ports the configuration does not
// declare and that another field manager owns (kubectl edit renumbered a
// port): server-side apply cannot remove them, so without force_conflicts
// this fails naming them; with it they are removed by a JSON patch guarded
// by the resourceVersion, before meshx applies its own.
func (a *applier) dropForeignPorts(ctx context.Context, id ref, live metav1.Object, desired []Port) error {
	svc, ok := live.(*corev1.Service)
	if !ok {
		return nil
	}
	want := desiredPortKeys(desired)
	have := map[portKey]bool{}
	var idx []int
	var desc []string
	for i, p := range svc.Spec.Ports {
		k := portKey{p.Port, protocolOf(p.Protocol)}
		have[k] = true
		if want[k] {
			continue
		}
		managers := portManagers(svc, k)
		if len(managers) == 0 {
			continue // meshx's alone: the apply removes it
		}
		idx = append(idx, i)
		desc = append(desc, fmt.Sprintf("%d/%s %q (field manager %s)", p.Port, k.protocol, p.Name, strings.Join(managers, ", ")))
	}
	if len(idx) == 0 {
		return nil
	}
	if !a.force() {
		return fmt.Errorf("%s has ports the configuration does not declare, owned by other field managers: %s. Run apply with -force-conflicts to remove them, or remove them by hand",
			id.human(), strings.Join(desc, "; "))
	}
	ops := []map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": svc.ResourceVersion}}
	for i := len(idx) - 1; i >= 0; i-- {
		ops = append(ops, map[string]any{"op": "remove", "path": fmt.Sprintf("/spec/ports/%d", idx[i])})
	}
	// Add the declared ports now too: a Service needs at least one, and a
	// renumbered port's name is free only once the old entry is gone.
	ps, err := normalizePorts(desired)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if !have[portKey{p.Port, p.Protocol}] {
			port := map[string]any{"port": p.Port, "protocol": p.Protocol}
			if p.Name != "" {
				port["name"] = p.Name
			}
			ops = append(ops, map[string]any{"op": "add", "path": "/spec/ports/-", "value": port})
		}
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	if _, err := a.p.cs.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("remove ports %s from %s: %w", strings.Join(desc, "; "), id.human(), err)
	}
	a.changed = true
	return nil
}

// portManagers names the managers other than meshx that own the port k.
func portManagers(svc *corev1.Service, k portKey) []string {
	var out []string
	for _, f := range svc.ManagedFields {
		if f.Manager == FieldManager || f.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if json.Unmarshal(f.FieldsV1.Raw, &set) != nil {
			continue
		}
		if (ownedFields{found: true, root: set}).portKeys("f:spec", "f:ports")[k] {
			out = append(out, fmt.Sprintf("%q", f.Manager))
		}
	}
	sort.Strings(out)
	return out
}

func (a *applier) applyLoadBalancer(ctx context.Context, s *spec) (plans.Object, error) {
	id := ref{res: resServices, namespace: s.namespace, name: s.name}
	live, err := a.claim(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := a.dropForeignPorts(ctx, id, live, s.ports); err != nil {
		return nil, err
	}
	labels, annotations := a.marks(KindLoadBalancer)
	cfg, err := serviceApply(s, true, labels, merged(s.annotations, annotations))
	if err != nil {
		return nil, err
	}
	got, err := a.p.cs.CoreV1().Services(s.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return nil, applyError(id, err)
	}
	a.wrote(live, got)
	if out := loadBalancerOutputs(got); out != nil {
		return out, nil
	}
	return a.waitLoadBalancer(ctx, s)
}

// waitLoadBalancer polls the Service until it has an ingress address.
func (a *applier) waitLoadBalancer(ctx context.Context, s *spec) (plans.Object, error) {
	timeout := a.req.Resource.Settings.WaitTimeout
	if timeout <= 0 {
		timeout = DefaultLoadBalancerWait
	}
	start := a.p.now()
	what := s.namespace + "/" + s.name
	var out plans.Object
	err := a.p.poll(ctx, timeout, func(elapsed time.Duration) (bool, error) {
		svc, err := a.p.cs.CoreV1().Services(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("get Service %s: %w", what, err)
		}
		out = loadBalancerOutputs(svc)
		return out != nil, nil
	}, func(elapsed time.Duration) {
		a.progress(fmt.Sprintf("waiting for a load-balancer address for Service %s (%s elapsed)", what, elapsed.Round(time.Second)))
	})
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("Service %s has no load-balancer address after %s: is a load-balancer controller (cloud controller manager, MetalLB…) running for cluster %q? Check with: kubectl -n %s describe svc %s",
			what, a.p.now().Sub(start).Round(time.Second), a.p.name, s.namespace, s.name)
	}
	return out, err
}

var errTimeout = errors.New("timed out")

// poll calls check every pollInterval until it reports done, fails, or
// timeout passes (errTimeout); progress is called every progressEvery.
func (p *Provider) poll(ctx context.Context, timeout time.Duration, check func(time.Duration) (bool, error), progress func(time.Duration)) error {
	start := p.now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(p.pollInterval)
	defer tick.Stop()
	report := time.NewTicker(p.progressEvery)
	defer report.Stop()
	for {
		done, err := check(p.now().Sub(start))
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errTimeout
		case <-report.C:
			progress(p.now().Sub(start))
		case <-tick.C:
		}
	}
}

func (a *applier) applyService(ctx context.Context, s *spec) error {
	id := ref{res: resServices, namespace: s.namespace, name: s.name}
	live, err := a.claim(ctx, id)
	if err != nil {
		return err
	}
	if err := a.dropForeignPorts(ctx, id, live, s.ports); err != nil {
		return err
	}
	labels, annotations := a.marks(KindService)
	cfg, err := serviceApply(s, false, merged(s.labels, labels), merged(s.annotations, annotations))
	if err != nil {
		return err
	}
	got, err := a.p.cs.CoreV1().Services(s.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return applyError(id, err)
	}
	a.wrote(live, got)
	return nil
}

func (a *applier) applyEndpoints(ctx context.Context, s *spec) error {
	id := ref{res: resEndpoints, namespace: s.namespace, name: s.name}
	live, err := a.claim(ctx, id)
	if err != nil {
		return err
	}
	ps, err := normalizePorts(s.ports)
	if err != nil {
		return err
	}
	ips, err := normalizeIPs(s.ips)
	if err != nil {
		return err
	}
	labels, annotations := a.marks(KindEndpoints)
	cfg := corev1ac.Endpoints(s.name, s.namespace).WithLabels(merged(s.labels, labels)).WithAnnotations(annotations)
	if len(ips) > 0 {
		sub := corev1ac.EndpointSubset()
		for _, ip := range ips {
			sub.WithAddresses(corev1ac.EndpointAddress().WithIP(ip))
		}
		for _, p := range ps {
			port := corev1ac.EndpointPort().WithPort(p.Port).WithProtocol(corev1.Protocol(p.Protocol))
			if p.Name != "" {
				port.WithName(p.Name)
			}
			sub.WithPorts(port)
		}
		cfg.WithSubsets(sub)
	}
	got, err := a.p.cs.CoreV1().Endpoints(s.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return applyError(id, err)
	}
	a.wrote(live, got)
	return nil
}

func (a *applier) waitIstioSecret(ctx context.Context, s *spec) (plans.Object, error) {
	timeout := DefaultIstioSecretWait
	if a.req.Resource.Settings.WaitTimeout > 0 {
		timeout = a.req.Resource.Settings.WaitTimeout
	}
	what := s.namespace + "/" + s.name
	var out plans.Object
	err := a.p.poll(ctx, timeout, func(time.Duration) (bool, error) {
		sec, err := a.p.cs.CoreV1().Secrets(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("get Secret %s: %w", what, err)
		}
		out = istioSecretOutputs(sec)
		return true, nil
	}, func(elapsed time.Duration) {
		a.progress(fmt.Sprintf("waiting for Citadel to create Secret %s (%s elapsed)", what, elapsed.Round(time.Second)))
	})
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("Secret %s does not exist after %s: is Citadel (istio-citadel) running, and does service account %q exist in namespace %q? Check with: kubectl -n %s get secret %s",
			what, timeout, s.serviceAccount, s.namespace, s.namespace, s.name)
	}
	return out, err
}

// deleteObserved deletes the objects planning saw behind the instance,
// each only if it is still this environment's.
func (a *applier) deleteObserved(ctx context.Context) error {
	refs, err := splitRefs(a.req.Observed.Details["objects"])
	if err != nil {
		return err
	}
	if a.req.Resource != nil {
		if s, err := specOf(a.req.Resource); err == nil && ReadOnly(s.kind) {
			return nil
		}
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

// namespaceTermination bounds the wait for a namespace to be deleted.
const namespaceTermination = 3 * time.Minute

// waitGone waits for a terminating object to disappear.
func (a *applier) waitGone(ctx context.Context, r ref) error {
	deadline := time.Now().Add(namespaceTermination)
	for {
		live, err := a.p.get(ctx, r)
		if err != nil {
			return fmt.Errorf("get %s: %w", r.human(), err)
		}
		if live == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is still terminating after %s; check what holds it with kubectl get %s %s -o yaml (finalizers, remaining objects)",
				r.human(), namespaceTermination, r.res, r.name)
		}
		if a.req.Progress != nil {
			a.req.Progress("waiting for " + r.human() + " to finish terminating")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
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
			l, err := p.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list pods in namespace %s: %w", ns, err)
			}
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case resServices:
			l, err := p.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list services in namespace %s: %w", ns, err)
			}
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case "configmaps":
			l, err := p.cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
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
			l, err := p.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
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
