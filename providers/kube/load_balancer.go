package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindLoadBalancer is a mesh-expansion ILB: a Service of type
// LoadBalancer.
const KindLoadBalancer = "kube_load_balancer"

// DefaultLoadBalancerWait bounds the wait for a load-balancer address.
const DefaultLoadBalancerWait = 10 * time.Minute

// loadBalancer is a kube_load_balancer instance.
type loadBalancer struct {
	namespace, name       string
	ports                 []Port
	selector, annotations map[string]string
	// selectorOutput adds the live Service's selector to the outputs (an
	// east-west gateway's, for the Gateway that must select its pods).
	selectorOutput bool
}

// LoadBalancerOptions describe an ILB.
type LoadBalancerOptions struct {
	// Namespace and Name name the Service.
	Namespace, Name string
	Ports           []Port
	// Selector picks the pods behind the load balancer (required);
	// Annotations are the internal-LB annotations the planner computed.
	Selector, Annotations map[string]string
	// Wait bounds Apply's wait for an address (0: DefaultLoadBalancerWait).
	Wait time.Duration
}

// LoadBalancer declares a mesh-expansion ILB: a Service of type
// LoadBalancer at cluster.<cluster>.ilb["<key>"]. The planner computes the
// internal-LB annotations and the ports from the Istio profile. Apply
// waits up to o.Wait for status.loadBalancer.ingress[0]. Outputs: address,
// ip, hostname. It depends on the namespace's instance when the planner
// declares one (pass it in DependsOn yourself; the builder does not
// guess).
func LoadBalancer(cluster, key string, o LoadBalancerOptions) providers.Resource {
	wait := o.Wait
	if wait <= 0 {
		wait = DefaultLoadBalancerWait
	}
	lb := &loadBalancer{namespace: o.Namespace, name: o.Name, ports: o.Ports, selector: copyMap(o.Selector), annotations: copyMap(o.Annotations)}
	return providers.Resource{
		Addr:                 plans.Address{Block: "cluster", Name: cluster, Type: "ilb", Key: key},
		Target:               clusterTarget(cluster),
		Kind:                 KindLoadBalancer,
		Render:               lb.render,
		ForceNew:             []string{"namespace", "name"},
		ReadyOutputs:         []string{"address"},
		OutputsSurviveUpdate: true,
		Settings:             providers.Settings{WaitTimeout: wait},
		Private:              lb,
	}
}

// EastWestGateway declares an existing east-west gateway Service (the
// istio-eastwestgateway of samples/multicluster/gen-eastwest-gateway.sh)
// at cluster.<cluster>.eastwest_gateway["<namespace>/<name>"]: meshx reads
// it and never writes or deletes it (ReadOnly; the planner says how to
// make it exist in Reference). Its outputs are LoadBalancer's and, once it
// has an address, selector: the Service's selector (an empty map when it
// has none), which picks the gateway's pods. Apply waits up to wait (0:
// DefaultLoadBalancerWait) for its address.
func EastWestGateway(cluster, namespace, name string, wait time.Duration) providers.Resource {
	r := LoadBalancer(cluster, name, LoadBalancerOptions{Namespace: namespace, Name: name, Wait: wait})
	r.Private.(*loadBalancer).selectorOutput = true
	r.Addr = plans.Address{Block: "cluster", Name: cluster, Type: "eastwest_gateway", Key: namespace + "/" + name}
	r.ReadOnly, r.AwaitReady = true, true
	r.ForceNew = nil
	// Nothing to render but its name: meshx declares none of its fields.
	r.Render = func(providers.Outputs) (plans.Object, error) {
		return plans.Object{"namespace": namespace, "name": name}, checkNamespacedName(namespace, name)
	}
	return r
}

func (lb *loadBalancer) kind() string { return KindLoadBalancer }

func (lb *loadBalancer) render(providers.Outputs) (plans.Object, error) {
	if err := checkNamespacedName(lb.namespace, lb.name); err != nil {
		return nil, err
	}
	ps, err := normalizePorts(lb.ports)
	if err != nil {
		return nil, err
	}
	if len(lb.selector) == 0 {
		return nil, fmt.Errorf("load balancer %s/%s: a selector is required", lb.namespace, lb.name)
	}
	if err := checkMap("selector", lb.selector); err != nil {
		return nil, err
	}
	if err := checkMap("annotation", lb.annotations); err != nil {
		return nil, err
	}
	return plans.Object{
		"namespace":   lb.namespace,
		"name":        lb.name,
		"type":        "LoadBalancer",
		"ports":       portsValue(ps),
		"selector":    mapValue(lb.selector),
		"annotations": mapValue(lb.annotations),
	}, nil
}

