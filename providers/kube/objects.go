package kube

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// The API resources meshx writes, as the plural names used in object refs.
const (
	resNamespaces          = "namespaces"
	resServices            = "services"
	resEndpoints           = "endpoints"
	resSecrets             = "secrets"
	resServiceAccounts     = "serviceaccounts"
	resClusterRoles        = "clusterroles"
	resClusterRoleBindings = "clusterrolebindings"
	resConfigMaps          = "configmaps"
)

// managedResources are listed for orphans, in deletion order (what is
// inside a namespace before it, a binding before its role and account).
var managedResources = []string{
	resClusterRoleBindings, resClusterRoles, resVirtualServices, resGateways, resWorkloadEntries, resWorkloadGroups, resEndpoints, resServices, resSecrets, resServiceAccounts, resConfigMaps, resNamespaces,
}

// apiResource is one API resource meshx reads and writes, with the calls
// that list, get and delete its objects. The typed ones go through
// client-go's typed clients; an Istio custom resource would go through the
// dynamic client, whose *unstructured.Unstructured is a metav1.Object too.
type apiResource struct {
	// kind names an object in errors: "Service".
	kind          string
	clusterScoped bool
	list          func(ctx context.Context, p *Provider, namespace string, o metav1.ListOptions) ([]metav1.Object, error)
	get           func(ctx context.Context, p *Provider, namespace, name string) (metav1.Object, error)
	del           func(ctx context.Context, p *Provider, namespace, name string, o metav1.DeleteOptions) error
}

// apiResources are the API resources of managedResources, by plural name.
var apiResources = map[string]apiResource{
	resNamespaces: typed("Namespace", true, func(p *Provider, _ string) typedClient[*corev1.Namespace, *corev1.NamespaceList] {
		return p.client.CoreV1().Namespaces()
	}),
	resServices: typed("Service", false, func(p *Provider, ns string) typedClient[*corev1.Service, *corev1.ServiceList] {
		return p.client.CoreV1().Services(ns)
	}),
	resEndpoints: typed("Endpoints", false, func(p *Provider, ns string) typedClient[*corev1.Endpoints, *corev1.EndpointsList] {
		return p.client.CoreV1().Endpoints(ns)
	}),
	resSecrets: typed("Secret", false, func(p *Provider, ns string) typedClient[*corev1.Secret, *corev1.SecretList] {
		return p.client.CoreV1().Secrets(ns)
	}),
	resServiceAccounts: typed("ServiceAccount", false, func(p *Provider, ns string) typedClient[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
		return p.client.CoreV1().ServiceAccounts(ns)
	}),
	resClusterRoles: typed("ClusterRole", true, func(p *Provider, _ string) typedClient[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList] {
		return p.client.RbacV1().ClusterRoles()
	}),
	resConfigMaps: typed("ConfigMap", false, func(p *Provider, ns string) typedClient[*corev1.ConfigMap, *corev1.ConfigMapList] {
		return p.client.CoreV1().ConfigMaps(ns)
	}),
	resClusterRoleBindings: typed("ClusterRoleBinding", true, func(p *Provider, _ string) typedClient[*rbacv1.ClusterRoleBinding, *rbacv1.ClusterRoleBindingList] {
		return p.client.RbacV1().ClusterRoleBindings()
	}),
	resWorkloadGroups:  istioResource("WorkloadGroup", resWorkloadGroups),
	resWorkloadEntries: istioResource("WorkloadEntry", resWorkloadEntries),
	resGateways:        istioResource("Gateway", resGateways),
	resVirtualServices: istioResource("VirtualService", resVirtualServices),
}

// typedClient is the part of a client-go typed client (ServiceInterface…)
// that observation and deletion use.
type typedClient[T metav1.Object, L runtime.Object] interface {
	List(ctx context.Context, o metav1.ListOptions) (L, error)
	Get(ctx context.Context, name string, o metav1.GetOptions) (T, error)
	Delete(ctx context.Context, name string, o metav1.DeleteOptions) error
}

