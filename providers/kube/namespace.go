package kube

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindNamespace is a namespace meshx creates when missing and otherwise
// uses as it is.
const KindNamespace = "kube_namespace"

// namespace is a kube_namespace instance.
type namespace struct{ name string }

// Namespace declares namespace name on cluster, at
// cluster.<cluster>.namespace["<name>"]. meshx creates it (labelled) when
// missing and uses an existing one without taking it over
// (Resource.UseExisting).
func Namespace(cluster, name string) providers.Resource {
	n := &namespace{name: name}
	return providers.Resource{
		Addr:        NamespaceAddress(cluster, name),
		Target:      clusterTarget(cluster),
		Kind:        KindNamespace,
		Render:      n.render,
		UseExisting: true,
		Private:     n,
	}
}

// NamespaceAddress is the address Namespace gives a namespace.
func NamespaceAddress(cluster, name string) plans.Address {
	return plans.Address{Block: "cluster", Name: cluster, Type: "namespace", Key: name}
}

func (n *namespace) kind() string { return KindNamespace }

func (n *namespace) render(providers.Outputs) (plans.Object, error) {
	if errs := validation.IsDNS1123Label(n.name); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", n.name, strings.Join(errs, "; "))
	}
	return plans.Object{"name": n.name}, nil
}

func (n *namespace) identities() []ref { return []ref{{res: resNamespaces, name: n.name}} }

func (n *namespace) observe(_ context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	return o.single(addr, n, n.identities()[0], projectNamespace), nil
}

func projectNamespace(live metav1.Object) plans.Object { return plans.Object{"name": live.GetName()} }

func (n *namespace) apply(ctx context.Context, a *applier) (plans.Object, error) {
	id := n.identities()[0]
	live, err := a.p.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id.human(), err)
	}
	if live != nil && live.GetDeletionTimestamp() != nil {
		if err := a.waitGone(ctx, id); err != nil {
			return nil, err
		}
		live = nil
	}
	if live != nil && !ownedBy(live, a.env()) && !a.req.Resource.Settings.Adopt {
		// An existing namespace is used as it is (Resource.UseExisting).
		return nil, nil
	}
	labels, annotations := a.marks(n)
	got, err := a.p.client.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(n.name).WithLabels(labels).WithAnnotations(annotations), a.opts())
	if err != nil {
		return nil, applyError(id, err)
	}
	a.wrote(live, got)
	return nil, nil
}
