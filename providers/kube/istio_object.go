package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Kinds of the Istio networking objects meshx writes for VMs of the
// istiod era.
const (
	KindWorkloadGroup  = "kube_workload_group"
	KindWorkloadEntry  = "kube_workload_entry"
	KindGateway        = "kube_gateway"
	KindVirtualService = "kube_virtual_service"
)

// The Istio API resources meshx writes, as plural names in object refs.
const (
	resWorkloadGroups  = "workloadgroups"
	resWorkloadEntries = "workloadentries"
	resGateways        = "gateways"
	resVirtualServices = "virtualservices"
)

// istioGroup is the API group of Istio's networking objects.
const istioGroup = "networking.istio.io"

// istioReadVersions are the versions meshx lists and reads Istio objects
// with, in order of preference: v1 from Istio 1.22, v1beta1 before.
var istioReadVersions = []string{"v1", "v1beta1"}

// istioResource is the apiResource of an Istio custom resource, served by
// the dynamic client. A cluster without the CRD (no Istio, or a legacy
// one) has no such objects: listing it is empty.
func istioResource(kind, res string) apiResource {
	client := func(p *Provider, ns string, f func(dynamic.ResourceInterface) error) error {
		var err error
		for _, v := range istioReadVersions {
			err = f(p.client.dynamic.Resource(schema.GroupVersionResource{Group: istioGroup, Version: v, Resource: res}).Namespace(ns))
			if !missingAPI(err) {
				return err
			}
		}
		return err
	}
	return apiResource{
		kind: kind,
		list: func(ctx context.Context, p *Provider, ns string, o metav1.ListOptions) ([]metav1.Object, error) {
			var out []metav1.Object
			err := client(p, ns, func(c dynamic.ResourceInterface) error {
				l, err := c.List(ctx, o)
				if err != nil {
					return err
				}
				for i := range l.Items {
					out = append(out, &l.Items[i])
				}
				return nil
			})
			if missingAPI(err) {
				return nil, nil
			}
			return out, err
		},
		get: func(ctx context.Context, p *Provider, ns, name string) (metav1.Object, error) {
			var obj metav1.Object
			err := client(p, ns, func(c dynamic.ResourceInterface) error {
				u, err := c.Get(ctx, name, metav1.GetOptions{})
				if err == nil {
					obj = u
				}
				return err
			})
			return obj, err
		},
		del: func(ctx context.Context, p *Provider, ns, name string, o metav1.DeleteOptions) error {
			return client(p, ns, func(c dynamic.ResourceInterface) error { return c.Delete(ctx, name, o) })
		},
	}
}

// missingAPI reports whether err says the API version or resource is not
// served (the CRD is missing, or lacks that version): a 404 that names no
// object, where a missing object's 404 names it.
func missingAPI(err error) bool {
	if meta.IsNoMatchError(err) {
		return true
	}
	st, ok := err.(apierrors.APIStatus)
	if !ok || !apierrors.IsNotFound(err) {
		return false
	}
	d := st.Status().Details
	return d == nil || d.Name == ""
}

// istioObject is an instance of one of the Istio kinds: a namespaced object
// of group networking.istio.io with labels and a spec that meshx declares
// whole.
type istioObject struct {
	kindName        string // KindWorkloadGroup…
	apiKind         string // WorkloadGroup…
	apiVersion      string // networking.istio.io/v1…
	res             string // workloadgroups…
	namespace, name string
	labels          map[string]string
	spec            map[string]any
	// selectorOf, when set, is the instance whose selector output, when
	// not empty, replaces spec.selector (a Gateway's).
	selectorOf *plans.Address
}

// WorkloadGroup declares the WorkloadGroup name in namespace at addr:
// spec.metadata.labels (the labels istiod gives WorkloadEntries it
// registers), spec.template (serviceAccount, network, ports) and, unless
// nil, spec.probe (Istio's ReadinessProbe). apiVersion is the profile's
// networking API.
func WorkloadGroup(addr plans.Address, cluster, apiVersion, namespace, name string, labels map[string]string, template, probe map[string]any) providers.Resource {
	spec := map[string]any{
		"metadata": map[string]any{"labels": mapValue(labels)},
		"template": template,
	}
	if probe != nil {
		spec["probe"] = probe
	}
	return istioResourceOf(addr, cluster, &istioObject{kindName: KindWorkloadGroup, apiKind: "WorkloadGroup", apiVersion: apiVersion,
		res: resWorkloadGroups, namespace: namespace, name: name, spec: spec})
}

// WorkloadEntry declares the WorkloadEntry name in namespace at addr with
// spec (address, labels, serviceAccount, network, locality, weight).
func WorkloadEntry(addr plans.Address, cluster, apiVersion, namespace, name string, spec map[string]any) providers.Resource {
	return istioResourceOf(addr, cluster, &istioObject{kindName: KindWorkloadEntry, apiKind: "WorkloadEntry", apiVersion: apiVersion,
		res: resWorkloadEntries, namespace: namespace, name: name, spec: spec})
}