func (lb *loadBalancer) identities() []ref {
	return []ref{{res: resServices, namespace: lb.namespace, name: lb.name}}
}

func (lb *loadBalancer) observe(_ context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	id := lb.identities()[0]
	obs := o.single(addr, lb, id, lb.project)
	if m := o.pick(addr, id); m != nil {
		obs.Outputs = lb.outputs(m.(*corev1.Service))
	}
	return obs, nil
}

func (lb *loadBalancer) project(live metav1.Object) plans.Object {
	svc := live.(*corev1.Service)
	of := meshxFields(svc)
	return plans.Object{
		"namespace":   svc.Namespace,
		"name":        svc.Name,
		"type":        string(svc.Spec.Type),
		"ports":       projectServicePorts(svc.Spec.Ports),
		"selector":    mapValue(svc.Spec.Selector),
		"annotations": projectMap(svc.Annotations, lb.annotations, of.mapKeys("f:metadata", "f:annotations"), false),
	}
}

// orphanLoadBalancer projects an orphan ILB with the annotations meshx
// last applied.
func orphanLoadBalancer(live metav1.Object) (plans.Object, bool) {
	if _, ok := live.(*corev1.Service); !ok {
		return nil, false
	}
	return (&loadBalancer{namespace: live.GetNamespace(), name: live.GetName()}).project(live), true
}

func (lb *loadBalancer) apply(ctx context.Context, a *applier) (plans.Object, error) {
	if a.req.Resource.ReadOnly {
		return lb.wait(ctx, a) // another's load balancer: only its address
	}
	spec := corev1ac.ServiceSpec().WithType(corev1.ServiceTypeLoadBalancer).WithSelector(lb.selector)
	got, err := a.applyService(ctx, lb, lb.identities()[0], lb.ports, spec, nil, lb.annotations)
	if err != nil {
		return nil, err
	}
	if out := lb.outputs(got); out != nil {
		return out, nil
	}
	return lb.wait(ctx, a)
}

// wait polls the Service until it has an ingress address.
func (lb *loadBalancer) wait(ctx context.Context, a *applier) (plans.Object, error) {
	timeout := a.req.Resource.Settings.WaitTimeout
	if timeout <= 0 {
		timeout = DefaultLoadBalancerWait
	}
	start := a.p.now()
	what := lb.namespace + "/" + lb.name
	var out plans.Object
	err := a.p.poll(ctx, timeout, func(elapsed time.Duration) (bool, error) {
		svc, err := a.p.client.CoreV1().Services(lb.namespace).Get(ctx, lb.name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("get Service %s: %w", what, err)
		}
		out = lb.outputs(svc)
		return out != nil, nil
	}, func(elapsed time.Duration) {
		a.progress(fmt.Sprintf("waiting for a load-balancer address for Service %s (%s elapsed)", what, elapsed.Round(time.Second)))
	})
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("Service %s has no load-balancer address after %s: is a load-balancer controller (cloud controller manager, MetalLB…) running for cluster %q? Check with: kubectl -n %s describe svc %s",
			what, a.p.now().Sub(start).Round(time.Second), a.p.name, lb.namespace, lb.name)
	}
	return out, err
}

// outputs are svc's loadBalancerOutputs, with its selector when lb
// exports it; nil while svc has no address.
func (lb *loadBalancer) outputs(svc *corev1.Service) plans.Object {
	out := loadBalancerOutputs(svc)
	if out != nil && lb.selectorOutput {
		out["selector"] = mapValue(svc.Spec.Selector)
	}
	return out
}

// loadBalancerOutputs returns address, ip and hostname from the first
// ingress point, or nil while there is none.
func loadBalancerOutputs(svc *corev1.Service) plans.Object {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP == "" && in.Hostname == "" {
			continue
		}
		addr := in.IP
		if addr == "" {
			addr = in.Hostname
		}
		return plans.Object{"address": addr, "ip": in.IP, "hostname": in.Hostname}
	}
	return nil
}
