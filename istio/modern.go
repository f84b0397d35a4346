package istio

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshx-dev/meshx/internal/shellquote"
)

// Minor is what differs between the istiod-era minors meshx supports: one
// row per minor of minors, never a branch in a renderer.
type Minor struct {
	// Minor is the minor version: 20 for Istio 1.20.
	Minor int
	// NetworkingAPI is the apiVersion meshx writes WorkloadGroups,
	// WorkloadEntries, Gateways and VirtualServices with: networking.istio.io
	// v1 from Istio 1.22, which promoted them; v1beta1 before.
	NetworkingAPI string
}

// minors is the table of istiod-era minors. A minor newer than the last
// row behaves as the last row.
var minors = []Minor{
	{20, "networking.istio.io/v1beta1"},
	{21, "networking.istio.io/v1beta1"},
	{22, "networking.istio.io/v1"},
	{23, "networking.istio.io/v1"},
	{24, "networking.istio.io/v1"},
	{25, "networking.istio.io/v1"},
	{26, "networking.istio.io/v1"},
	{27, "networking.istio.io/v1"},
	{28, "networking.istio.io/v1"},
	{29, "networking.istio.io/v1"},
}

// modernProfile returns the istiod-era profile "1.<minor>", or false when
// minor is older than the table.
func modernProfile(minor int) (*Profile, bool) {
	if minor < minors[0].Minor {
		return nil, false
	}
	row := minors[len(minors)-1]
	for _, m := range minors {
		if m.Minor == minor {
			row = m
		}
	}
	row.Minor = minor
	return &Profile{Name: "1." + strconv.Itoa(minor), Modern: &row, ILBs: []ILB{IstiodILB}, Packages: sidecarPackage}, true
}

