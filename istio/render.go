package istio

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/meshx-dev/meshx/internal/shellquote"
)

// Paths on a VM, as setupIstioVM.sh and the sidecar package use them.
const (
	ClusterEnvPath = "/var/lib/istio/envoy/cluster.env"
	SidecarEnvPath = "/var/lib/istio/envoy/sidecar.env"
	KubednsPath    = "/etc/dnsmasq.d/kubedns"
	CertDir        = "/etc/certs"
	DhclientPath   = "/etc/dhcp/dhclient.conf"
	DhclientLine   = "prepend domain-name-servers 127.0.0.1;"
	ProxyUser      = "istio-proxy"
)

// CertFile is one certificate file copied from the Citadel secret.
type CertFile struct {
	// Name is both the secret's data key and the file name in CertDir.
	Name string
	Mode uint32
	// Sensitive marks the private key.
	Sensitive bool
}

// CertFiles lists the files a VM gets: all three, or only the root
// certificate when the node agent has its own identity (gceMachineSetup).
func CertFiles(rootOnly bool) []CertFile {
	files := []CertFile{{Name: "root-cert.pem", Mode: 0o644}}
	if !rootOnly {
		files = append(files,
			CertFile{Name: "cert-chain.pem", Mode: 0o644},
			CertFile{Name: "key.pem", Mode: 0o600, Sensitive: true})
	}
	return files
}

// ClusterEnv renders /var/lib/istio/envoy/cluster.env: the service CIDR the
// sidecar intercepts, then, where the profile has them, the Istio namespace
// and the control-plane auth policy under the profile's key, then extra
// keys sorted.
func (p *Profile) ClusterEnv(serviceCIDR, istioNamespace, cpAuth string, extra map[string]string) string {
	var b strings.Builder
	skip := map[string]bool{"ISTIO_SERVICE_CIDR": true}
	assign(&b, "ISTIO_SERVICE_CIDR", serviceCIDR)
	if p.NamespaceInEnv {
		assign(&b, "ISTIO_SYSTEM_NAMESPACE", istioNamespace)
		skip["ISTIO_SYSTEM_NAMESPACE"] = true
	}
	if p.HasCPAuth() {
		assign(&b, p.CPAuthKey, cpAuth)
		skip[p.CPAuthKey] = true
	}
	for _, k := range p.CPAuthAlso {
		assign(&b, k, cpAuth)
		skip[k] = true
	}
	writeSorted(&b, extra, skip)
	return b.String()
}

func writeSorted(b *strings.Builder, m map[string]string, skip map[string]bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !skip[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		assign(b, k, m[k])
	}
}

// assign writes one KEY=value line of a file the sidecar's start script
// sources: the value is a shell word (quoted unless plainly safe), so it
// is read back as written and runs nothing. Keys are validated names.
func assign(b *strings.Builder, key, value string) {
	fmt.Fprintf(b, "%s=%s\n", key, shellquote.Word(value))
}

// Kubedns renders /etc/dnsmasq.d/kubedns from the ILB addresses (ILB key to
// IP or host name): cluster service names go to kube-dns through dns-ilb,
// and the control-plane names resolve to their ILBs, bare and with the
// namespace suffix. It fails naming the first missing address.
func (p *Profile) Kubedns(istioNamespace string, addrs map[string]string) (string, error) {
	need := func(key string) (string, error) {
		a, ok := addrs[key]
		if !ok || a == "" {
			return "", fmt.Errorf("kubedns: no address for the %s load balancer", key)
		}
		return a, nil
	}
	var b strings.Builder
	dns, err := need("dns")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "server=/svc.cluster.local/%s\n", dns)
	for _, suffix := range []string{"", "." + istioNamespace} {
		for _, h := range p.KubednsHosts {
			a, err := need(h.ILBKey)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "address=/%s%s/%s\n", h.Host, suffix, a)
		}
	}
	return b.String(), nil
}

// SidecarEnvKeys returns the sidecar.env keys meshx manages for a VM: the
// inbound ports of the services it hosts (sorted, deduplicated), the service
// name and namespace, then the configuration's extra keys, which win.
func SidecarEnvKeys(ports []int, service, namespace string, extra map[string]string) map[string]string {
	keys := map[string]string{}
	uniq := map[int]bool{}
	var ps []int
	for _, p := range ports {
		if !uniq[p] {
			uniq[p] = true
			ps = append(ps, p)
		}
	}
	sort.Ints(ps)
	strs := make([]string, len(ps))
	for i, p := range ps {
		strs[i] = strconv.Itoa(p)
	}
	keys["ISTIO_INBOUND_PORTS"] = strings.Join(strs, ",")
	if service != "" {
		keys["ISTIO_SERVICE"] = service
	}
	if namespace != "" {
		keys["ISTIO_NAMESPACE"] = namespace
	}
	for k, v := range extra {
		keys[k] = v
	}
	return keys
}
