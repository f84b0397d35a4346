package config

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
)

// Config is one evaluated meshx environment: the blocks of every *.hcl file
// in a directory, with variables, locals and references resolved.
//
// Load returns a non-nil Config even when it reports errors, so that callers
// can render diagnostics from Files; the other fields are then incomplete
// and must not be used.
type Config struct {
	// Dir is the absolute path of the configuration directory. Relative
	// paths in the configuration (kubeconfig, keys, file()) are resolved
	// against it; the path fields below are already absolute.
	Dir string
	// Files are the parsed sources (configuration and variable files), keyed
	// by the file name used in diagnostic ranges: relative to Dir for files
	// in it, as given for -var-file paths.
	Files map[string]*hcl.File
	// VarFiles are the names (keys of Files) of the variable files read:
	// meshx.vars, *.auto.vars and -var-file arguments. They may hold
	// sensitive values.
	VarFiles []string

	Meshx Meshx
	// Clusters, VMs and Services hold one entry per instance: a block
	// with for_each or count gives several. They are sorted by name as
	// addresses are (web[2] before web[10]).
	Clusters  []*Cluster
	VMs       []*VM
	Services  []*Service
	Variables []*Variable // sorted by name
	Outputs   []*Output   // sorted by name

	eval *evalState
}

// Meshx is the meshx block: settings of the whole environment.
type Meshx struct {
	// Environment is the ownership id: it goes into the
	// meshx.dev/environment label, the VM manifest and the lock name.
	Environment string
	// Adopt lets meshx take over existing objects it did not create. It is
	// the default for every cluster's Adopt.
	Adopt bool
	Istio Istio
	// DeclRange is the meshx block header; Ranges maps attribute names
	// ("environment", "istio.profile", …) to their expressions' ranges.
	DeclRange hcl.Range
	Ranges    map[string]hcl.Range
}

// Istio is the meshx.istio block.
type Istio struct {
	// Namespace is where the control plane runs (default "istio-system").
	Namespace string
	// Profile selects the Istio generation's names, ports and keys: "1.0"
	// (default), "0.8" or "0.7".
	Profile string
	// ControlPlaneAuth is "MUTUAL_TLS" (default) or "NONE".
	ControlPlaneAuth string

	// The istiod era's settings (profile "1.20" and later); empty
	// otherwise. Revision names istiod-<rev> ("" for the default
	// revision), MeshID and Network are the mesh's and the control
	// cluster's network, TrustDomain defaults to "cluster.local".
	Revision    string
	MeshID      string
	Network     string
	TrustDomain string
	// DebugURL is istiod's monitoring port (15014) as meshx reaches it,
	// "http://127.0.0.1:15014" behind kubectl port-forward, say: verify
	// reads /debug/endpointz there. "" when unset.
	DebugURL string
}

// Modern reports whether the profile is of the istiod era.
func (i Istio) Modern() bool {
	p, ok := istio.Lookup(i.Profile)
	return ok && p.Modern != nil
}

// Cluster roles.
const (
	RoleControl = "control"
	RoleRemote  = "remote"
)