// lookupModern parses "1.N" with N at least 20.
func lookupModern(name string) (*Profile, bool) {
	rest, ok := strings.CutPrefix(name, "1.")
	if !ok {
		return nil, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || strconv.Itoa(n) != rest {
		return nil, false
	}
	return modernProfile(n)
}

// Paths and names on a VM of the istiod era. The agent's own paths
// (TokenLinkPath, WorkloadCertPath) are fixed by pilot-agent
// (pkg/config/constants ThirdPartyJwtPath) and istio-start.sh
// (OUTPUT_CERTS=./etc/certs, run from /).
const (
	// MeshConfigPath is the mesh config whose defaultConfig the agent
	// reads (istio.io's VM steps: cp mesh.yaml /etc/istio/config/mesh).
	MeshConfigPath = "/etc/istio/config/mesh"
	// RootCertPath is the root certificate the agent trusts istiod with,
	// from the istio-ca-root-cert ConfigMap. Not /etc/certs/root-cert.pem
	// as istio.io copies it: the agent writes its own outputs there
	// (OUTPUT_CERTS, the root included, with its own mode), so meshx keeps
	// its copy beside and points the agent at it (CA_ROOT_CA, XDS_ROOT_CA).
	RootCertPath = "/var/lib/istio/root-cert.pem"
	// WorkloadCertPath is where the agent writes the workload certificate
	// chain istiod signed (key.pem beside it).
	WorkloadCertPath = "/etc/certs/cert-chain.pem"
	// TokenPath is where meshx keeps the VM's istio-token: on disk, so it
	// survives a reboot (istio#27691), 0600 and owned by istio-proxy.
	TokenPath = "/var/lib/istio/tokens/istio-token"
	// TokenLinkPath is where pilot-agent reads the token, under /var/run,
	// a tmpfs emptied at boot; the unit drop-in TokenDropInPath links it to
	// TokenPath each time the unit starts.
	TokenLinkPath = "/var/run/secrets/tokens/istio-token"
	// TokenDropInPath is meshx's drop-in for the istio unit.
	TokenDropInPath = "/etc/systemd/system/istio.service.d/meshx-token.conf"
	// HostsPath carries the line that sends istiod's name to its load
	// balancer.
	HostsPath = "/etc/hosts"
	// TokenAudience is the audience istiod's CA accepts.
	TokenAudience = "istio-ca"
	// DefaultTokenLifetime is token_lifetime's default: a day, so an
	// apply at least every 16 hours keeps it fresh (istioctl mints 1h).
	DefaultTokenLifetime = 24 * time.Hour
	// IstiodXDSPort serves xDS and the CA over TLS; IstiodWebhookPort the
	// webhooks.
	IstiodXDSPort     = 15012
	IstiodWebhookPort = 15017
	// SidecarUnit is the unit of the istio-sidecar package.
	SidecarUnit = "istio"
)

// TokenDropIn is the istio unit's drop-in: before the packaged unit's own
// ExecStartPre (which creates /var/run/secrets), the directory of the
// token link is made and the link points at the persistent token. A
// link, not a copy, so a renewed token is read at the agent's next
// certificate request without a restart.
//
// It also gives the agent's log files to istio-proxy. istio-start.sh
// appends to them as istio-proxy (sudo -u istio-proxy … >>
// /var/log/istio/istio.log), so a log root owns makes the unit exit at
// once, restarting forever. The sidecars of the setupMeshEx.sh era leave
// such logs: 0.2's istio-start.sh redirected pilot-agent's output as root
// (istio/proxy tools/deb/istio-start.sh), and purging the package keeps
// /var/log/istio, which no package owns. chown -h changes a link, never
// what it points to; "-" lets a missing log pass.
const TokenDropIn = `# Written by meshx: the istio-token lives on disk, outside tmpfs, and the
# agent's logs belong to the user it runs as.
[Service]
ExecStartPre=+/usr/bin/install -d -o istio-proxy -g istio-proxy -m 0755 /var/run/secrets/tokens
ExecStartPre=+/bin/ln -sfn ` + TokenPath + ` ` + TokenLinkPath + `
ExecStartPre=-+/bin/chown -h istio-proxy:istio-proxy ` + AgentLogPath + ` ` + AgentErrLogPath + `
`

// AgentLogPath and AgentErrLogPath are where istio-start.sh sends
// pilot-agent's output (ISTIO_LOG_DIR=/var/log/istio).
const (
	AgentLogPath    = "/var/log/istio/istio.log"
	AgentErrLogPath = "/var/log/istio/istio.err.log"
)

// IstiodHost is istiod's name as VMs reach it: istiod.<ns>.svc, or
// istiod-<rev>.<ns>.svc for a revisioned control plane (istio#27103).
func IstiodHost(namespace, revision string) string {
	if revisioned(revision) {
		return "istiod-" + revision + "." + namespace + ".svc"
	}
	return "istiod." + namespace + ".svc"
}

// IstiodAddress is IstiodHost with the xDS/CA port.
func IstiodAddress(namespace, revision string) string {
	return IstiodHost(namespace, revision) + ":" + strconv.Itoa(IstiodXDSPort)
}

// IstiodSelector selects istiod's pods of a revision.
func IstiodSelector(revision string) map[string]string {
	if revision == "" {
		revision = "default"
	}
	return map[string]string{"app": "istiod", "istio.io/rev": revision}
}

// IstiodPorts are the ports of the istiod ILB and of the istiod-gateway.
var IstiodPorts = []Port{
	{Name: "tls-istiod", Port: IstiodXDSPort, Protocol: "TCP"},
	{Name: "tls-webhook", Port: IstiodWebhookPort, Protocol: "TCP"},
}

// IstiodILB is the load balancer in front of istiod (istiod_exposure =
// "ilb"): configuration reads its address as cluster.<c>.ilb.istiod. The
// planner selects the configured revision's istiod.
var IstiodILB = ILB{Key: "istiod", Name: "istiod-ilb", Ports: IstiodPorts, Selector: IstiodSelector("")}

// Workload is what a VM's files say about it: its WorkloadGroup and where
// it sits in the mesh, as `istioctl x workload entry configure` reads them
// from the WorkloadGroup and its flags.
type Workload struct {
	Group          string // the WorkloadGroup's name
	Namespace      string
	ServiceAccount string
	Labels         map[string]string
	// Ports maps port names to numbers (the WorkloadGroup template's ports).
	Ports map[string]int
	// IstioNamespace and Revision locate istiod.
	IstioNamespace string
	Revision       string
	ClusterID      string
	MeshID         string
	Network        string
	TrustDomain    string
	// MeshIP is the address the VM is registered with (ISTIO_SVC_IP).
	MeshIP       string
	AutoRegister bool
	CaptureDNS   bool
	// Probe is the WorkloadGroup's probe, nil for none.
	Probe *Probe
}

// ExcludedInboundPorts are never captured: SSH (so a broken sidecar cannot
// lock anyone out), Envoy's Prometheus port and the agent's status ports,
// as istioctl writes them.
const ExcludedInboundPorts = "22,15090,15021,15020"

// canonical returns the canonical service and revision of a workload's
// labels: the first label present of each list, as Istio's
// pkg/kube/labels CanonicalService looks them up.
func canonical(labels map[string]string, group string) (string, string) {
	first := func(fallback string, keys ...string) string {
		for _, k := range keys {
			if v, ok := labels[k]; ok {
				return v
			}
		}
		return fallback
	}
	return first(group, "service.istio.io/canonical-name", "app.kubernetes.io/name", "app"),
		first("latest", "service.istio.io/canonical-revision", "app.kubernetes.io/version", "version")
}

// ProxyMetadata returns the proxyMetadata istioctl puts in mesh.yaml, which
// cluster.env repeats.
func (w Workload) ProxyMetadata() map[string]string {
	svc, rev := canonical(w.Labels, w.Group)
	md := map[string]string{
		"CANONICAL_SERVICE":        svc,
		"CANONICAL_REVISION":       rev,
		"POD_NAMESPACE":            w.Namespace,
		"SERVICE_ACCOUNT":          w.ServiceAccount,
		"TRUST_DOMAIN":             w.TrustDomain,
		"ISTIO_META_CLUSTER_ID":    w.ClusterID,
		"ISTIO_META_MESH_ID":       w.MeshID,
		"ISTIO_META_NETWORK":       w.Network,
		"ISTIO_META_WORKLOAD_NAME": w.Group,
	}
	if len(w.Ports) > 0 {
		// Istio's model.PodPort, as istioctl marshals it.
		type podPort struct {
			Name          string `json:"name,omitempty"`
			ContainerPort int    `json:"containerPort"`
			Protocol      string `json:"protocol"`
		}
		var pp []podPort
		for name, p := range w.Ports {
			pp = append(pp, podPort{Name: name, ContainerPort: p})
		}
		sort.Slice(pp, func(i, j int) bool { return pp[i].Name < pp[j].Name })
		b, _ := json.Marshal(pp)
		md["ISTIO_META_POD_PORTS"] = string(b)
	}
	labels := map[string]string{}
	for k, v := range w.Labels {
		labels[k] = v
	}
	labels["service.istio.io/canonical-name"] = svc
	labels["service.istio.io/canonical-revision"] = rev
	b, _ := json.Marshal(labels) // maps marshal with sorted keys
	md["ISTIO_METAJSON_LABELS"] = string(b)
	if w.CaptureDNS {
		md["ISTIO_META_DNS_CAPTURE"] = "true"
	}
	if w.AutoRegister {
		md["ISTIO_META_AUTO_REGISTER_GROUP"] = w.Group
	}
	return md
}

// ClusterEnvKeys returns cluster.env as keys: the proxy metadata plus what
// istioctl overrides for the WorkloadGroup, then extra (the
// configuration's cluster_env), which wins.
func (w Workload) ClusterEnvKeys(extra map[string]string) map[string]string {
	env := w.ProxyMetadata()
	ports := make([]int, 0, len(w.Ports))
	for _, p := range w.Ports {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	inbound := "*"
	if len(ports) > 0 {
		s := make([]string, len(ports))
		for i, p := range ports {
			s[i] = strconv.Itoa(p)
		}
		inbound = strings.Join(s, ",")
	}
	env["ISTIO_INBOUND_PORTS"] = inbound
	env["ISTIO_NAMESPACE"] = w.Namespace
	env["ISTIO_SERVICE"] = w.Group + "." + w.Namespace
	env["ISTIO_SERVICE_CIDR"] = "*"
	env["ISTIO_LOCAL_EXCLUDE_PORTS"] = ExcludedInboundPorts
	if revisioned(w.Revision) {
		env["CA_ADDR"] = IstiodAddress(w.IstioNamespace, w.Revision)
	}
	if w.MeshIP != "" {
		env["ISTIO_SVC_IP"] = w.MeshIP
	}
	env["CA_ROOT_CA"] = RootCertPath
	env["XDS_ROOT_CA"] = RootCertPath
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// ModernClusterEnv renders cluster.env as istioctl writes it: one K='v'
// line per key, sorted, every value single-quoted (istio-start.sh sources
// the file with set -a, so values are shell words).
func ModernClusterEnv(keys map[string]string) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%s\n", k, shellquote.Quote(keys[k]))
	}
	return b.String()
}

// MeshConfig renders /etc/istio/config/mesh: the defaultConfig with
// istiod's discovery address, the proxy metadata and the WorkloadGroup's
// probe as readinessProbe, as the mesh.yaml istioctl writes for a mesh
// whose config sets nothing else.
func (w Workload) MeshConfig() (string, error) {
	dc := map[string]any{
		"discoveryAddress": IstiodAddress(w.IstioNamespace, w.Revision),
		"proxyMetadata":    w.ProxyMetadata(),
	}
	if w.Probe != nil {
		dc["readinessProbe"] = w.Probe.Spec()
	}
	b, err := yaml.Marshal(map[string]any{"defaultConfig": dc})
	return string(b), err
}

// HostsLine is the /etc/hosts line that sends istiod's name to address,
// an IP of the istiod load balancer.
func HostsLine(address, istioNamespace, revision string) string {
	return address + " " + IstiodHost(istioNamespace, revision)
}

// The objects of Istio's samples/multicluster/expose-istiod.yaml, which
// route istiod's ports of an east-west gateway to istiod (istiod_exposure
// = "eastwest"), and of expose-istiod-rev.yaml.tmpl for a revision.
const (
	// IstiodGatewayName is the Gateway, with or without a revision.
	IstiodGatewayName = "istiod-gateway"
	// IstiodVirtualServiceName is the VirtualService; a revision's is
	// istiod-vs-<rev> (IstiodVirtualService).
	IstiodVirtualServiceName = "istiod-vs"
	// IstiodWebhookTargetPort is the port of the istiod Service that the
	// gateway's 15017 leads to: istiod's webhooks are served on 443.
	IstiodWebhookTargetPort = 443
)

// IstiodGatewaySpec is the spec of the istiod-gateway Gateway: TLS
// passthrough of 15012 and 15017 for any host on the pods labelled
// istio=eastwestgateway, as samples/multicluster/gen-eastwest-gateway.sh
// labels the gateway. The revision's template names the webhook port
// tls-webhook, the plain one tls-istiodwebhook.
func IstiodGatewaySpec(revision string) map[string]any {
	webhook := "tls-istiodwebhook"
	if revisioned(revision) {
		webhook = "tls-webhook"
	}
	server := func(name string, port int) map[string]any {
		return map[string]any{
			"port":  map[string]any{"name": name, "number": port, "protocol": "tls"},
			"tls":   map[string]any{"mode": "PASSTHROUGH"},
			"hosts": []any{"*"},
		}
	}
	return map[string]any{
		"selector": map[string]any{"istio": "eastwestgateway"},
		"servers":  []any{server("tls-istiod", IstiodXDSPort), server(webhook, IstiodWebhookPort)},
	}
}

// IstiodVirtualService returns the name and spec of the VirtualService
// that sends what istiod-gateway passes through to istiod's Service:
// 15012 to 15012 and 15017 to the webhook port 443, for any SNI host, or
// for a revision only the revision's istiod names (istiod-<rev>.<ns>.svc
// and its cluster.local form) to istiod-<rev>.
func IstiodVirtualService(namespace, revision string) (string, map[string]any) {
	name, sni := IstiodVirtualServiceName, []any{"*"}
	host := "istiod." + namespace + ".svc.cluster.local"
	if revisioned(revision) {
		name = IstiodVirtualServiceName + "-" + revision
		host = IstiodHost(namespace, revision) + ".cluster.local"
		sni = []any{IstiodHost(namespace, revision), host}
	}
	route := func(port, target int) map[string]any {
		return map[string]any{
			"match": []any{map[string]any{"port": port, "sniHosts": sni}},
			"route": []any{map[string]any{"destination": map[string]any{"host": host, "port": map[string]any{"number": target}}}},
		}
	}
	return name, map[string]any{
		"hosts":    []any{"*"},
		"gateways": []any{IstiodGatewayName},
		"tls":      []any{route(IstiodXDSPort, IstiodXDSPort), route(IstiodWebhookPort, IstiodWebhookTargetPort)},
	}
}

// revisioned reports whether revision names a revision other than the
// default control plane.
func revisioned(revision string) bool { return revision != "" && revision != "default" }

// Probe is a WorkloadGroup's spec.probe, Istio's ReadinessProbe: how the
// VM's pilot-agent checks its application, and, as istioctl x workload
// entry configure copies it, the readinessProbe of the mesh config the
// agent reads it from. Exactly one of HTTPPort (with HTTPPath), TCPPort
// and Exec is set; zero durations and thresholds are left to Istio's
// defaults.
type Probe struct {
	HTTPPath string
	HTTPPort int
	TCPPort  int
	Exec     []string
	// InitialDelay, Period and Timeout are whole seconds.
	InitialDelay, Period, Timeout      time.Duration
	SuccessThreshold, FailureThreshold int
}

// Spec renders p in the JSON shape of Istio's ReadinessProbe.
func (p *Probe) Spec() map[string]any {
	spec := map[string]any{}
	switch {
	case p.HTTPPort != 0:
		spec["httpGet"] = map[string]any{"path": p.HTTPPath, "port": p.HTTPPort}
	case p.TCPPort != 0:
		spec["tcpSocket"] = map[string]any{"port": p.TCPPort}
	default:
		cmd := make([]any, len(p.Exec))
		for i, s := range p.Exec {
			cmd[i] = s
		}
		spec["exec"] = map[string]any{"command": cmd}
	}
	for name, n := range map[string]int{
		"initialDelaySeconds": int(p.InitialDelay / time.Second),
		"periodSeconds":       int(p.Period / time.Second),
		"timeoutSeconds":      int(p.Timeout / time.Second),
		"successThreshold":    p.SuccessThreshold,
		"failureThreshold":    p.FailureThreshold,
	} {
		if n != 0 {
			spec[name] = n
		}
	}
	return spec
}
