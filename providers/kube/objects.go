package kube

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
)

// managedResources are listed for orphans, in deletion order (what is
// inside a namespace before it, a binding before its role and account).
var managedResources = []string{
	resClusterRoleBindings, resClusterRoles, resEndpoints, resServices, resSecrets, resServiceAccounts, resNamespaces,
}

func clusterScoped(res string) bool {
	return res == resNamespaces || res == resClusterRoles || res == resClusterRoleBindings
}

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
	kind := map[string]string{
		resNamespaces: "Namespace", resServices: "Service", resEndpoints: "Endpoints", resSecrets: "Secret",
		resServiceAccounts: "ServiceAccount", resClusterRoles: "ClusterRole", resClusterRoleBindings: "ClusterRoleBinding",
	}[r.res]
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
	opts := metav1.ListOptions{LabelSelector: selector}
	var out []metav1.Object
	switch res {
	case resNamespaces:
		l, err := p.cs.CoreV1().Namespaces().List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case resServices:
		l, err := p.cs.CoreV1().Services(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case resEndpoints:
		l, err := p.cs.CoreV1().Endpoints(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case resSecrets:
		l, err := p.cs.CoreV1().Secrets(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case resServiceAccounts:
		l, err := p.cs.CoreV1().ServiceAccounts(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case resClusterRoles:
		l, err := p.cs.RbacV1().ClusterRoles().List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case resClusterRoleBindings:
		l, err := p.cs.RbacV1().ClusterRoleBindings().List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("list %s: not a resource meshx manages", res)
	}
	return out, nil
}

// get returns the object r, or nil when it does not exist.
func (p *Provider) get(ctx context.Context, r ref) (metav1.Object, error) {
	var (
		obj metav1.Object
		err error
	)
	o := metav1.GetOptions{}
	switch r.res {
	case resNamespaces:
		obj, err = p.cs.CoreV1().Namespaces().Get(ctx, r.name, o)
	case resServices:
		obj, err = p.cs.CoreV1().Services(r.namespace).Get(ctx, r.name, o)
	case resEndpoints:
		obj, err = p.cs.CoreV1().Endpoints(r.namespace).Get(ctx, r.name, o)
	case resSecrets:
		obj, err = p.cs.CoreV1().Secrets(r.namespace).Get(ctx, r.name, o)
	case resServiceAccounts:
		obj, err = p.cs.CoreV1().ServiceAccounts(r.namespace).Get(ctx, r.name, o)
	case resClusterRoles:
		obj, err = p.cs.RbacV1().ClusterRoles().Get(ctx, r.name, o)
	case resClusterRoleBindings:
		obj, err = p.cs.RbacV1().ClusterRoleBindings().Get(ctx, r.name, o)
	default:
		return nil, fmt.Errorf("get %s: not a resource meshx manages", r)
	}
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
	o := metav1.DeleteOptions{}
	if uid != "" {
		u := types.UID(uid)
		o.Preconditions = &metav1.Preconditions{UID: &u}
	}
	var err error
	switch r.res {
	case resNamespaces:
		err = p.cs.CoreV1().Namespaces().Delete(ctx, r.name, o)
	case resServices:
		err = p.cs.CoreV1().Services(r.namespace).Delete(ctx, r.name, o)
	case resEndpoints:
		err = p.cs.CoreV1().Endpoints(r.namespace).Delete(ctx, r.name, o)
	case resSecrets:
		err = p.cs.CoreV1().Secrets(r.namespace).Delete(ctx, r.name, o)
	case resServiceAccounts:
		err = p.cs.CoreV1().ServiceAccounts(r.namespace).Delete(ctx, r.name, o)
	case resClusterRoles:
		err = p.cs.RbacV1().ClusterRoles().Delete(ctx, r.name, o)
	case resClusterRoleBindings:
		err = p.cs.RbacV1().ClusterRoleBindings().Delete(ctx, r.name, o)
	default:
		return fmt.Errorf("delete %s: not a resource meshx manages", r)
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
