package kube

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// instance is one instance of a kind this package handles: what the kind's
// builder attaches to Resource.Private. It holds the identity and desired
// fields of the objects behind the instance, and renders, observes and
// applies itself; the Provider supplies the shared machinery (ownership
// marks, server-side apply, waits, orphans). Each kind is one type in a
// file of its own (namespace.go, service.go, …).
type instance interface {
	// kind is the Resource.Kind of the instance: "kube_service".
	kind() string
	// render returns the desired Object (Resource.Render), given the
	// outputs of the instance's DependsOn.
	render(in providers.Outputs) (plans.Object, error)
	// identities are the objects the instance is made of, by name. Observe
	// looks up those not found among the environment's owned objects, and
	// an owned object named here is never an orphan.
	identities() []ref
	// observe builds the instance's Observed from what the observation
	// found (o.pick, o.single) at addr.
	observe(ctx context.Context, o *observation, addr plans.Address) (providers.Observed, error)
	// apply creates or updates the instance, or, for a read-only kind,
	// waits for it; it returns the instance's outputs.
	apply(ctx context.Context, a *applier) (plans.Object, error)
}

// driftViewer is implemented by kinds with attributes that change with
// time rather than by anyone's hand (a token nearing expiry): driftView
// drops them from the Object, so they never count as drift.
type driftViewer interface {
	driftView(plans.Object) plans.Object
}

// orphanProjections are the kinds meshx writes, by Resource.Kind, each
// with how to project the first live object of an orphan (the Before of
// its delete): the projection with the configuration meshx last applied
// standing in for the gone desired state, false when the object is not
// the kind's main object (then the orphan is a plain list of objects). An
// owned object whose meshx.dev/kind is not here is deleted as a bare
// kube_object. A new kind meshx writes adds its line here.
var orphanProjections = map[string]func(live metav1.Object) (plans.Object, bool){
	KindNamespace:      orphanAs[*corev1.Namespace](projectNamespace),
	KindLoadBalancer:   orphanLoadBalancer,
	KindService:        orphanService,
	KindEndpoints:      orphanAs[*corev1.Endpoints]((&endpoints{}).project), // with the labels meshx last applied
	KindReader:         orphanReader,
	KindRemoteSecret:   orphanRemoteSecret,
	KindInventory:      orphanAs[*corev1.ConfigMap](projectInventory),
	KindWorkloadGroup:  orphanIstioObject,
	KindWorkloadEntry:  orphanIstioObject,
	KindGateway:        orphanIstioObject,
	KindVirtualService: orphanIstioObject,
	KindServiceAccount: orphanAs[*corev1.ServiceAccount](projectServiceAccount),
}

// orphanAs is an orphan projection by project of a live object that is
// a T, the kind's main object, and of no other.
func orphanAs[T metav1.Object](project func(live metav1.Object) plans.Object) func(metav1.Object) (plans.Object, bool) {
	return func(live metav1.Object) (plans.Object, bool) {
		if _, ok := live.(T); !ok {
			return nil, false
		}
		return project(live), true
	}
}

// instanceOf returns the instance a builder of this package attached to r.
func instanceOf(r *providers.Resource) (instance, error) {
	in, ok := r.Private.(instance)
	if !ok || in == nil || in.kind() != r.Kind {
		return nil, fmt.Errorf("%s: kind %q was not built by package kube", r.Addr, r.Kind)
	}
	return in, nil
}

func clusterTarget(cluster string) string { return "cluster." + cluster }

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}
