package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindService is a selector-less Service for services running on VMs.
const KindService = "kube_service"

// ServiceAccountsAnnotation lists the service accounts a VM service runs
// as; istioctl register always set it. The planner passes it in Service's
// annotations.
const ServiceAccountsAnnotation = "alpha.istio.io/kubernetes-serviceaccounts"

// service is a kube_service instance.
type service struct {
	namespace, name     string
	ports               []Port
	labels, annotations map[string]string
	// selector is nil for a selector-less Service (Service), set for one
	// that selects WorkloadEntries (SelectorService).
	selector map[string]string
}

// Service declares a selector-less Service for services running on VMs
// (what istioctl register created), at addr chosen by the planner. Put
// ServiceAccountsAnnotation in annotations.
func Service(addr plans.Address, cluster, namespace, name string, ports []Port, labels, annotations map[string]string) providers.Resource {
	s := &service{namespace: namespace, name: name, ports: ports, labels: copyMap(labels), annotations: copyMap(annotations)}
	return providers.Resource{
		Addr:     addr,
		Target:   clusterTarget(cluster),
		Kind:     KindService,
		Render:   s.render,
		ForceNew: []string{"namespace", "name"},
		Private:  s,
	}
}

// SelectorService declares a Service whose selector matches the labels of
// VM workloads, for the istiod era: istiod selects WorkloadEntries (and
// pods) by a Service's selector, so no Endpoints object is written. Its
// Object has a selector attribute besides Service's.
func SelectorService(addr plans.Address, cluster, namespace, name string, ports []Port, selector, labels, annotations map[string]string) providers.Resource {
	r := Service(addr, cluster, namespace, name, ports, labels, annotations)
	r.Private.(*service).selector = copyMap(selector)
	return r
}

func (s *service) kind() string { return KindService }

func (s *service) render(providers.Outputs) (plans.Object, error) {
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
	o := plans.Object{
		"namespace":   s.namespace,
		"name":        s.name,
		"ports":       portsValue(ps),
		"labels":      mapValue(s.labels),
		"annotations": mapValue(s.annotations),
	}
	if s.selector != nil {
		if err := checkMap("label", s.selector); err != nil {
			return nil, fmt.Errorf("selector: %w", err)
		}
		o["selector"] = mapValue(s.selector)
	}
	return o, nil
}

func (s *service) identities() []ref {
	return []ref{{res: resServices, namespace: s.namespace, name: s.name}}
}

func (s *service) observe(_ context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	return o.single(addr, s, s.identities()[0], s.project), nil
}

func (s *service) project(live metav1.Object) plans.Object {
	svc := live.(*corev1.Service)
	of := meshxFields(svc)
	o := plans.Object{
		"namespace":   svc.Namespace,
		"name":        svc.Name,
		"ports":       projectServicePorts(svc.Spec.Ports),
		"labels":      projectMap(svc.Labels, s.labels, of.mapKeys("f:metadata", "f:labels"), true),
		"annotations": projectMap(svc.Annotations, s.annotations, of.mapKeys("f:metadata", "f:annotations"), false),
	}
	if s.selector != nil || len(svc.Spec.Selector) > 0 {
		o["selector"] = mapValue(svc.Spec.Selector)
	}
	return o
}

// orphanService projects an orphan Service with the labels and
// annotations meshx last applied.
func orphanService(live metav1.Object) (plans.Object, bool) {
	if _, ok := live.(*corev1.Service); !ok {
		return nil, false
	}
	return (&service{namespace: live.GetNamespace(), name: live.GetName()}).project(live), true
}

func (s *service) apply(ctx context.Context, a *applier) (plans.Object, error) {
	spec := corev1ac.ServiceSpec()
	if s.selector != nil {
		spec.WithSelector(s.selector)
	}
	_, err := a.applyService(ctx, s, s.identities()[0], s.ports, spec, s.labels, s.annotations)
	return nil, err
}

// applyService server-side applies the Service id of instance in: ports
// added to spec (which holds a load balancer's type and selector), and
// labels and annotations besides meshx's marks. When the plan's
// observation settles ownership and the Service has no port the
// configuration leaves out, that is one request (applyObserved);
// otherwise, or when the Service changed since the plan, it claims the
// Service first and drops the ports other managers own
// (dropForeignPorts).
func (a *applier) applyService(ctx context.Context, in instance, id ref, ports []Port, spec *corev1ac.ServiceSpecApplyConfiguration, labels, annotations map[string]string) (*corev1.Service, error) {
	ps, err := normalizePorts(ports)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		port := corev1ac.ServicePort().WithPort(p.Port).WithProtocol(corev1.Protocol(p.Protocol))
		if p.Name != "" {
			port.WithName(p.Name)
		}
		spec.WithPorts(port)
	}
	marksL, marksA := a.marks(in)
	cfg := corev1ac.Service(id.name, id.namespace).WithLabels(merged(labels, marksL)).WithAnnotations(merged(annotations, marksA)).WithSpec(spec)
	if got, done, err := applyAsPlanned(a, id, !a.observedUndeclaredPorts(ports), cfg.ObjectMetaApplyConfiguration, func() (*corev1.Service, error) {
		return a.p.client.CoreV1().Services(id.namespace).Apply(ctx, cfg, a.opts())
	}); done {
		return got, err
	}
	live, err := a.claim(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := a.dropForeignPorts(ctx, id, live, ports); err != nil {
		return nil, err
	}
	got, err := a.p.client.CoreV1().Services(id.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return nil, applyError(id, err)
	}
	a.wrote(live, got)
	return got, nil
}

// observedUndeclaredPorts says whether the plan saw a port on the Service
// that the configuration does not declare (or could not tell): removing
// it may need dropForeignPorts, which reads the live Service.
func (a *applier) observedUndeclaredPorts(desired []Port) bool {
	if !a.req.Observed.Exists {
		return false
	}
	seen, ok := a.req.Observed.Object["ports"].([]any)
	if !ok {
		return true
	}
	want := desiredPortKeys(desired)
	for _, v := range seen {
		p, _ := v.(map[string]any)
		port, _ := p["port"].(int64)
		protocol, _ := p["protocol"].(string)
		if !want[portKey{int32(port), protocol}] {
			return true
		}
	}
	return false
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
	if _, err := a.p.client.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
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
