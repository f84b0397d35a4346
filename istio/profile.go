package istio

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Port is one port of a load-balancer Service.
type Port struct {
	Name     string
	Port     int
	Protocol string // "TCP" or "UDP"
}

// ILB is one internal load balancer of mesh-expansion.yaml.
type ILB struct {
	// Key is how configuration refers to it: cluster.control.ilb.<Key>.address.
	Key string
	// Name is the Service name, e.g. "istio-pilot-ilb".
	Name string
	// InKubeSystem places the Service in kube-system (dns-ilb) rather than
	// the Istio namespace.
	InKubeSystem bool
	Ports        []Port
	Selector     map[string]string
}

// Namespace returns the namespace the ILB's Service lives in.
func (l ILB) Namespace(istioNamespace string) string {
	if l.InKubeSystem {
		return "kube-system"
	}
	return istioNamespace
}

// Profile describes one Istio generation.
type Profile struct {
	// Name is what `profile = "…"` says.
	Name string
	// Legacy is true for the setupMeshEx.sh era: Citadel key-and-cert
	// secrets, the node agent, dnsmasq with ILB addresses.
	Legacy bool
	// Modern is set for the istiod era (1.20 and later): istiod behind one
	// load balancer, WorkloadGroups, the istio-token. Only Name, ILBs
	// (istiod's) and Packages are set beside it.
	Modern *Minor
	// ILBs in the order mesh-expansion.yaml lists them.
	ILBs []ILB
	// NamespaceInEnv says cluster.env carries ISTIO_SYSTEM_NAMESPACE (from
	// 0.4; 0.2's generateClusterEnv wrote only ISTIO_SERVICE_CIDR).
	NamespaceInEnv bool
	// CPAuthKey is the cluster.env key carrying the control-plane auth
	// policy: ISTIO_CP_AUTH from 1.0, CONTROL_PLANE_AUTH_POLICY in 0.4–0.8,
	// and "" before 0.4, which had no control-plane authentication: pilot
	// served plain text on 8080 only.
	CPAuthKey string
	// MTLSPilotPort is the pilot port a VM must use when control-plane auth
	// is MUTUAL_TLS (ISTIO_PILOT_PORT in sidecar.env): 15003 in 0.4, 15005
	// from 0.7; 0 without control-plane auth. The sidecar's default, 8080,
	// only works with NONE.
	MTLSPilotPort int
	// CPAuthAlso are further keys given the same value. 0.8's
	// setupMeshEx.sh wrote only CONTROL_PLANE_AUTH_POLICY while its
	// istio-start.sh read only ISTIO_CP_AUTH, so the policy was silently
	// ignored; meshx writes both.
	CPAuthAlso []string
	// CAKey is the ILB key of the certificate authority: "citadel" from 0.8,
	// "ca" before.
	CAKey string
	// Units are the systemd units meshx enables on a VM, in start order.
	Units []string
	// SecretPrefix names the Citadel secret of a service account: prefix+sa.
	SecretPrefix string
	// Packages are the sidecar's Debian packages, in install order:
	// istio-sidecar from 0.5; before, setupIstioVM.sh installed three.
	Packages []string
	// KubednsHosts lists the host names the dnsmasq kubedns file answers, in
	// file order, without the namespace suffix (the file repeats them with
	// it).
	KubednsHosts []KubednsHost
}

// KubednsHost is one dnsmasq address= entry: a host name answered with the
// address of one ILB.
type KubednsHost struct {
	Host   string
	ILBKey string
}

// Sidecar packages: one from 0.5, three before.
var (
	sidecarPackage  = []string{"istio-sidecar"}
	sidecarPackages = []string{"istio-agent", "istio-auth-node-agent", "istio-proxy"}
)

// kubedns07 is generateDnsmasq's file in 0.2–0.7; kubedns08 from 0.8, where
// istio-ca stays "Deprecated. For backward compatibility".
var (
	kubedns07 = []KubednsHost{{"istio-mixer", "mixer"}, {"istio-pilot", "pilot"}, {"istio-ca", "ca"}}
	kubedns08 = []KubednsHost{
		{"istio-policy", "mixer"}, {"istio-telemetry", "mixer"}, {"istio-pilot", "pilot"},
		{"istio-citadel", "citadel"}, {"istio-ca", "citadel"},
	}
)