// typed is the apiResource served by the typed client that client returns
// for a namespace ("" for all, or for a cluster-scoped resource).
func typed[T metav1.Object, L runtime.Object](kind string, clusterScoped bool, client func(p *Provider, namespace string) typedClient[T, L]) apiResource {
	return apiResource{
		kind:          kind,
		clusterScoped: clusterScoped,
		list: func(ctx context.Context, p *Provider, ns string, o metav1.ListOptions) ([]metav1.Object, error) {
			l, err := client(p, ns).List(ctx, o)
			if err != nil {
				return nil, err
			}
			items, err := meta.ExtractList(l)
			if err != nil {
				return nil, err
			}
			out := make([]metav1.Object, 0, len(items))
			for _, it := range items {
				m, ok := it.(metav1.Object)
				if !ok {
					return nil, fmt.Errorf("list %s: item %T has no object metadata", kind, it)
				}
				out = append(out, m)
			}
			return out, nil
		},
		get: func(ctx context.Context, p *Provider, ns, name string) (metav1.Object, error) {
			obj, err := client(p, ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return obj, nil
		},
		del: func(ctx context.Context, p *Provider, ns, name string, o metav1.DeleteOptions) error {
			return client(p, ns).Delete(ctx, name, o)
		},
	}
}

func clusterScoped(res string) bool { return apiResources[res].clusterScoped }

// ref names one object: "services/istio-system/istio-pilot-ilb" or
// "clusterroles/istio-reader".
type ref struct{ res, namespace, name string }

func (r ref) String() string {
	if clusterScoped(r.res) {
		return r.res + "/" + r.name
	}
	return r.res + "/" + r.namespace + "/" + r.name
}

// human is how errors name the object: "Service istio-system/x".
func (r ref) human() string {
	kind := apiResources[r.res].kind
	if clusterScoped(r.res) {
		return kind + " " + r.name
	}
	return kind + " " + r.namespace + "/" + r.name
}

func parseRef(s string) (ref, error) {
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 2 && clusterScoped(parts[0]):
		return ref{res: parts[0], name: parts[1]}, nil
	case len(parts) == 3 && !clusterScoped(parts[0]):
		return ref{res: parts[0], namespace: parts[1], name: parts[2]}, nil
	}
	return ref{}, fmt.Errorf("bad object reference %q", s)
}

func refOf(res string, m metav1.Object) ref {
	return ref{res: res, namespace: m.GetNamespace(), name: m.GetName()}
}

func joinRefs(rs []ref) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

func splitRefs(s string) ([]ref, error) {
	if s == "" {
		return nil, nil
	}
	var out []ref
	for _, p := range strings.Split(s, ",") {
		r, err := parseRef(p)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// list returns the objects of res in namespace ns ("" for all) matching
// the label selector.
func (p *Provider) list(ctx context.Context, res, ns, selector string) ([]metav1.Object, error) {
	api, ok := apiResources[res]
	if !ok {
		return nil, fmt.Errorf("list %s: not a resource meshx manages", res)
	}
	return api.list(ctx, p, ns, metav1.ListOptions{LabelSelector: selector})
}

// get returns the object r, or nil when it does not exist.
func (p *Provider) get(ctx context.Context, r ref) (metav1.Object, error) {
	api, ok := apiResources[r.res]
	if !ok {
		return nil, fmt.Errorf("get %s: not a resource meshx manages", r)
	}
	obj, err := api.get(ctx, p, r.namespace, r.name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// del deletes r if it still is the object uid.
func (p *Provider) del(ctx context.Context, r ref, uid string) error {
	api, ok := apiResources[r.res]
	if !ok {
		return fmt.Errorf("delete %s: not a resource meshx manages", r)
	}
	o := metav1.DeleteOptions{}
	if uid != "" {
		u := types.UID(uid)
		o.Preconditions = &metav1.Preconditions{UID: &u}
	}
	err := api.del(ctx, p, r.namespace, r.name, o)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
