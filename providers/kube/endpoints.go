package kube

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindEndpoints is the Endpoints object of a selector-less Service.
const KindEndpoints = "kube_endpoints"

// endpoints is a kube_endpoints instance.
type endpoints struct {
	namespace, name string
	ports           []Port
	labels          map[string]string
	ips             []string
}

// Endpoints declares the Endpoints object of a selector-less Service: one
// subset whose addresses are ips (the VMs' mesh IPs, deduplicated and
// sorted) with every port. Make it depend on the Service instance.
func Endpoints(addr plans.Address, cluster, namespace, name string, ips []string, ports []Port, labels map[string]string) providers.Resource {
	e := &endpoints{namespace: namespace, name: name, ports: ports, labels: copyMap(labels), ips: append([]string(nil), ips...)}
	return providers.Resource{
		Addr:     addr,
		Target:   clusterTarget(cluster),
		Kind:     KindEndpoints,
		Render:   e.render,
		ForceNew: []string{"namespace", "name"},
		Private:  e,
	}
}

func (e *endpoints) kind() string { return KindEndpoints }

func (e *endpoints) render(providers.Outputs) (plans.Object, error) {
	if err := checkNamespacedName(e.namespace, e.name); err != nil {
		return nil, err
	}
	ps, ips, err := e.normalized()
	if err != nil {
		return nil, err
	}
	if err := checkMap("label", e.labels); err != nil {
		return nil, err
	}
	subsets := []any{}
	if len(ips) > 0 {
		subsets = append(subsets, map[string]any{"addresses": stringsValue(ips), "ports": portsValue(ps)})
	}
	return plans.Object{
		"namespace": e.namespace,
		"name":      e.name,
		"subsets":   subsets,
		"labels":    mapValue(e.labels),
	}, nil
}

// normalized returns the ports and addresses as render and apply use
// them (normalizePorts, normalizeIPs).
func (e *endpoints) normalized() ([]Port, []string, error) {
	ps, err := normalizePorts(e.ports)
	if err != nil {
		return nil, nil, err
	}
	ips, err := normalizeIPs(e.ips)
	return ps, ips, err
}

// normalizeIPs parses, deduplicates and sorts addresses numerically.
func normalizeIPs(ips []string) ([]string, error) {
	seen := map[netip.Addr]bool{}
	var addrs []netip.Addr
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("endpoint address %q is not an IP address", s)
		}
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, nil
}

func (e *endpoints) identities() []ref {
	return []ref{{res: resEndpoints, namespace: e.namespace, name: e.name}}
}

func (e *endpoints) observe(_ context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	return o.single(addr, e, e.identities()[0], e.project), nil
}

func (e *endpoints) project(live metav1.Object) plans.Object {
	ep := live.(*corev1.Endpoints)
	of := meshxFields(ep)
	subsets := []any{}
	for _, ss := range ep.Subsets {
		var ips []string
		for _, a := range ss.Addresses {
			ips = append(ips, a.IP)
		}
		sortIPs(ips)
		ps := make([]Port, 0, len(ss.Ports))
		for _, p := range ss.Ports {
			ps = append(ps, Port{Name: p.Name, Port: p.Port, Protocol: protocolOf(p.Protocol)})
		}
		sortPorts(ps)
		sub := map[string]any{"addresses": stringsValue(ips), "ports": portsValue(ps)}
		if len(ss.NotReadyAddresses) > 0 {
			var nr []string
			for _, a := range ss.NotReadyAddresses {
				nr = append(nr, a.IP)
			}
			sortIPs(nr)
			sub["not_ready_addresses"] = stringsValue(nr)
		}
		subsets = append(subsets, sub)
	}
	return plans.Object{
		"namespace": ep.Namespace,
		"name":      ep.Name,
		"subsets":   subsets,
		"labels":    projectMap(ep.Labels, e.labels, of.mapKeys("f:metadata", "f:labels"), true),
	}
}

// sortIPs sorts addresses numerically; strings that do not parse go last,
// in string order.
func sortIPs(ips []string) {
	sort.Slice(ips, func(i, j int) bool {
		a, errA := netip.ParseAddr(ips[i])
		b, errB := netip.ParseAddr(ips[j])
		switch {
		case errA == nil && errB == nil:
			return a.Less(b)
		case errA == nil:
			return true
		case errB == nil:
			return false
		}
		return ips[i] < ips[j]
	})
}

func (e *endpoints) apply(ctx context.Context, a *applier) (plans.Object, error) {
	id := e.identities()[0]
	ps, ips, err := e.normalized()
	if err != nil {
		return nil, err
	}
	labels, annotations := a.marks(e)
	cfg := corev1ac.Endpoints(e.name, e.namespace).WithLabels(merged(e.labels, labels)).WithAnnotations(annotations)
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
	if _, done, err := applyAsPlanned(a, id, true, cfg.ObjectMetaApplyConfiguration, func() (*corev1.Endpoints, error) {
		return a.p.client.CoreV1().Endpoints(e.namespace).Apply(ctx, cfg, a.opts())
	}); done {
		return nil, err
	}
	live, err := a.claim(ctx, id)
	if err != nil {
		return nil, err
	}
	got, err := a.p.client.CoreV1().Endpoints(e.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return nil, applyError(id, err)
	}
	a.wrote(live, got)
	return nil, nil
}