var pilotILB08 = ILB{
	Key: "pilot", Name: "istio-pilot-ilb",
	Ports: []Port{
		{Name: "https-pilot", Port: 15005, Protocol: "TCP"},
		{Name: "http-pilot", Port: 8080, Protocol: "TCP"},
		{Name: "grpc-pilot", Port: 15010, Protocol: "TCP"},
		{Name: "tls-grpc-pilot", Port: 15011, Protocol: "TCP"},
	},
	Selector: map[string]string{"istio": "pilot"},
}

var dnsILB = ILB{
	Key: "dns", Name: "dns-ilb", InKubeSystem: true,
	Ports:    []Port{{Name: "dns", Port: 53, Protocol: "UDP"}},
	Selector: map[string]string{"k8s-app": "kube-dns"},
}

// ilbs08 is mesh-expansion.yaml from 0.8 to the last 1.x: mixer-ilb points
// at istio-telemetry only ("until we are able to support both"), and the CA
// is citadel-ilb.
var ilbs08 = []ILB{
	pilotILB08,
	{Key: "mixer", Name: "mixer-ilb",
		Ports:    []Port{{Name: "grpc-mixer-mtls", Port: 15004, Protocol: "TCP"}},
		Selector: map[string]string{"istio": "mixer", "istio-mixer-type": "telemetry"}},
	{Key: "citadel", Name: "citadel-ilb",
		Ports:    []Port{{Name: "grpc-citadel", Port: 8060, Protocol: "TCP"}},
		Selector: map[string]string{"istio": "citadel"}},
	dnsILB,
}

// ilbs02 is mesh-expansion.yaml of 0.2 and 0.3 (the GCE tutorial's
// cluster): pilot in plain text on 8080 only, mixer on 9091, the CA as
// istio-ca-ilb. The pilot and mixer ports have no names, as upstream wrote
// them; the CA and DNS load balancers are those of 0.7.
var ilbs02 = []ILB{
	{Key: "pilot", Name: "istio-pilot-ilb",
		Ports:    []Port{{Port: 8080, Protocol: "TCP"}},
		Selector: map[string]string{"istio": "pilot"}},
	{Key: "mixer", Name: "mixer-ilb",
		Ports:    []Port{{Port: 9091, Protocol: "TCP"}},
		Selector: map[string]string{"istio": "mixer"}},
	caILB07,
	dnsILB,
}

// ilbs04 is mesh-expansion.yaml of 0.4: pilot and mixer move to their
// mutual-TLS ports 15003 and 15004.
var ilbs04 = []ILB{
	{Key: "pilot", Name: "istio-pilot-ilb",
		Ports:    []Port{{Port: 15003, Protocol: "TCP"}},
		Selector: map[string]string{"istio": "pilot"}},
	{Key: "mixer", Name: "mixer-ilb",
		Ports:    []Port{{Port: 15004, Protocol: "TCP"}},
		Selector: map[string]string{"istio": "mixer"}},
	caILB07,
	dnsILB,
}

// caILB07 is the certificate authority's ILB before 0.8.
var caILB07 = ILB{Key: "ca", Name: "istio-ca-ilb",
	Ports:    []Port{{Name: "grpc-ca", Port: 8060, Protocol: "TCP"}},
	Selector: map[string]string{"istio": "istio-ca"}}

var legacyUnits = []string{"dnsmasq", "istio-auth-node-agent", "istio"}

// profile02 is Istio 0.2 and 0.3, which differ in nothing meshx writes
// (0.3 fixed a typo in mesh-expansion.yaml and setupMeshEx.sh's base64
// flag).
func profile02(name string) *Profile {
	return &Profile{
		Name: name, Legacy: true, CAKey: "ca",
		Units: legacyUnits, SecretPrefix: "istio.", Packages: sidecarPackages, KubednsHosts: kubedns07,
		ILBs: ilbs02,
	}
}