// Cluster is a cluster block, or one instance of one with for_each or
// count.
type Cluster struct {
	// Name names the instance: the block's label, followed by its Key
	// when the block has for_each or count, as in addresses: "remote1",
	// `remote["eu"]`, "remote[0]" (plans.InstanceName).
	Name string
	// Key is the instance's key: each.key, count.index, or plans.NoKey.
	Key plans.InstanceKey
	// Role is RoleControl for the one cluster running the Istio control
	// plane, RoleRemote for the others.
	Role string
	// Kubeconfig is an absolute path, or several joined by the path list
	// separator as in KUBECONFIG (attribute kubeconfig, a path or a list),
	// or "" for client-go's default loading rules (KUBECONFIG, then
	// ~/.kube/config).
	Kubeconfig string
	// Context is the kubeconfig context, or "" for its current context.
	Context string
	// RequestTimeout bounds each request to the API server (attribute
	// request_timeout); 0 means the provider's default.
	RequestTimeout time.Duration
	// PodCIDR and ServiceCIDR are canonical CIDR strings. ServiceCIDR is
	// "" when not set: meshx discovers it.
	PodCIDR     string
	ServiceCIDR string
	PodPrefix   netip.Prefix
	// ServicePrefix is the zero Prefix when ServiceCIDR is "".
	ServicePrefix netip.Prefix
	// ClusterID is the Istio cluster ID (default: the block name). For a
	// remote it is the key of its kubeconfig in the control plane's secret.
	ClusterID string
	// MeshExpansion is set on the control cluster only.
	MeshExpansion *MeshExpansion
	// IstiodExposure is how VMs reach istiod in the istiod era, on the
	// control cluster: ExposureILB or ExposureEastWest. Empty otherwise.
	IstiodExposure string
	// EastWestGateway names the east-west gateway Service in the Istio
	// namespace (attribute eastwest_gateway, default
	// DefaultEastWestGateway) with ExposureEastWest; empty otherwise.
	EastWestGateway string
	// ServiceAccount is the remote's reader service account (default
	// "istio-multi", or "istio-reader-service-account" in the istiod era);
	// empty on the control cluster.
	ServiceAccount string
	// TokenLifetime is the lifetime of the remote's reader token; zero means
	// a long-lived token Secret.
	TokenLifetime time.Duration
	// ManageRemoteSecret is false on a remote cluster whose reader and
	// control-plane secret another environment owns (remote_secret {
	// manage = false }): this one only checks that the secret exists and
	// never creates, changes or deletes either. Always true on the control
	// cluster.
	ManageRemoteSecret bool
	// RemoteServer is the API server address the remote secret's
	// kubeconfig gives istiod (remote_secret { server }, istioctl
	// create-remote-secret --server); "" is the address meshx connects to.
	RemoteServer string
	// RemoteTLSServerName is the kubeconfig's tls-server-name
	// (remote_secret { tls_server_name }, --tls-server-name): the name
	// istiod checks the API server's certificate against; "" for none.
	RemoteTLSServerName string
	// Adopt lets meshx take over existing objects on this cluster that it
	// did not create (default: meshx.adopt).
	Adopt bool

	DeclRange hcl.Range
	Ranges    map[string]hcl.Range
	complete  bool
}

// IsControl reports whether c is the control cluster.
func (c *Cluster) IsControl() bool { return c.Role == RoleControl }

// MeshExpansion is the control cluster's mesh_expansion block.
type MeshExpansion struct {
	// LoadBalancer selects the internal-LB annotations: "gcp", "alibaba",
	// "aws", "azure" or "none" (no annotations).
	LoadBalancer string
	// Annotations are added to every ILB Service, after the provider's.
	Annotations map[string]string
	// WaitTimeout bounds the wait for ILB addresses (default 10m).
	WaitTimeout time.Duration
	// Manage is false when another environment owns the ILBs (attribute
	// manage, default true): this one reads them by reference, uses their
	// addresses, and never creates, changes or deletes them.
	Manage bool
}

// Certificate modes for VM.CertsMode.
const (
	CertsAll      = "all"
	CertsRootOnly = "root-only"
)

// VM is a vm block, or one instance of one with for_each or count: a
// machine joined to the mesh over SSH.
type VM struct {
	// Name names the instance: "ecs1", `web["a"]` or "web[0]" (see
	// Cluster.Name).
	Name string
	// Key is the instance's key: each.key, count.index, or plans.NoKey.
	Key plans.InstanceKey
	// Address is the SSH target: an IP address or a host name.
	Address string
	// MeshIP is the IP the VM is registered with in Endpoints (default:
	// Address, which must then be an IP).
	MeshIP string
	SSH    SSH
	// Namespace and ServiceAccount are the VM's identity (defaults
	// "default" and "default").
	Namespace      string
	ServiceAccount string
	// SidecarPackages are the sidecar's packages in the profile's install
	// order (one, istio-sidecar, from Istio 0.5; three before); empty when
	// meshx should not install the sidecar.
	SidecarPackages []*SidecarPackage
	// SidecarEnv are settings merged into /var/lib/istio/envoy/sidecar.env;
	// ClusterEnv are extra settings appended to cluster.env.
	SidecarEnv EnvMap
	ClusterEnv EnvMap
	// CertsMode is CertsAll (root cert, chain and key) or CertsRootOnly.
	CertsMode string
	// Cluster is the name of the cluster whose control plane issues the
	// VM's identity (default: the control cluster).
	Cluster string
	// Workload is the VM's place in an istiod-era mesh; nil for the legacy
	// profiles.
	Workload *Workload

	DeclRange hcl.Range
	Ranges    map[string]hcl.Range
	complete  bool
}

