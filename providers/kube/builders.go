package kube

import (
	"fmt"
	"time"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Resource kinds this package handles.
const (
	KindNamespace    = "kube_namespace"
	KindLoadBalancer = "kube_load_balancer"
	KindClusterInfo  = "kube_cluster_info"
	KindService      = "kube_service"
	KindEndpoints    = "kube_endpoints"
	KindReader       = "kube_reader"
	KindRemoteSecret = "kube_remote_secret"
	KindIstioSecret  = "kube_istio_secret"
)

// Well-known names and annotations.
const (
	// ServiceAccountsAnnotation lists the service accounts a VM service
	// runs as; istioctl register always set it. The planner passes it in
	// Service's annotations.
	ServiceAccountsAnnotation = "alpha.istio.io/kubernetes-serviceaccounts"
	// DefaultReaderServiceAccount is the remote reader's account in the
	// istio-remote chart of Istio 1.0.
	DefaultReaderServiceAccount = "istio-multi"
	// ReaderClusterRole is the cluster role the remote reader is bound to.
	ReaderClusterRole = "istio-reader"
	// DefaultLoadBalancerWait bounds the wait for a load-balancer address.
	DefaultLoadBalancerWait = 10 * time.Minute
	// DefaultIstioSecretWait bounds the wait for Citadel's istio.SA secret.
	DefaultIstioSecretWait = 2 * time.Minute
	// DefaultTokenWait bounds the wait for the token controller to fill a
	// long-lived token secret.
	DefaultTokenWait = time.Minute
)

// Port is one port of a Service, an ILB or an Endpoints subset.
type Port struct {
	// Name must be a DNS-1123 label; it may be empty only when there is a
	// single port.
	Name string
	Port int32
	// Protocol is "TCP" (the default when empty), "UDP" or "SCTP".
	Protocol string
}

// spec is what a builder attaches to Resource.Private: the identity of the
// objects behind an instance, so Observe can find and project them without
// rendering.
type spec struct {
	kind      string
	cluster   string
	namespace string
	name      string

	ports       []Port
	selector    map[string]string
	labels      map[string]string
	annotations map[string]string
	ips         []string

	// reader
	serviceAccount string
	tokenLifetime  time.Duration

	// remote secret
	remote    string
	clusterID string
	reader    plans.Address
}

func clusterTarget(cluster string) string { return "cluster." + cluster }

// Namespace declares namespace name on cluster, at
// cluster.<cluster>.namespace["<name>"]. meshx creates it (labelled) when
// missing and uses an existing one without taking it over
// (Resource.UseExisting).
func Namespace(cluster, name string) providers.Resource {
	s := &spec{kind: KindNamespace, cluster: cluster, name: name}
	return providers.Resource{
		Addr:        NamespaceAddress(cluster, name),
		Target:      clusterTarget(cluster),
		Kind:        KindNamespace,
		Render:      func(providers.Outputs) (plans.Object, error) { return renderNamespace(s) },
		UseExisting: true,
		Private:     s,
	}
}

// NamespaceAddress is the address Namespace gives a namespace.
func NamespaceAddress(cluster, name string) plans.Address {
	return plans.Address{Block: "cluster", Name: cluster, Type: "namespace", Key: name}
}

// LoadBalancer declares a mesh-expansion ILB: a Service of type
// LoadBalancer at cluster.<cluster>.ilb["<key>"]. The planner computes the
// internal-LB annotations and the ports from the Istio profile. Apply
// waits up to wait (0: DefaultLoadBalancerWait) for
// status.loadBalancer.ingress[0]. Outputs: address, ip, hostname. It
// depends on the namespace's instance when the planner declares one
// (pass it in DependsOn yourself; the builder does not guess).
func LoadBalancer(cluster, key, namespace, name string, ports []Port, selector, annotations map[string]string, wait time.Duration) providers.Resource {
	if wait <= 0 {
		wait = DefaultLoadBalancerWait
	}
	s := &spec{kind: KindLoadBalancer, cluster: cluster, namespace: namespace, name: name,
		ports: ports, selector: copyMap(selector), annotations: copyMap(annotations)}
	return providers.Resource{
		Addr:                 plans.Address{Block: "cluster", Name: cluster, Type: "ilb", Key: key},
		Target:               clusterTarget(cluster),
		Kind:                 KindLoadBalancer,
		Render:               func(providers.Outputs) (plans.Object, error) { return renderLoadBalancer(s) },
		ForceNew:             []string{"namespace", "name"},
		ReadyOutputs:         []string{"address"},
		OutputsSurviveUpdate: true,
		Settings:             providers.Settings{WaitTimeout: wait},
		Private:              s,
	}
}

// ClusterInfo declares the read-only facts of a cluster at
// cluster.<cluster>.info. Outputs: server (the API server URL from the
// kubeconfig) and service_cidr, discovered from the ServiceCIDR object
// "kubernetes", else the kubeadm-config ConfigMap, else a dry-run probe;
// when all fail, Observe fails the target with an error asking for
// service_cidr in the cluster block (so declare ClusterInfo only when the
// configuration does not set it, or when "server" is needed).
func ClusterInfo(cluster string) providers.Resource {
	s := &spec{kind: KindClusterInfo, cluster: cluster}
	return providers.Resource{
		Addr:   plans.Address{Block: "cluster", Name: cluster, Type: "info"},
		Target: clusterTarget(cluster),
		Kind:   KindClusterInfo,
		Render: func(providers.Outputs) (plans.Object, error) {
			return plans.Object{"server": plans.Unknown, "service_cidr": plans.Unknown}, nil
		},
		ReadOnly: true,
		Private:  s,
	}
}

// Service declares a selector-less Service for services running on VMs
// (what istioctl register created), at addr chosen by the planner. Put
// ServiceAccountsAnnotation in annotations.
func Service(addr plans.Address, cluster, namespace, name string, ports []Port, labels, annotations map[string]string) providers.Resource {
	s := &spec{kind: KindService, cluster: cluster, namespace: namespace, name: name,
		ports: ports, labels: copyMap(labels), annotations: copyMap(annotations)}
	return providers.Resource{
		Addr:     addr,
		Target:   clusterTarget(cluster),
		Kind:     KindService,
		Render:   func(providers.Outputs) (plans.Object, error) { return renderService(s) },
		ForceNew: []string{"namespace", "name"},
		Private:  s,
	}
}

// Endpoints declares the Endpoints object of a selector-less Service: one
// subset whose addresses are ips (the VMs' mesh IPs, deduplicated and
// sorted) with every port. Make it depend on the Service instance.
func Endpoints(addr plans.Address, cluster, namespace, name string, ips []string, ports []Port, labels map[string]string) providers.Resource {
	s := &spec{kind: KindEndpoints, cluster: cluster, namespace: namespace, name: name,
		ports: ports, labels: copyMap(labels), ips: append([]string(nil), ips...)}
	return providers.Resource{
		Addr:     addr,
		Target:   clusterTarget(cluster),
		Kind:     KindEndpoints,
		Render:   func(providers.Outputs) (plans.Object, error) { return renderEndpoints(s) },
		ForceNew: []string{"namespace", "name"},
		Private:  s,
	}
}

// Reader declares the remote reader at cluster.<cluster>.reader: service
// account serviceAccount (empty: DefaultReaderServiceAccount) in namespace,
// ClusterRole istio-reader and its binding, and a token: a long-lived token
// Secret when tokenLifetime is 0, else TokenRequest tokens of that lifetime,
// rotated when a third of it is left. It depends on
// NamespaceAddress(cluster, namespace), which the planner must declare
// (Remote does). Outputs: server, ca, token.
func Reader(cluster, namespace, serviceAccount string, tokenLifetime time.Duration) providers.Resource {
	if serviceAccount == "" {
		serviceAccount = DefaultReaderServiceAccount
	}
	s := &spec{kind: KindReader, cluster: cluster, namespace: namespace,
		serviceAccount: serviceAccount, tokenLifetime: tokenLifetime}
	return providers.Resource{
		Addr:      ReaderAddress(cluster),
		Target:    clusterTarget(cluster),
		Kind:      KindReader,
		DependsOn: []plans.Address{NamespaceAddress(cluster, namespace)},
		Render:    func(providers.Outputs) (plans.Object, error) { return renderReader(s) },
		ForceNew:  []string{"namespace", "service_account"},
		// Observe leaves out the token when an update will replace it, so
		// the outputs it does give survive the update.
		OutputsSurviveUpdate: true,
		Settings:             providers.Settings{WaitTimeout: DefaultTokenWait},
		Private:              s,
	}
}

// ReaderAddress is the address Reader gives a cluster's reader.
func ReaderAddress(cluster string) plans.Address {
	return plans.Address{Block: "cluster", Name: cluster, Type: "reader"}
}

// RemoteSecret declares, in the control cluster's namespace, the Istio
// multicluster Secret for cluster remote at cluster.<remote>.secret (Target
// cluster.<control>), built from the outputs of reader (the remote's
// Reader address). clusterID must be a DNS-1123 label; it names the secret,
// its data key and the kubeconfig's cluster, context and user.
func RemoteSecret(control, remote, namespace, clusterID string, reader plans.Address) providers.Resource {
	s := &spec{kind: KindRemoteSecret, cluster: control, namespace: namespace, name: clusterID,
		remote: remote, clusterID: clusterID, reader: reader}
	return providers.Resource{
		Addr:      plans.Address{Block: "cluster", Name: remote, Type: "secret"},
		Target:    clusterTarget(control),
		Kind:      KindRemoteSecret,
		DependsOn: []plans.Address{reader},
		Render:    func(in providers.Outputs) (plans.Object, error) { return renderRemoteSecret(s, in) },
		ForceNew:  []string{"namespace", "name"},
		Private:   s,
	}
}

// Remote is the usual trio for one remote cluster: the Istio namespace in
// the remote, its Reader, and its RemoteSecret in the control cluster.
func Remote(control, remote, namespace, serviceAccount, clusterID string, tokenLifetime time.Duration) []providers.Resource {
	r := Reader(remote, namespace, serviceAccount, tokenLifetime)
	return []providers.Resource{
		Namespace(remote, namespace),
		r,
		RemoteSecret(control, remote, namespace, clusterID, r.Addr),
	}
}

// IstioSecret declares the read-only Citadel secret istio.<serviceAccount>
// in namespace at cluster.<cluster>.istio_secret["<ns>/<sa>"]. Outputs:
// root-cert.pem, cert-chain.pem (strings) and key.pem (Sensitive), missing
// (Unknown) while the secret does not exist; Apply waits for Citadel up to
// Settings.WaitTimeout (default DefaultIstioSecretWait).
func IstioSecret(cluster, namespace, serviceAccount string) providers.Resource {
	s := &spec{kind: KindIstioSecret, cluster: cluster, namespace: namespace,
		name: "istio." + serviceAccount, serviceAccount: serviceAccount}
	return providers.Resource{
		Addr:   plans.Address{Block: "cluster", Name: cluster, Type: "istio_secret", Key: namespace + "/" + serviceAccount},
		Target: clusterTarget(cluster),
		Kind:   KindIstioSecret,
		Render: func(providers.Outputs) (plans.Object, error) {
			return plans.Object{"namespace": namespace, "name": s.name}, nil
		},
		ReadOnly: true,
		Settings: providers.Settings{WaitTimeout: DefaultIstioSecretWait},
		Private:  s,
	}
}

// ReadOnly reports whether kind is one this package only reads.
func ReadOnly(kind string) bool { return kind == KindClusterInfo || kind == KindIstioSecret }

func specOf(r *providers.Resource) (*spec, error) {
	s, ok := r.Private.(*spec)
	if !ok || s == nil || s.kind != r.Kind {
		return nil, fmt.Errorf("%s: kind %q was not built by package kube", r.Addr, r.Kind)
	}
	return s, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