var profiles = map[string]*Profile{
	"1.0": {
		Name: "1.0", Legacy: true, NamespaceInEnv: true, CPAuthKey: "ISTIO_CP_AUTH", MTLSPilotPort: 15005, CAKey: "citadel",
		Units: legacyUnits, SecretPrefix: "istio.", Packages: sidecarPackage, KubednsHosts: kubedns08,
		ILBs: ilbs08,
	},
	"0.8": {
		Name: "0.8", Legacy: true, NamespaceInEnv: true, CPAuthKey: "CONTROL_PLANE_AUTH_POLICY", CPAuthAlso: []string{"ISTIO_CP_AUTH"},
		MTLSPilotPort: 15005, CAKey: "citadel",
		Units: legacyUnits, SecretPrefix: "istio.", Packages: sidecarPackage, KubednsHosts: kubedns08,
		ILBs: ilbs08,
	},
	"0.4": {
		Name: "0.4", Legacy: true, NamespaceInEnv: true, CPAuthKey: "CONTROL_PLANE_AUTH_POLICY", MTLSPilotPort: 15003, CAKey: "ca",
		Units: legacyUnits, SecretPrefix: "istio.", Packages: sidecarPackages, KubednsHosts: kubedns07,
		ILBs: ilbs04,
	},
	"0.3": profile02("0.3"),
	"0.2": profile02("0.2"),
	"0.7": {
		Name: "0.7", Legacy: true, NamespaceInEnv: true, CPAuthKey: "CONTROL_PLANE_AUTH_POLICY", MTLSPilotPort: 15005, CAKey: "ca",
		Units: legacyUnits, SecretPrefix: "istio.", Packages: sidecarPackage, KubednsHosts: kubedns07,
		ILBs: []ILB{
			{Key: "pilot", Name: "istio-pilot-ilb",
				Ports: []Port{
					{Name: "https-pilot", Port: 15005, Protocol: "TCP"},
					{Name: "http-pilot", Port: 8080, Protocol: "TCP"},
				},
				Selector: map[string]string{"istio": "pilot"}},
			{Key: "mixer", Name: "mixer-ilb",
				Ports:    []Port{{Name: "grpc-mixer-mtls", Port: 15004, Protocol: "TCP"}},
				Selector: map[string]string{"istio": "mixer"}},
			caILB07,
			dnsILB,
		},
	},
}

// DefaultProfile is the profile used when configuration names none.
const DefaultProfile = "1.0"

// Lookup returns the named profile: a legacy one of the table, or "1.N"
// for any N from 20, the istiod era.
func Lookup(name string) (*Profile, bool) {
	if p, ok := profiles[name]; ok {
		return p, ok
	}
	return lookupModern(name)
}

// Names lists the known profile names, sorted: the legacy ones, then the
// istiod-era minors of the table (later minors are accepted too).
func Names() []string {
	names := make([]string, 0, len(profiles)+len(minors))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, m := range minors {
		names = append(names, "1."+strconv.Itoa(m.Minor))
	}
	return names
}

// HasCPAuth reports whether the generation has control-plane
// authentication (0.4 on), so control_plane_auth means something.
func (p *Profile) HasCPAuth() bool { return p.CPAuthKey != "" }

// ILB returns the profile's load balancer with the given key.
func (p *Profile) ILB(key string) (ILB, bool) {
	for _, l := range p.ILBs {
		if l.Key == key {
			return l, true
		}
	}
	return ILB{}, false
}

// ILBKeys lists the keys configuration may use after cluster.<c>.ilb.
func (p *Profile) ILBKeys() []string {
	keys := make([]string, len(p.ILBs))
	for i, l := range p.ILBs {
		keys[i] = l.Key
	}
	return keys
}

// Auth policies accepted for control_plane_auth.
const (
	AuthMutualTLS = "MUTUAL_TLS"
	AuthNone      = "NONE"
)

// LoadBalancerAnnotations returns the annotations that make a LoadBalancer
// Service internal on the given cloud, or an error naming the valid clouds.
func LoadBalancerAnnotations(cloud string) (map[string]string, error) {
	switch cloud {
	case "gcp":
		return map[string]string{"cloud.google.com/load-balancer-type": "Internal"}, nil
	case "alibaba":
		return map[string]string{"service.beta.kubernetes.io/alicloud-loadbalancer-address-type": "intranet"}, nil
	case "aws":
		return map[string]string{"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}, nil
	case "azure":
		return map[string]string{"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}, nil
	case "none", "":
		return map[string]string{}, nil
	}
	return nil, fmt.Errorf("unknown load balancer %q: use one of %s", cloud, strings.Join(Clouds(), ", "))
}

// Clouds lists the values load_balancer accepts.
func Clouds() []string { return []string{"gcp", "alibaba", "aws", "azure", "none"} }

// PortName infers a port's name the way `istioctl register` did for a bare
// port number (Str2NamedPort): 80 and 8080 are http, 443 https, 3306 mysql,
// anything else its own number.
func PortName(port int) string {
	switch port {
	case 80, 8080:
		return "http"
	case 443:
		return "https"
	case 3306:
		return "mysql"
	}
	return strconv.Itoa(port)
}
