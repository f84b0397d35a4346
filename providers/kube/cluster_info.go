package kube

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindClusterInfo is the read-only facts of a cluster.
const KindClusterInfo = "kube_cluster_info"

// clusterInfo is a kube_cluster_info instance.
type clusterInfo struct{}

// ClusterInfo declares the read-only facts of a cluster at
// cluster.<cluster>.info. Outputs: server (the API server URL from the
// kubeconfig) and service_cidr, discovered from the ServiceCIDR object
// "kubernetes", else the kubeadm-config ConfigMap, else a dry-run probe;
// when all fail, Observe fails the target with an error asking for
// service_cidr in the cluster block (so declare ClusterInfo only when the
// configuration does not set it, or when "server" is needed).
func ClusterInfo(cluster string) providers.Resource {
	ci := &clusterInfo{}
	return providers.Resource{
		Addr:     plans.Address{Block: "cluster", Name: cluster, Type: "info"},
		Target:   clusterTarget(cluster),
		Kind:     KindClusterInfo,
		Render:   ci.render,
		ReadOnly: true,
		Private:  ci,
	}
}

func (*clusterInfo) kind() string { return KindClusterInfo }

func (*clusterInfo) render(providers.Outputs) (plans.Object, error) {
	return plans.Object{"server": plans.Unknown, "service_cidr": plans.Unknown}, nil
}

// identities is empty: the facts are not objects meshx looks up by name.
func (*clusterInfo) identities() []ref { return nil }

func (*clusterInfo) observe(ctx context.Context, o *observation, _ plans.Address) (providers.Observed, error) {
	out, err := o.p.clusterInfo(ctx)
	if err != nil {
		return providers.Observed{}, err
	}
	return providers.Observed{Exists: true, Owned: true, Object: out, Outputs: out}, nil
}

func (*clusterInfo) apply(ctx context.Context, a *applier) (plans.Object, error) {
	return a.p.clusterInfo(ctx)
}

// clusterInfo returns the kube_cluster_info attributes (and outputs).
func (p *Provider) clusterInfo(ctx context.Context) (plans.Object, error) {
	cidr, err := p.ServiceCIDR(ctx)
	if err != nil {
		return nil, err
	}
	return plans.Object{"server": p.client.Server, "service_cidr": cidr}, nil
}

// ServiceCIDR discovers the cluster's service CIDR: the ServiceCIDR
// object "kubernetes" (networking.k8s.io/v1, spec.cidrs[0]), else
// serviceSubnet in the kubeadm-config ConfigMap, else the range named by
// the API server when a dry-run Service asks for a cluster IP outside it.
func (p *Provider) ServiceCIDR(ctx context.Context) (string, error) {
	var tried []string
	sc, err := p.client.NetworkingV1().ServiceCIDRs().Get(ctx, "kubernetes", metav1.GetOptions{})
	if err == nil && len(sc.Spec.CIDRs) > 0 {
		return sc.Spec.CIDRs[0], nil
	}
	tried = append(tried, fmt.Sprintf("ServiceCIDR \"kubernetes\": %s", errOrEmpty(err)))

	cm, err := p.client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{})
	if err == nil {
		if cidr, ok := kubeadmServiceSubnet(cm.Data["ClusterConfiguration"]); ok {
			return cidr, nil
		}
	}
	tried = append(tried, fmt.Sprintf("kubeadm-config serviceSubnet: %s", errOrEmpty(err)))

	cidr, err := p.probeServiceCIDR(ctx)
	if err == nil {
		return cidr, nil
	}
	tried = append(tried, fmt.Sprintf("dry-run probe: %v", err))
	return "", fmt.Errorf("%s: cannot discover the service CIDR (%s); set service_cidr in the cluster %q block",
		p.target(), strings.Join(tried, "; "), p.name)
}

func errOrEmpty(err error) string {
	if err != nil {
		return err.Error()
	}
	return "not set"
}

// kubeadmServiceSubnet finds "serviceSubnet: X" in a kubeadm
// ClusterConfiguration (osswangxining/istio-meshexpansion's setupMeshEx.sh
// does it with grep | awk; this is that, done carefully). A
// dual-stack "a,b" gives the first.
func kubeadmServiceSubnet(conf string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		v, ok := strings.CutPrefix(line, "serviceSubnet:")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		v, _, _ = strings.Cut(v, ",")
		if _, err := netip.ParsePrefix(v); err == nil {
			return v, true
		}
	}
	return "", false
}

// validRangeRE matches the API server's "The range of valid IPs is
// 10.0.0.0/24" (several CIDRs are listed with commas or spaces in newer
// releases; the first is taken).
var validRangeRE = regexp.MustCompile(`(?i)range of valid IPs is ([0-9a-f.:/]+)`)

// probeServiceCIDR asks the API server, in a dry run, for a Service with a
// cluster IP no cluster uses, and reads the valid range from the error.
func (p *Provider) probeServiceCIDR(ctx context.Context) (string, error) {
	var lastErr error
	for _, ip := range []string{"1.1.1.1", "203.0.113.254"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "meshx-service-cidr-probe", Namespace: "default"},
			Spec: corev1.ServiceSpec{
				ClusterIP: ip,
				Ports:     []corev1.ServicePort{{Port: 443}},
			},
		}
		_, err := p.client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			lastErr = fmt.Errorf("cluster IP %s was accepted", ip)
			continue
		}
		if cidr, ok := parseValidRange(err.Error()); ok {
			return cidr, nil
		}
		lastErr = err
	}
	return "", lastErr
}

func parseValidRange(msg string) (string, bool) {
	m := validRangeRE.FindStringSubmatch(msg)
	if m == nil {
		return "", false
	}
	v := strings.TrimRight(m[1], ".")
	if _, err := netip.ParsePrefix(v); err != nil {
		return "", false
	}
	return v, true
}
