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

// KindServiceAccount is a service account VMs run as: created when
// missing, otherwise used as it is.
const KindServiceAccount = "kube_service_account"

// serviceAccount is a kube_service_account instance.
type serviceAccount struct{ namespace, name string }

// ServiceAccount declares service account name in namespace on cluster at
// cluster.<cluster>.service_account["<ns>/<name>"], the identity of VMs
// whose tokens meshx requests. meshx creates it (labelled) when missing and
// uses an existing one without taking it over (Resource.UseExisting). It
// depends on the namespace's instance, which the planner must declare.
func ServiceAccount(cluster, namespace, name string) providers.Resource {
	s := &serviceAccount{namespace: namespace, name: name}
	return providers.Resource{
		Addr:        ServiceAccountAddress(cluster, namespace, name),
		Target:      clusterTarget(cluster),
		Kind:        KindServiceAccount,
		DependsOn:   []plans.Address{NamespaceAddress(cluster, namespace)},
		Render:      s.render,
		ForceNew:    []string{"namespace", "name"},
		UseExisting: true,
		Private:     s,
	}
}

// ServiceAccountAddress is the address ServiceAccount gives an account.
func ServiceAccountAddress(cluster, namespace, name string) plans.Address {
	return plans.Address{Block: "cluster", Name: cluster, Type: "service_account", Key: namespace + "/" + name}
}

func (s *serviceAccount) kind() string { return KindServiceAccount }

func (s *serviceAccount) render(providers.Outputs) (plans.Object, error) {
	if errs := validation.IsDNS1123Label(s.namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", s.namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(s.name); len(errs) > 0 {
		return nil, fmt.Errorf("service account %q: %s", s.name, strings.Join(errs, "; "))
	}
	return plans.Object{"namespace": s.namespace, "name": s.name}, nil
}

func (s *serviceAccount) identities() []ref {
	return []ref{{res: resServiceAccounts, namespace: s.namespace, name: s.name}}
}

func (s *serviceAccount) observe(_ context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	return o.single(addr, s, s.identities()[0], projectServiceAccount), nil
}

func projectServiceAccount(live metav1.Object) plans.Object {
	return plans.Object{"namespace": live.GetNamespace(), "name": live.GetName()}
}

func (s *serviceAccount) apply(ctx context.Context, a *applier) (plans.Object, error) {
	id := s.identities()[0]
	live, err := a.p.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id.human(), err)
	}
	if live != nil && !ownedBy(live, a.env()) && !a.req.Resource.Settings.Adopt {
		// An existing account is used as it is (Resource.UseExisting).
		return nil, nil
	}
	labels, annotations := a.marks(s)
	got, err := a.p.client.CoreV1().ServiceAccounts(s.namespace).Apply(ctx,
		corev1ac.ServiceAccount(s.name, s.namespace).WithLabels(labels).WithAnnotations(annotations), a.opts())
	if err != nil {
		return nil, applyError(id, err)
	}
	a.wrote(live, got)
	return nil, nil
}