// Istiod exposures (Cluster.IstiodExposure).
const (
	// ExposureILB is a LoadBalancer Service selecting istiod, with the
	// cloud's internal annotations: the modern twin of the legacy ILBs.
	ExposureILB = "ilb"
	// ExposureEastWest is an existing east-west gateway Service, which
	// meshx reads and never changes, and the istiod-gateway Gateway and
	// istiod-vs VirtualService of Istio's
	// samples/multicluster/expose-istiod.yaml, which meshx writes.
	ExposureEastWest = "eastwest"
)

// DefaultEastWestGateway is the Service samples/multicluster/
// gen-eastwest-gateway.sh installs.
const DefaultEastWestGateway = "istio-eastwestgateway"

// Workload is what a VM is in an istiod-era mesh: a member of a
// WorkloadGroup, registered by a WorkloadEntry meshx writes or by istiod's
// auto-registration.
type Workload struct {
	// Group names the WorkloadGroup (attribute workload_group, default
	// the VM's name). VMs sharing a group share its namespace, service
	// account, labels and network.
	Group string
	// Labels select the VM in Services (default {app = Group}).
	Labels map[string]string
	// AutoRegister lets istiod create the WorkloadEntry when the sidecar
	// connects, instead of meshx writing it.
	AutoRegister bool
	// TokenLifetime is the lifetime of the istio-token meshx mints; apply
	// mints a new one in the last third of its life.
	TokenLifetime time.Duration
	// Network defaults to meshx.istio.network; Locality and Weight go into
	// the WorkloadEntry.
	Network  string
	Locality string
	Weight   int
	// Probe is the WorkloadGroup's spec.probe (block probe), nil for
	// none; VMs sharing a group share it.
	Probe *istio.Probe
}

// SSH is how meshx reaches a VM.
type SSH struct {
	User string // default "root"
	Port int    // default 22
	// PrivateKeyFile is an absolute path, or "" when only the agent is used.
	PrivateKeyFile string
	UseAgent       bool
	// KnownHostsFile is an absolute path (default ~/.ssh/known_hosts).
	KnownHostsFile string
	// Bastion is "host:port" or "user@host:port", or "".
	Bastion string
	// Sudo runs remote commands through sudo (needed for a non-root user).
	Sudo bool
	// InsecureTrustOnFirstUse accepts and records an unknown host key
	// (attribute trust_on_first_use).
	InsecureTrustOnFirstUse bool
	// ConnectTimeout bounds opening the connection: TCP, handshake and
	// authentication (attribute connect_timeout); 0 means the provider's
	// default.
	ConnectTimeout time.Duration
}

// SidecarPackage is where one package of the sidecar comes from.
type SidecarPackage struct {
	// Name is the Debian package name: istio-sidecar, or istio-agent,
	// istio-auth-node-agent or istio-proxy before Istio 0.5.
	Name string
	// Source is an http(s) URL, or an absolute local path to upload.
	Source string
	// SHA256 is the lower-case hex digest; required for URLs.
	SHA256 string
}

// IsURL reports whether the package is downloaded by the VM.
func (p *SidecarPackage) IsURL() bool { return isURL(p.Source) }