// Gateway declares the Istio Gateway name in namespace at addr with spec
// (selector, servers): istiod-gateway of istiod_exposure = "eastwest".
// With selectorOf set (an EastWestGateway's address, which the Gateway
// then depends on), spec.selector is that Service's selector whenever it
// has one, so the Gateway selects the pods behind the Service whatever
// their labels; spec's own selector is the fallback for a Service without
// one, and what Render(nil) renders.
func Gateway(addr plans.Address, cluster, apiVersion, namespace, name string, spec map[string]any, selectorOf *plans.Address) providers.Resource {
	r := istioResourceOf(addr, cluster, &istioObject{kindName: KindGateway, apiKind: "Gateway", apiVersion: apiVersion,
		res: resGateways, namespace: namespace, name: name, spec: spec, selectorOf: selectorOf})
	if selectorOf != nil {
		r.DependsOn = append(r.DependsOn, *selectorOf)
	}
	return r
}

// VirtualService declares the Istio VirtualService name in namespace at
// addr with spec (hosts, gateways, tls routes): istiod-vs of
// istiod_exposure = "eastwest".
func VirtualService(addr plans.Address, cluster, apiVersion, namespace, name string, spec map[string]any) providers.Resource {
	return istioResourceOf(addr, cluster, &istioObject{kindName: KindVirtualService, apiKind: "VirtualService", apiVersion: apiVersion,
		res: resVirtualServices, namespace: namespace, name: name, spec: spec})
}

func istioResourceOf(addr plans.Address, cluster string, o *istioObject) providers.Resource {
	return providers.Resource{
		Addr:     addr,
		Target:   clusterTarget(cluster),
		Kind:     o.kindName,
		Render:   o.render,
		ForceNew: []string{"namespace", "name"},
		Private:  o,
	}
}

func (o *istioObject) kind() string { return o.kindName }

// specValue is spec in the JSON shape an Object holds (and unstructured
// objects come back in), so desired and live compare.
func specValue(spec map[string]any) (map[string]any, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return wholeNumbers(out).(map[string]any), nil
}

// wholeNumbers turns the float64s encoding/json decodes into int64s where
// they are whole, as unstructured objects from the API server hold them.
func wholeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = wholeNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = wholeNumbers(e)
		}
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	}
	return v
}

func (o *istioObject) render(in providers.Outputs) (plans.Object, error) {
	if err := checkNamespacedName(o.namespace, o.name); err != nil {
		return nil, err
	}
	if err := checkMap("label", o.labels); err != nil {
		return nil, err
	}
	spec, err := specValue(o.spec)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: spec: %w", o.apiKind, o.namespace, o.name, err)
	}
	if o.selectorOf != nil && in != nil {
		sel, _ := in.Output(*o.selectorOf, "selector")
		if plans.IsUnknown(sel) {
			spec["selector"] = plans.Unknown // the Service's, once it has an address
		} else if m, ok := sel.(map[string]any); ok && len(m) > 0 {
			spec["selector"] = m
		}
	}
	return plans.Object{"namespace": o.namespace, "name": o.name, "labels": mapValue(o.labels), "spec": spec}, nil
}

func (o *istioObject) identities() []ref {
	return []ref{{res: o.res, namespace: o.namespace, name: o.name}}
}

func (o *istioObject) observe(_ context.Context, ob *observation, addr plans.Address) (providers.Observed, error) {
	return ob.single(addr, o, o.identities()[0], o.project), nil
}

func (o *istioObject) project(live metav1.Object) plans.Object {
	u := live.(*unstructured.Unstructured)
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	of := meshxFields(u)
	return plans.Object{
		"namespace": u.GetNamespace(),
		"name":      u.GetName(),
		"labels":    projectMap(u.GetLabels(), o.labels, of.mapKeys("f:metadata", "f:labels"), true),
		"spec":      spec,
	}
}

// orphanIstioObject projects an orphan Istio object.
func orphanIstioObject(live metav1.Object) (plans.Object, bool) {
	u, ok := live.(*unstructured.Unstructured)
	if !ok {
		return nil, false
	}
	return (&istioObject{}).project(u), true
}

func (o *istioObject) apply(ctx context.Context, a *applier) (plans.Object, error) {
	id := o.identities()[0]
	live, err := a.claim(ctx, id)
	if err != nil {
		return nil, err
	}
	labels, annotations := a.marks(o)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": o.apiVersion,
		"kind":       o.apiKind,
		"metadata": map[string]any{
			"name": o.name, "namespace": o.namespace,
			"labels": mapValue(merged(o.labels, labels)), "annotations": mapValue(annotations),
		},
		"spec": a.req.Desired["spec"],
	}}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	version := strings.TrimPrefix(o.apiVersion, istioGroup+"/")
	got, err := a.p.client.dynamic.Resource(schema.GroupVersionResource{Group: istioGroup, Version: version, Resource: o.res}).Namespace(o.namespace).
		Patch(ctx, o.name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: FieldManager, Force: ptrTo(a.force())})
	if err != nil {
		return nil, applyError(id, err)
	}
	a.wrote(live, got)
	return nil, nil
}

func ptrTo[T any](v T) *T { return &v }