// EnvMap is a set of KEY=value settings whose values may be known only after
// apply (for example an ILB address).
type EnvMap struct {
	// Values holds the settings whose values are known now.
	Values map[string]string
	// Unknown lists, sorted, the keys whose values are known only after
	// apply.
	Unknown []string
	// Sensitive lists, sorted, the keys whose values derive from sensitive
	// variables; plans must not show them.
	Sensitive []string
	// Expr is the attribute's expression, nil when the attribute is not set.
	// Config.EvalEnv re-evaluates it with apply-time values.
	Expr  hcl.Expression
	Range hcl.Range
}

// Service is a service block, or one instance of one with for_each or
// count: a Kubernetes Service backed by VMs.
type Service struct {
	// Name names the instance: "details", `app["a"]` or "app[0]" (see
	// Cluster.Name).
	Name string
	// Key is the instance's key: each.key, count.index, or plans.NoKey.
	Key plans.InstanceKey
	// ServiceName is the Kubernetes Service's (and Endpoints') name:
	// attribute name, by default the block's label.
	ServiceName string
	// Namespace defaults to the namespace of the service's first VM.
	Namespace string
	// VMs are the names of the VM instances serving it, in the order
	// written; a block with for_each or count adds its instances in key
	// order.
	VMs []string
	// Ports are sorted by port number.
	Ports []Port
	// ServiceAccount goes into the alpha.istio.io/kubernetes-serviceaccounts
	// annotation (default: the VMs' service account).
	ServiceAccount string
	Labels         map[string]string
	Annotations    map[string]string
	// Cluster is the cluster the Service and Endpoints are written to
	// (default: the control cluster).
	Cluster string
	// AllowNamespaceMismatch is set when the service's namespace differs
	// from its VMs' on purpose.
	AllowNamespaceMismatch bool

	DeclRange hcl.Range
	Ranges    map[string]hcl.Range
	complete  bool
}

// Port is one named service port.
type Port struct {
	Name  string
	Port  int
	Range hcl.Range
}

// Variable is a variable block with its final value.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type
	Sensitive   bool
	// Default is the declared default, cty.NilVal when there is none.
	Default cty.Value
	// Value is the final value after precedence, converted to Type.
	Value cty.Value
	// Source says where Value came from: "default", "environment",
	// "file meshx.vars", "-var", "-var-file prod.vars", ….
	Source    string
	DeclRange hcl.Range
}

// Output is an output block.
type Output struct {
	Name        string
	Description string
	Sensitive   bool
	// Expr is the value expression; re-evaluate it with Config.EvalExpr once
	// apply-time values are known.
	Expr hcl.Expression
	// Value is its value at load time; it may be (or contain) unknowns.
	Value     cty.Value
	DeclRange hcl.Range
}

// Known holds values learned during apply, for Config.EvalContext.
type Known struct {
	// ILB maps cluster name → ILB key ("pilot", "dns", …) → its address.
	ILB map[string]map[string]ILBStatus
	// ServiceCIDR maps cluster name → discovered service CIDR, for clusters
	// whose service_cidr is not set.
	ServiceCIDR map[string]string
}

// ILBStatus is a load balancer's status.loadBalancer.ingress[0].
type ILBStatus struct {
	IP       string
	Hostname string
}

// Address is IP when set, else Hostname.
func (s ILBStatus) Address() string {
	if s.IP != "" {
		return s.IP
	}
	return s.Hostname
}

// Control returns the control cluster, or nil.
func (c *Config) Control() *Cluster {
	for _, cl := range c.Clusters {
		if cl.IsControl() {
			return cl
		}
	}
	return nil
}

// Cluster returns the named cluster, or nil.
func (c *Config) Cluster(name string) *Cluster {
	for _, cl := range c.Clusters {
		if cl.Name == name {
			return cl
		}
	}
	return nil
}

// VM returns the named VM, or nil.
func (c *Config) VM(name string) *VM {
	for _, v := range c.VMs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Service returns the named service, or nil.
func (c *Config) Service(name string) *Service {
	for _, s := range c.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ServicesOn returns the services a VM serves, sorted by name.
func (c *Config) ServicesOn(vm string) []*Service {
	var out []*Service
	for _, s := range c.Services {
		for _, v := range s.VMs {
			if v == vm {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
