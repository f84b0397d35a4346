package planner

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
)

// expandCase is one configuration and the resource instances Expand must
// make of it.
type expandCase struct {
	name string
	src  string
	// instances lists every instance as "address kind target", in the
	// order Expand makes them.
	instances []string
	// deps and triggers are the DependsOn and Triggers of the instances
	// they name; an instance not named has none.
	deps, triggers map[string][]string
	// readOnly and adopt name the instances meshx only reads, and those
	// that may take over an object meshx did not create.
	readOnly, adopt []string
	// attrs are attributes of the named instances' desired objects,
	// rendered with meshOutputs: a subset of the object, compared as JSON
	// (sensitive values as "(sensitive sha256:…)", unknown ones as
	// "(known after apply)").
	attrs map[string]obj
}

// obj and list shorten the attribute values of the table.
type (
	obj  = map[string]any
	list = []any
)

// meshOutputs answers Render as a cluster would once apply created
// everything: each ILB's address, the discovered service CIDR, the
// Citadel secret's certificates and the remote reader's credentials.
var meshOutputs = outputsFunc(func(a plans.Address, name string) (any, bool) {
	switch a.Type {
	case "ilb":
		ip := map[string]string{
			"istio-pilot-ilb": "10.0.0.10", "mixer-ilb": "10.0.0.11", "citadel-ilb": "10.0.0.12",
			"dns-ilb": "10.0.0.13", "istio-ca-ilb": "10.0.0.14",
		}[a.Key]
		switch name {
		case "address", "ip":
			return ip, true
		case "hostname":
			return "", true
		}
	case "info":
		if name == "service_cidr" {
			return "10.96.0.0/12", true
		}
	case "istio_secret":
		switch name {
		case "root-cert.pem", "cert-chain.pem":
			return "PEM " + name + " of " + a.Key, true
		case "key.pem":
			return plans.NewSensitive([]byte("PEM key of " + a.Key)), true
		}
	case "reader":
		switch name {
		case "server":
			return "https://remote1.example:6443", true
		case "ca":
			return "REMOTE CA", true
		case "token":
			return plans.NewSensitive([]byte("reader-token")), true
		}
	}
	return nil, false
})

// sensitive is how attrs write a secret: its fingerprint, marked.
func sensitive(s string) string { return "(sensitive " + plans.Fingerprint([]byte(s)) + ")" }

// TestExpandTable is the core mapping, configuration to resource
// instances, for each profile generation (1.0, 0.8, 0.2), a control
// cluster with a remote, and services, without any cluster or VM.
func TestExpandTable(t *testing.T) {
	for _, tc := range expandCases {
		t.Run(tc.name, func(t *testing.T) {
			exp := expandSource(t, tc.src)
			var rows []string
			deps, triggers := map[string][]string{}, map[string][]string{}
			var readOnly, adopt []string
			byAddr := map[string]providers.Resource{}
			for _, r := range exp.Resources {
				if r.Kind == kube.KindInventory {
					continue // TestExpandInventory's
				}
				a := r.Addr.String()
				byAddr[a] = r
				rows = append(rows, a+" "+r.Kind+" "+r.Target)
				if len(r.DependsOn) > 0 {
					deps[a] = addrStrings(r.DependsOn)
				}
				if len(r.Triggers) > 0 {
					triggers[a] = addrStrings(r.Triggers)
				}
				if r.ReadOnly {
					readOnly = append(readOnly, a)
				}
				if r.Settings.Adopt {
					adopt = append(adopt, a)
				}
				if _, ok := exp.Ranges[r.Addr]; !ok {
					t.Errorf("%s has no source range", a)
				}
			}
			if diff := cmp.Diff(tc.instances, rows); diff != "" {
				t.Errorf("instances (-want +got):\n%s", diff)
			}
			for what, d := range map[string][2]any{
				"DependsOn": {tc.deps, deps}, "Triggers": {tc.triggers, triggers},
				"ReadOnly": {tc.readOnly, readOnly}, "Settings.Adopt": {tc.adopt, adopt},
			} {
				if diff := cmp.Diff(d[0], d[1], cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s (-want +got):\n%s", what, diff)
				}
			}
			for a, want := range tc.attrs {
				r, ok := byAddr[a]
				if !ok {
					t.Errorf("attrs name %s, which Expand did not make", a)
					continue
				}
				o, err := r.Render(meshOutputs)
				if err != nil {
					t.Errorf("render %s: %v", a, err)
					continue
				}
				got := map[string]any{}
				for k := range want {
					v, ok := o[k]
					if !ok {
						t.Errorf("%s has no attribute %q: %v", a, k, o.Keys())
						continue
					}
					got[k] = jsonShape(t, v)
				}
				if diff := cmp.Diff(jsonShape(t, want), jsonShape(t, got)); diff != "" {
					t.Errorf("%s attributes (-want +got):\n%s", a, diff)
				}
			}
		})
	}
}

func addrStrings(as []plans.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// jsonShape returns v as JSON decodes it, with sensitive and unknown
// leaves spelled out, so that int32 and int, []any and []string compare
// equal.
func jsonShape(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(spellOut(v))
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func spellOut(v any) any {
	switch v := v.(type) {
	case plans.Sensitive:
		return "(sensitive " + v.Fingerprint() + ")"
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = spellOut(e)
		}
		return out
	case plans.Object:
		return spellOut(map[string]any(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = spellOut(e)
		}
		return out
	}
	if plans.IsUnknown(v) {
		return "(known after apply)"
	}
	return v
}

// expandCases are the configurations TestExpandTable expands.
var expandCases = []expandCase{
	{
		// Istio 1.0's mesh expansion (install/tools/setupMeshEx.sh and
		// setupIstioVM.sh): the four ILBs of mesh-expansion.yaml, the cluster's
		// facts for the service CIDR, istioctl register's Service and Endpoints,
		// and the VM's packages, files, certificates and units.
		name: "1.0: bookinfo's details and mysqldb on one VM, service CIDR discovered",
		src: `
meshx {
  environment = "demo"
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.20.0.0/16"
  mesh_expansion { load_balancer = "gcp" }
}
vm "ecs1" {
  address   = "192.168.1.5"
  namespace = "bookinfo"
  ssh { private_key_file = "id_ed25519" }
  sidecar_package {
    source = "https://example.com/istio-sidecar.deb"
    sha256 = "2222222222222222222222222222222222222222222222222222222222222222"
  }
}
service "details" {
  namespace = "bookinfo"
  vm        = [vm.ecs1]
  ports     = { http = 9080 }
}
service "mysqldb" {
  namespace = "bookinfo"
  vm        = [vm.ecs1]
  ports     = { mysql = 3306 }
}
`,
		instances: []string{
			`cluster.control.info kube_cluster_info cluster.control`,
			`cluster.control.namespace["istio-system"] kube_namespace cluster.control`,
			`cluster.control.ilb["istio-pilot-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["mixer-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["citadel-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["dns-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.namespace["bookinfo"] kube_namespace cluster.control`,
			`service.details.service kube_service cluster.control`,
			`service.details.endpoints kube_endpoints cluster.control`,
			`service.mysqldb.service kube_service cluster.control`,
			`service.mysqldb.endpoints kube_endpoints cluster.control`,
			`vm.ecs1.package["dnsmasq"] vm_package vm.ecs1`,
			`vm.ecs1.package["istio-sidecar"] vm_package vm.ecs1`,
			`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"] vm_file vm.ecs1`,
			`vm.ecs1.file["/etc/dnsmasq.d/kubedns"] vm_file vm.ecs1`,
			`cluster.control.istio_secret["bookinfo/default"] kube_istio_secret cluster.control`,
			`vm.ecs1.file["/etc/certs/root-cert.pem"] vm_file vm.ecs1`,
			`vm.ecs1.file["/etc/certs/cert-chain.pem"] vm_file vm.ecs1`,
			`vm.ecs1.file["/etc/certs/key.pem"] vm_file vm.ecs1`,
			`vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"] vm_env vm.ecs1`,
			`vm.ecs1.line["/etc/dhcp/dhclient.conf"] vm_line vm.ecs1`,
			`vm.ecs1.unit["dnsmasq"] vm_unit vm.ecs1`,
			`vm.ecs1.unit["istio-auth-node-agent"] vm_unit vm.ecs1`,
			`vm.ecs1.unit["istio"] vm_unit vm.ecs1`,
		},
		deps: map[string][]string{
			`cluster.control.ilb["istio-pilot-ilb"]`:           {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["mixer-ilb"]`:                 {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["citadel-ilb"]`:               {`cluster.control.namespace["istio-system"]`},
			`service.details.service`:                          {`cluster.control.namespace["bookinfo"]`},
			`service.details.endpoints`:                        {`cluster.control.namespace["bookinfo"]`, `service.details.service`},
			`service.mysqldb.service`:                          {`cluster.control.namespace["bookinfo"]`},
			`service.mysqldb.endpoints`:                        {`cluster.control.namespace["bookinfo"]`, `service.mysqldb.service`},
			`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`: {`cluster.control.info`, `cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`:           {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.ecs1.package["dnsmasq"]`},
			`cluster.control.istio_secret["bookinfo/default"]`: {`cluster.control.namespace["bookinfo"]`},
			`vm.ecs1.file["/etc/certs/root-cert.pem"]`:         {`cluster.control.istio_secret["bookinfo/default"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.file["/etc/certs/cert-chain.pem"]`:        {`cluster.control.istio_secret["bookinfo/default"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.file["/etc/certs/key.pem"]`:               {`cluster.control.istio_secret["bookinfo/default"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`:  {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.unit["dnsmasq"]`:                          {`vm.ecs1.package["dnsmasq"]`, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`, `vm.ecs1.line["/etc/dhcp/dhclient.conf"]`},
			`vm.ecs1.unit["istio-auth-node-agent"]`:            {`vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.unit["istio"]`:                            {`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`, `vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`, `vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
		},
		triggers: map[string][]string{
			`vm.ecs1.unit["dnsmasq"]`:               {`vm.ecs1.package["dnsmasq"]`, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`, `vm.ecs1.line["/etc/dhcp/dhclient.conf"]`},
			`vm.ecs1.unit["istio-auth-node-agent"]`: {`vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.unit["istio"]`:                 {`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`, `vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`, `vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
		},
		readOnly: []string{`cluster.control.info`, `cluster.control.istio_secret["bookinfo/default"]`},
		attrs: map[string]obj{
			`cluster.control.ilb["istio-pilot-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "istio-pilot-ilb",
				"namespace":   "istio-system",
				"ports":       list{obj{"name": "http-pilot", "port": 8080, "protocol": "TCP"}, obj{"name": "https-pilot", "port": 15005, "protocol": "TCP"}, obj{"name": "grpc-pilot", "port": 15010, "protocol": "TCP"}, obj{"name": "tls-grpc-pilot", "port": 15011, "protocol": "TCP"}},
				"selector":    obj{"istio": "pilot"},
				"type":        "LoadBalancer",
			},
			`cluster.control.ilb["mixer-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "mixer-ilb",
				"namespace":   "istio-system",
				"ports":       list{obj{"name": "grpc-mixer-mtls", "port": 15004, "protocol": "TCP"}},
				"selector":    obj{"istio": "mixer", "istio-mixer-type": "telemetry"},
				"type":        "LoadBalancer",
			},
			`cluster.control.ilb["citadel-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "citadel-ilb",
				"namespace":   "istio-system",
				"ports":       list{obj{"name": "grpc-citadel", "port": 8060, "protocol": "TCP"}},
				"selector":    obj{"istio": "citadel"},
				"type":        "LoadBalancer",
			},
			`cluster.control.ilb["dns-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "dns-ilb",
				"namespace":   "kube-system",
				"ports":       list{obj{"name": "dns", "port": 53, "protocol": "UDP"}},
				"selector":    obj{"k8s-app": "kube-dns"},
				"type":        "LoadBalancer",
			},
			`service.details.service`: {
				"annotations": obj{"alpha.istio.io/kubernetes-serviceaccounts": "default"},
				"labels":      obj{},
				"name":        "details",
				"namespace":   "bookinfo",
				"ports":       list{obj{"name": "http", "port": 9080, "protocol": "TCP"}},
			},
			`service.details.endpoints`: {
				"labels":    obj{},
				"name":      "details",
				"namespace": "bookinfo",
				"subsets":   list{obj{"addresses": list{"192.168.1.5"}, "ports": list{obj{"name": "http", "port": 9080, "protocol": "TCP"}}}},
			},
			`service.mysqldb.service`: {
				"annotations": obj{"alpha.istio.io/kubernetes-serviceaccounts": "default"},
				"labels":      obj{},
				"name":        "mysqldb",
				"namespace":   "bookinfo",
				"ports":       list{obj{"name": "mysql", "port": 3306, "protocol": "TCP"}},
			},
			`service.mysqldb.endpoints`: {
				"labels":    obj{},
				"name":      "mysqldb",
				"namespace": "bookinfo",
				"subsets":   list{obj{"addresses": list{"192.168.1.5"}, "ports": list{obj{"name": "mysql", "port": 3306, "protocol": "TCP"}}}},
			},
			`vm.ecs1.package["dnsmasq"]`: {
				"name":    "dnsmasq",
				"version": "installed",
			},
			`vm.ecs1.package["istio-sidecar"]`: {
				"name":   "istio-sidecar",
				"sha256": "2222222222222222222222222222222222222222222222222222222222222222",
			},
			`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`: {
				"content": `ISTIO_SERVICE_CIDR=10.96.0.0/12
ISTIO_SYSTEM_NAMESPACE=istio-system
ISTIO_CP_AUTH=MUTUAL_TLS
`,
				"group": "istio-proxy",
				"mode":  "0644",
				"owner": "istio-proxy",
			},
			`vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`: {
				"content": `server=/svc.cluster.local/10.0.0.13
address=/istio-policy/10.0.0.11
address=/istio-telemetry/10.0.0.11
address=/istio-pilot/10.0.0.10
address=/istio-citadel/10.0.0.12
address=/istio-ca/10.0.0.12
address=/istio-policy.istio-system/10.0.0.11
address=/istio-telemetry.istio-system/10.0.0.11
address=/istio-pilot.istio-system/10.0.0.10
address=/istio-citadel.istio-system/10.0.0.12
address=/istio-ca.istio-system/10.0.0.12
`,
				"group": "root",
				"mode":  "0644",
				"owner": "root",
			},
			`cluster.control.istio_secret["bookinfo/default"]`: {
				"name":      "istio.default",
				"namespace": "bookinfo",
			},
			`vm.ecs1.file["/etc/certs/root-cert.pem"]`: {
				"content": "PEM root-cert.pem of bookinfo/default",
				"group":   "istio-proxy",
				"mode":    "0644",
				"owner":   "istio-proxy",
			},
			`vm.ecs1.file["/etc/certs/cert-chain.pem"]`: {
				"content": "PEM cert-chain.pem of bookinfo/default",
				"group":   "istio-proxy",
				"mode":    "0644",
				"owner":   "istio-proxy",
			},
			`vm.ecs1.file["/etc/certs/key.pem"]`: {
				"content": sensitive("PEM key of bookinfo/default"),
				"group":   "istio-proxy",
				"mode":    "0600",
				"owner":   "istio-proxy",
			},
			`vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`: {
				"ISTIO_INBOUND_PORTS": "3306,9080",
				"ISTIO_NAMESPACE":     "bookinfo",
				"ISTIO_PILOT_PORT":    "15005",
				"ISTIO_SERVICE":       "details",
				"group":               "istio-proxy",
				"managed_keys":        list{"ISTIO_INBOUND_PORTS", "ISTIO_NAMESPACE", "ISTIO_PILOT_PORT", "ISTIO_SERVICE"},
				"mode":                "0644",
				"owner":               "istio-proxy",
			},
			`vm.ecs1.line["/etc/dhcp/dhclient.conf"]`: {
				"line":    "prepend domain-name-servers 127.0.0.1;",
				"path":    "/etc/dhcp/dhclient.conf",
				"present": true,
			},
		},
	},
	{
		// Istio 0.8's cluster.env keys; the cloud's ILB annotations merged with
		// the block's own; Endpoints with mesh_ip, not the SSH address; a
		// sensitive variable making the whole cluster.env sensitive and one
		// sidecar.env key; an ILB address known only at apply; no
		// ISTIO_PILOT_PORT without mutual TLS.
		name: "0.8: no control-plane auth, aws load balancers, a VM by host name with mesh_ip, sensitive and apply-time settings",
		src: `
meshx {
  environment = "demo"
  istio {
    profile            = "0.8"
    control_plane_auth = "NONE"
  }
}
variable "token" {
  sensitive = true
  default   = "s3cr3t"
}
cluster "control" {
  role         = "control"
  pod_cidr     = "10.20.0.0/16"
  service_cidr = "10.100.0.0/20"
  mesh_expansion {
    load_balancer = "aws"
    annotations   = { "example.com/team" = "mesh" }
    wait_timeout  = "2m"
  }
}
vm "ecs1" {
  address   = "vm1.example.com"
  mesh_ip   = "192.168.1.5"
  namespace = "bookinfo"
  ssh { private_key_file = "id_ed25519" }
  sidecar_package {
    source = "https://example.com/istio-sidecar.deb"
    sha256 = "2222222222222222222222222222222222222222222222222222222222222222"
  }
  sidecar_env = {
    TOKEN = var.token
    PILOT = cluster.control.ilb.pilot.address
  }
  cluster_env = { AUTH = "Bearer ${var.token}" }
}
service "details" {
  vm    = vm.ecs1
  ports = { http = 9080 }
}
`,
		instances: []string{
			`cluster.control.namespace["istio-system"] kube_namespace cluster.control`,
			`cluster.control.ilb["istio-pilot-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["mixer-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["citadel-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["dns-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.namespace["bookinfo"] kube_namespace cluster.control`,
			`service.details.service kube_service cluster.control`,
			`service.details.endpoints kube_endpoints cluster.control`,
			`vm.ecs1.package["dnsmasq"] vm_package vm.ecs1`,
			`vm.ecs1.package["istio-sidecar"] vm_package vm.ecs1`,
			`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"] vm_file vm.ecs1`,
			`vm.ecs1.file["/etc/dnsmasq.d/kubedns"] vm_file vm.ecs1`,
			`cluster.control.istio_secret["bookinfo/default"] kube_istio_secret cluster.control`,
			`vm.ecs1.file["/etc/certs/root-cert.pem"] vm_file vm.ecs1`,
			`vm.ecs1.file["/etc/certs/cert-chain.pem"] vm_file vm.ecs1`,
			`vm.ecs1.file["/etc/certs/key.pem"] vm_file vm.ecs1`,
			`vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"] vm_env vm.ecs1`,
			`vm.ecs1.line["/etc/dhcp/dhclient.conf"] vm_line vm.ecs1`,
			`vm.ecs1.unit["dnsmasq"] vm_unit vm.ecs1`,
			`vm.ecs1.unit["istio-auth-node-agent"] vm_unit vm.ecs1`,
			`vm.ecs1.unit["istio"] vm_unit vm.ecs1`,
		},
		deps: map[string][]string{
			`cluster.control.ilb["istio-pilot-ilb"]`:           {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["mixer-ilb"]`:                 {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["citadel-ilb"]`:               {`cluster.control.namespace["istio-system"]`},
			`service.details.service`:                          {`cluster.control.namespace["bookinfo"]`},
			`service.details.endpoints`:                        {`cluster.control.namespace["bookinfo"]`, `service.details.service`},
			`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`: {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`:           {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.ecs1.package["dnsmasq"]`},
			`cluster.control.istio_secret["bookinfo/default"]`: {`cluster.control.namespace["bookinfo"]`},
			`vm.ecs1.file["/etc/certs/root-cert.pem"]`:         {`cluster.control.istio_secret["bookinfo/default"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.file["/etc/certs/cert-chain.pem"]`:        {`cluster.control.istio_secret["bookinfo/default"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.file["/etc/certs/key.pem"]`:               {`cluster.control.istio_secret["bookinfo/default"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`:  {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.unit["dnsmasq"]`:                          {`vm.ecs1.package["dnsmasq"]`, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`, `vm.ecs1.line["/etc/dhcp/dhclient.conf"]`},
			`vm.ecs1.unit["istio-auth-node-agent"]`:            {`vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.unit["istio"]`:                            {`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`, `vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`, `vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
		},
		triggers: map[string][]string{
			`vm.ecs1.unit["dnsmasq"]`:               {`vm.ecs1.package["dnsmasq"]`, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`, `vm.ecs1.line["/etc/dhcp/dhclient.conf"]`},
			`vm.ecs1.unit["istio-auth-node-agent"]`: {`vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
			`vm.ecs1.unit["istio"]`:                 {`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`, `vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`, `vm.ecs1.file["/etc/certs/root-cert.pem"]`, `vm.ecs1.file["/etc/certs/cert-chain.pem"]`, `vm.ecs1.file["/etc/certs/key.pem"]`, `vm.ecs1.package["istio-sidecar"]`},
		},
		readOnly: []string{`cluster.control.istio_secret["bookinfo/default"]`},
		attrs: map[string]obj{
			`cluster.control.ilb["istio-pilot-ilb"]`: {
				"annotations": obj{"example.com/team": "mesh", "service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
				"name":        "istio-pilot-ilb",
				"namespace":   "istio-system",
				"ports":       list{obj{"name": "http-pilot", "port": 8080, "protocol": "TCP"}, obj{"name": "https-pilot", "port": 15005, "protocol": "TCP"}, obj{"name": "grpc-pilot", "port": 15010, "protocol": "TCP"}, obj{"name": "tls-grpc-pilot", "port": 15011, "protocol": "TCP"}},
				"selector":    obj{"istio": "pilot"},
				"type":        "LoadBalancer",
			},
			`service.details.endpoints`: {
				"labels":    obj{},
				"name":      "details",
				"namespace": "bookinfo",
				"subsets":   list{obj{"addresses": list{"192.168.1.5"}, "ports": list{obj{"name": "http", "port": 9080, "protocol": "TCP"}}}},
			},
			`vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`: {
				"content": sensitive("ISTIO_SERVICE_CIDR=10.100.0.0/20\nISTIO_SYSTEM_NAMESPACE=istio-system\nCONTROL_PLANE_AUTH_POLICY=NONE\nISTIO_CP_AUTH=NONE\nAUTH='Bearer s3cr3t'\n"),
				"group":   "istio-proxy",
				"mode":    "0644",
				"owner":   "istio-proxy",
			},
			`vm.ecs1.env["/var/lib/istio/envoy/sidecar.env"]`: {
				"ISTIO_INBOUND_PORTS": "9080",
				"ISTIO_NAMESPACE":     "bookinfo",
				"ISTIO_SERVICE":       "details",
				"PILOT":               "10.0.0.10",
				"TOKEN":               sensitive("s3cr3t"),
				"group":               "istio-proxy",
				"managed_keys":        list{"ISTIO_INBOUND_PORTS", "ISTIO_NAMESPACE", "ISTIO_SERVICE", "PILOT", "TOKEN"},
				"mode":                "0644",
				"owner":               "istio-proxy",
			},
		},
	},
	{
		// Istio 0.2's Compute Engine tutorial: pilot on 8080 and mixer on 9091
		// without port names, istio-ca-ilb, three packages installed in
		// setupIstioVM.sh's order before the units start, only root-cert.pem
		// (gceMachineSetup), cluster.env with the service CIDR alone and
		// kubedns with the istio-ca names, line for line as the tutorial's
		// `cat` shows them.
		name: "0.2: the GCE tutorial's cluster, three packages and the root certificate alone",
		src: `
meshx {
  environment = "gce"
  istio { profile = "0.2" }
}
cluster "control" {
  role         = "control"
  pod_cidr     = "10.56.0.0/14"
  service_cidr = "10.63.240.0/20"
  mesh_expansion { load_balancer = "gcp" }
}
vm "istio-vm" {
  address    = "10.150.0.5"
  namespace  = "vm"
  certs_mode = "root-only"
  ssh { private_key_file = "id_ed25519" }
  package "istio-proxy" {
    source = "https://example.com/istio-proxy.deb"
    sha256 = "2222222222222222222222222222222222222222222222222222222222222222"
  }
  package "istio-agent" {
    source = "https://example.com/istio-agent.deb"
    sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
  }
  package "istio-auth-node-agent" {
    source = "https://example.com/istio-auth-node-agent.deb"
    sha256 = "1111111111111111111111111111111111111111111111111111111111111111"
  }
}
service "mysqldb" {
  vm    = vm.istio-vm
  ports = [3306]
}
`,
		instances: []string{
			`cluster.control.namespace["istio-system"] kube_namespace cluster.control`,
			`cluster.control.ilb["istio-pilot-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["mixer-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["istio-ca-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["dns-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.namespace["vm"] kube_namespace cluster.control`,
			`service.mysqldb.service kube_service cluster.control`,
			`service.mysqldb.endpoints kube_endpoints cluster.control`,
			`vm.istio-vm.package["dnsmasq"] vm_package vm.istio-vm`,
			`vm.istio-vm.package["istio-agent"] vm_package vm.istio-vm`,
			`vm.istio-vm.package["istio-auth-node-agent"] vm_package vm.istio-vm`,
			`vm.istio-vm.package["istio-proxy"] vm_package vm.istio-vm`,
			`vm.istio-vm.file["/var/lib/istio/envoy/cluster.env"] vm_file vm.istio-vm`,
			`vm.istio-vm.file["/etc/dnsmasq.d/kubedns"] vm_file vm.istio-vm`,
			`cluster.control.istio_secret["vm/default"] kube_istio_secret cluster.control`,
			`vm.istio-vm.file["/etc/certs/root-cert.pem"] vm_file vm.istio-vm`,
			`vm.istio-vm.env["/var/lib/istio/envoy/sidecar.env"] vm_env vm.istio-vm`,
			`vm.istio-vm.line["/etc/dhcp/dhclient.conf"] vm_line vm.istio-vm`,
			`vm.istio-vm.unit["dnsmasq"] vm_unit vm.istio-vm`,
			`vm.istio-vm.unit["istio-auth-node-agent"] vm_unit vm.istio-vm`,
			`vm.istio-vm.unit["istio"] vm_unit vm.istio-vm`,
		},
		deps: map[string][]string{
			`cluster.control.ilb["istio-pilot-ilb"]`:               {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["mixer-ilb"]`:                     {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["istio-ca-ilb"]`:                  {`cluster.control.namespace["istio-system"]`},
			`service.mysqldb.service`:                              {`cluster.control.namespace["vm"]`},
			`service.mysqldb.endpoints`:                            {`cluster.control.namespace["vm"]`, `service.mysqldb.service`},
			`vm.istio-vm.package["istio-auth-node-agent"]`:         {`vm.istio-vm.package["istio-agent"]`},
			`vm.istio-vm.package["istio-proxy"]`:                   {`vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`},
			`vm.istio-vm.file["/var/lib/istio/envoy/cluster.env"]`: {`cluster.control.ilb["istio-ca-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`, `vm.istio-vm.package["istio-proxy"]`},
			`vm.istio-vm.file["/etc/dnsmasq.d/kubedns"]`:           {`cluster.control.ilb["istio-ca-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.istio-vm.package["dnsmasq"]`},
			`cluster.control.istio_secret["vm/default"]`:           {`cluster.control.namespace["vm"]`},
			`vm.istio-vm.file["/etc/certs/root-cert.pem"]`:         {`cluster.control.istio_secret["vm/default"]`, `vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`, `vm.istio-vm.package["istio-proxy"]`},
			`vm.istio-vm.env["/var/lib/istio/envoy/sidecar.env"]`:  {`cluster.control.ilb["istio-ca-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`, `vm.istio-vm.package["istio-proxy"]`},
			`vm.istio-vm.unit["dnsmasq"]`:                          {`vm.istio-vm.package["dnsmasq"]`, `vm.istio-vm.file["/etc/dnsmasq.d/kubedns"]`, `vm.istio-vm.line["/etc/dhcp/dhclient.conf"]`},
			`vm.istio-vm.unit["istio-auth-node-agent"]`:            {`vm.istio-vm.file["/etc/certs/root-cert.pem"]`, `vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`, `vm.istio-vm.package["istio-proxy"]`},
			`vm.istio-vm.unit["istio"]`:                            {`vm.istio-vm.file["/var/lib/istio/envoy/cluster.env"]`, `vm.istio-vm.env["/var/lib/istio/envoy/sidecar.env"]`, `vm.istio-vm.file["/etc/certs/root-cert.pem"]`, `vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`, `vm.istio-vm.package["istio-proxy"]`},
		},
		triggers: map[string][]string{
			`vm.istio-vm.unit["dnsmasq"]`:               {`vm.istio-vm.package["dnsmasq"]`, `vm.istio-vm.file["/etc/dnsmasq.d/kubedns"]`, `vm.istio-vm.line["/etc/dhcp/dhclient.conf"]`},
			`vm.istio-vm.unit["istio-auth-node-agent"]`: {`vm.istio-vm.file["/etc/certs/root-cert.pem"]`, `vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`, `vm.istio-vm.package["istio-proxy"]`},
			`vm.istio-vm.unit["istio"]`:                 {`vm.istio-vm.file["/var/lib/istio/envoy/cluster.env"]`, `vm.istio-vm.env["/var/lib/istio/envoy/sidecar.env"]`, `vm.istio-vm.file["/etc/certs/root-cert.pem"]`, `vm.istio-vm.package["istio-agent"]`, `vm.istio-vm.package["istio-auth-node-agent"]`, `vm.istio-vm.package["istio-proxy"]`},
		},
		readOnly: []string{`cluster.control.istio_secret["vm/default"]`},
		attrs: map[string]obj{
			`cluster.control.ilb["istio-pilot-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "istio-pilot-ilb",
				"namespace":   "istio-system",
				"ports":       list{obj{"name": "", "port": 8080, "protocol": "TCP"}},
				"selector":    obj{"istio": "pilot"},
				"type":        "LoadBalancer",
			},
			`cluster.control.ilb["mixer-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "mixer-ilb",
				"namespace":   "istio-system",
				"ports":       list{obj{"name": "", "port": 9091, "protocol": "TCP"}},
				"selector":    obj{"istio": "mixer"},
				"type":        "LoadBalancer",
			},
			`cluster.control.ilb["istio-ca-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "istio-ca-ilb",
				"namespace":   "istio-system",
				"ports":       list{obj{"name": "grpc-ca", "port": 8060, "protocol": "TCP"}},
				"selector":    obj{"istio": "istio-ca"},
				"type":        "LoadBalancer",
			},
			`cluster.control.ilb["dns-ilb"]`: {
				"annotations": obj{"cloud.google.com/load-balancer-type": "Internal"},
				"name":        "dns-ilb",
				"namespace":   "kube-system",
				"ports":       list{obj{"name": "dns", "port": 53, "protocol": "UDP"}},
				"selector":    obj{"k8s-app": "kube-dns"},
				"type":        "LoadBalancer",
			},
			`service.mysqldb.service`: {
				"annotations": obj{"alpha.istio.io/kubernetes-serviceaccounts": "default"},
				"labels":      obj{},
				"name":        "mysqldb",
				"namespace":   "vm",
				"ports":       list{obj{"name": "mysql", "port": 3306, "protocol": "TCP"}},
			},
			`service.mysqldb.endpoints`: {
				"labels":    obj{},
				"name":      "mysqldb",
				"namespace": "vm",
				"subsets":   list{obj{"addresses": list{"10.150.0.5"}, "ports": list{obj{"name": "mysql", "port": 3306, "protocol": "TCP"}}}},
			},
			`vm.istio-vm.package["dnsmasq"]`: {
				"name":    "dnsmasq",
				"version": "installed",
			},
			`vm.istio-vm.package["istio-agent"]`: {
				"name":   "istio-agent",
				"sha256": "0000000000000000000000000000000000000000000000000000000000000000",
			},
			`vm.istio-vm.package["istio-auth-node-agent"]`: {
				"name":   "istio-auth-node-agent",
				"sha256": "1111111111111111111111111111111111111111111111111111111111111111",
			},
			`vm.istio-vm.package["istio-proxy"]`: {
				"name":   "istio-proxy",
				"sha256": "2222222222222222222222222222222222222222222222222222222222222222",
			},
			`vm.istio-vm.file["/var/lib/istio/envoy/cluster.env"]`: {
				"content": `ISTIO_SERVICE_CIDR=10.63.240.0/20
`,
				"group": "istio-proxy",
				"mode":  "0644",
				"owner": "istio-proxy",
			},
			`vm.istio-vm.file["/etc/dnsmasq.d/kubedns"]`: {
				"content": `server=/svc.cluster.local/10.0.0.13
address=/istio-mixer/10.0.0.11
address=/istio-pilot/10.0.0.10
address=/istio-ca/10.0.0.14
address=/istio-mixer.istio-system/10.0.0.11
address=/istio-pilot.istio-system/10.0.0.10
address=/istio-ca.istio-system/10.0.0.14
`,
				"group": "root",
				"mode":  "0644",
				"owner": "root",
			},
			`vm.istio-vm.file["/etc/certs/root-cert.pem"]`: {
				"content": "PEM root-cert.pem of vm/default",
				"group":   "istio-proxy",
				"mode":    "0644",
				"owner":   "istio-proxy",
			},
			`vm.istio-vm.env["/var/lib/istio/envoy/sidecar.env"]`: {
				"ISTIO_INBOUND_PORTS": "3306",
				"ISTIO_NAMESPACE":     "vm",
				"ISTIO_SERVICE":       "mysqldb",
				"group":               "istio-proxy",
				"managed_keys":        list{"ISTIO_INBOUND_PORTS", "ISTIO_NAMESPACE", "ISTIO_SERVICE"},
				"mode":                "0644",
				"owner":               "istio-proxy",
			},
		},
	},
	{
		// generate-kubeconfig.sh's reader account in the remote and
		// create-secret.sh's secret in the control cluster, which adopt names;
		// the control cluster's ILBs exist without VMs, for the remote's
		// sidecars.
		name: "multicluster: a remote cluster's reader and the control plane's secret, no VM",
		src: `
meshx {
  environment = "multicluster"
}
cluster "control" {
  role         = "control"
  pod_cidr     = "172.16.0.0/16"
  service_cidr = "172.19.0.0/20"
  adopt        = true
}
cluster "remote1" {
  pod_cidr       = "172.20.0.0/16"
  service_cidr   = "172.21.0.0/20"
  cluster_id     = "r1"
  token_lifetime = "1h"
}
`,
		instances: []string{
			`cluster.control.namespace["istio-system"] kube_namespace cluster.control`,
			`cluster.control.ilb["istio-pilot-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["mixer-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["citadel-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["dns-ilb"] kube_load_balancer cluster.control`,
			`cluster.remote1.namespace["istio-system"] kube_namespace cluster.remote1`,
			`cluster.remote1.reader kube_reader cluster.remote1`,
			`cluster.remote1.secret kube_remote_secret cluster.control`,
		},
		deps: map[string][]string{
			`cluster.control.ilb["istio-pilot-ilb"]`: {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["mixer-ilb"]`:       {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["citadel-ilb"]`:     {`cluster.control.namespace["istio-system"]`},
			`cluster.remote1.reader`:                 {`cluster.remote1.namespace["istio-system"]`},
			`cluster.remote1.secret`:                 {`cluster.remote1.reader`, `cluster.control.namespace["istio-system"]`},
		},
		adopt: []string{`cluster.control.ilb["istio-pilot-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.remote1.secret`},
		attrs: map[string]obj{
			`cluster.remote1.reader`: {
				"binding":         obj{"name": "istio-multi", "role": "istio-reader", "subjects": list{"istio-system/istio-multi"}},
				"cluster_role":    "istio-reader",
				"namespace":       "istio-system",
				"rules":           list{obj{"api_groups": list{""}, "resources": list{"endpoints", "nodes", "pods", "services"}, "verbs": list{"get", "list", "watch"}}},
				"service_account": "istio-multi",
				"token":           obj{"lifetime": "1h0m0s", "ready": true, "source": "request"},
			},
			`cluster.remote1.secret`: {
				"annotations": obj{"networking.istio.io/cluster": "r1"},
				"ca":          "REMOTE CA",
				"data_keys":   list{"r1"},
				"labels":      obj{"istio/multiCluster": "true"},
				"name":        "r1",
				"namespace":   "istio-system",
				"server":      "https://remote1.example:6443",
				"token":       sensitive("reader-token"),
			},
		},
	},
	{
		// A service in a remote cluster, on two VMs: one Endpoints with both IPs
		// sorted, labels and annotations on both objects, the service account
		// annotation; the VMs' certificates come from the control cluster; a VM
		// without a sidecar package gets no istio units.
		name: "services: one service on two VMs without packages, registered in a remote cluster",
		src: `
meshx {
  environment = "svc"
}
cluster "control" {
  role         = "control"
  pod_cidr     = "10.20.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}
cluster "remote1" {
  pod_cidr     = "10.21.0.0/16"
  service_cidr = "10.112.0.0/12"
  adopt        = true
}
vm "a" {
  address   = "192.168.1.6"
  namespace = "shop"
  ssh { private_key_file = "id_ed25519" }
}
vm "b" {
  address   = "192.168.1.5"
  namespace = "shop"
  ssh { private_key_file = "id_ed25519" }
}
service "cart" {
  vm              = [vm.a, vm.b]
  ports           = { http = 8080, grpc = 9090 }
  service_account = "cart-sa"
  labels          = { app = "cart" }
  annotations     = { "example.com/owner" = "shop" }
  cluster         = cluster.remote1
}
`,
		instances: []string{
			`cluster.control.namespace["istio-system"] kube_namespace cluster.control`,
			`cluster.control.ilb["istio-pilot-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["mixer-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["citadel-ilb"] kube_load_balancer cluster.control`,
			`cluster.control.ilb["dns-ilb"] kube_load_balancer cluster.control`,
			`cluster.remote1.namespace["istio-system"] kube_namespace cluster.remote1`,
			`cluster.remote1.reader kube_reader cluster.remote1`,
			`cluster.remote1.secret kube_remote_secret cluster.control`,
			`cluster.remote1.namespace["shop"] kube_namespace cluster.remote1`,
			`service.cart.service kube_service cluster.remote1`,
			`service.cart.endpoints kube_endpoints cluster.remote1`,
			`vm.a.package["dnsmasq"] vm_package vm.a`,
			`vm.a.file["/var/lib/istio/envoy/cluster.env"] vm_file vm.a`,
			`vm.a.file["/etc/dnsmasq.d/kubedns"] vm_file vm.a`,
			`cluster.control.namespace["shop"] kube_namespace cluster.control`,
			`cluster.control.istio_secret["shop/default"] kube_istio_secret cluster.control`,
			`vm.a.file["/etc/certs/root-cert.pem"] vm_file vm.a`,
			`vm.a.file["/etc/certs/cert-chain.pem"] vm_file vm.a`,
			`vm.a.file["/etc/certs/key.pem"] vm_file vm.a`,
			`vm.a.env["/var/lib/istio/envoy/sidecar.env"] vm_env vm.a`,
			`vm.a.line["/etc/dhcp/dhclient.conf"] vm_line vm.a`,
			`vm.a.unit["dnsmasq"] vm_unit vm.a`,
			`vm.b.package["dnsmasq"] vm_package vm.b`,
			`vm.b.file["/var/lib/istio/envoy/cluster.env"] vm_file vm.b`,
			`vm.b.file["/etc/dnsmasq.d/kubedns"] vm_file vm.b`,
			`vm.b.file["/etc/certs/root-cert.pem"] vm_file vm.b`,
			`vm.b.file["/etc/certs/cert-chain.pem"] vm_file vm.b`,
			`vm.b.file["/etc/certs/key.pem"] vm_file vm.b`,
			`vm.b.env["/var/lib/istio/envoy/sidecar.env"] vm_env vm.b`,
			`vm.b.line["/etc/dhcp/dhclient.conf"] vm_line vm.b`,
			`vm.b.unit["dnsmasq"] vm_unit vm.b`,
		},
		deps: map[string][]string{
			`cluster.control.ilb["istio-pilot-ilb"]`:        {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["mixer-ilb"]`:              {`cluster.control.namespace["istio-system"]`},
			`cluster.control.ilb["citadel-ilb"]`:            {`cluster.control.namespace["istio-system"]`},
			`cluster.remote1.reader`:                        {`cluster.remote1.namespace["istio-system"]`},
			`cluster.remote1.secret`:                        {`cluster.remote1.reader`, `cluster.control.namespace["istio-system"]`},
			`service.cart.service`:                          {`cluster.remote1.namespace["shop"]`},
			`service.cart.endpoints`:                        {`cluster.remote1.namespace["shop"]`, `service.cart.service`},
			`vm.a.file["/var/lib/istio/envoy/cluster.env"]`: {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`},
			`vm.a.file["/etc/dnsmasq.d/kubedns"]`:           {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.a.package["dnsmasq"]`},
			`cluster.control.istio_secret["shop/default"]`:  {`cluster.control.namespace["shop"]`},
			`vm.a.file["/etc/certs/root-cert.pem"]`:         {`cluster.control.istio_secret["shop/default"]`},
			`vm.a.file["/etc/certs/cert-chain.pem"]`:        {`cluster.control.istio_secret["shop/default"]`},
			`vm.a.file["/etc/certs/key.pem"]`:               {`cluster.control.istio_secret["shop/default"]`},
			`vm.a.env["/var/lib/istio/envoy/sidecar.env"]`:  {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`},
			`vm.a.unit["dnsmasq"]`:                          {`vm.a.package["dnsmasq"]`, `vm.a.file["/etc/dnsmasq.d/kubedns"]`, `vm.a.line["/etc/dhcp/dhclient.conf"]`},
			`vm.b.file["/var/lib/istio/envoy/cluster.env"]`: {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`},
			`vm.b.file["/etc/dnsmasq.d/kubedns"]`:           {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`, `vm.b.package["dnsmasq"]`},
			`vm.b.file["/etc/certs/root-cert.pem"]`:         {`cluster.control.istio_secret["shop/default"]`},
			`vm.b.file["/etc/certs/cert-chain.pem"]`:        {`cluster.control.istio_secret["shop/default"]`},
			`vm.b.file["/etc/certs/key.pem"]`:               {`cluster.control.istio_secret["shop/default"]`},
			`vm.b.env["/var/lib/istio/envoy/sidecar.env"]`:  {`cluster.control.ilb["citadel-ilb"]`, `cluster.control.ilb["dns-ilb"]`, `cluster.control.ilb["mixer-ilb"]`, `cluster.control.ilb["istio-pilot-ilb"]`},
			`vm.b.unit["dnsmasq"]`:                          {`vm.b.package["dnsmasq"]`, `vm.b.file["/etc/dnsmasq.d/kubedns"]`, `vm.b.line["/etc/dhcp/dhclient.conf"]`},
		},
		triggers: map[string][]string{
			`vm.a.unit["dnsmasq"]`: {`vm.a.package["dnsmasq"]`, `vm.a.file["/etc/dnsmasq.d/kubedns"]`, `vm.a.line["/etc/dhcp/dhclient.conf"]`},
			`vm.b.unit["dnsmasq"]`: {`vm.b.package["dnsmasq"]`, `vm.b.file["/etc/dnsmasq.d/kubedns"]`, `vm.b.line["/etc/dhcp/dhclient.conf"]`},
		},
		readOnly: []string{`cluster.control.istio_secret["shop/default"]`},
		adopt:    []string{`cluster.remote1.namespace["istio-system"]`, `cluster.remote1.reader`, `service.cart.service`, `service.cart.endpoints`},
		attrs: map[string]obj{
			`cluster.remote1.reader`: {
				"binding":         obj{"name": "istio-multi", "role": "istio-reader", "subjects": list{"istio-system/istio-multi"}},
				"cluster_role":    "istio-reader",
				"namespace":       "istio-system",
				"rules":           list{obj{"api_groups": list{""}, "resources": list{"endpoints", "nodes", "pods", "services"}, "verbs": list{"get", "list", "watch"}}},
				"service_account": "istio-multi",
				"token":           obj{"lifetime": "0s", "ready": true, "source": "secret"},
			},
			`service.cart.service`: {
				"annotations": obj{"alpha.istio.io/kubernetes-serviceaccounts": "cart-sa", "example.com/owner": "shop"},
				"labels":      obj{"app": "cart"},
				"name":        "cart",
				"namespace":   "shop",
				"ports":       list{obj{"name": "http", "port": 8080, "protocol": "TCP"}, obj{"name": "grpc", "port": 9090, "protocol": "TCP"}},
			},
			`service.cart.endpoints`: {
				"labels":    obj{"app": "cart"},
				"name":      "cart",
				"namespace": "shop",
				"subsets":   list{obj{"addresses": list{"192.168.1.5", "192.168.1.6"}, "ports": list{obj{"name": "http", "port": 8080, "protocol": "TCP"}, obj{"name": "grpc", "port": 9090, "protocol": "TCP"}}}},
			},
			`vm.a.env["/var/lib/istio/envoy/sidecar.env"]`: {
				"ISTIO_INBOUND_PORTS": "8080,9090",
				"ISTIO_NAMESPACE":     "shop",
				"ISTIO_PILOT_PORT":    "15005",
				"ISTIO_SERVICE":       "cart",
				"group":               "istio-proxy",
				"managed_keys":        list{"ISTIO_INBOUND_PORTS", "ISTIO_NAMESPACE", "ISTIO_PILOT_PORT", "ISTIO_SERVICE"},
				"mode":                "0644",
				"owner":               "istio-proxy",
			},
		},
	},
}

// TestOutputValuesTable evaluates output blocks while planning (no
// instance output known yet) and after apply (meshOutputs): values that
// read apply-time addresses or the discovered service CIDR are unknown
// until then, the rest is known at once; sensitive outputs are only the
// fingerprint of their JSON value, and unknown ones stay unknown rather
// than fingerprinting nothing; values keep their JSON shape (numbers,
// lists, objects).
func TestOutputValuesTable(t *testing.T) {
	cfg := loadSource(t, `
meshx {
  environment = "out"
}
variable "token" {
  sensitive = true
  default   = "s3cr3t"
}
variable "replicas" {
  default = 3
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.20.0.0/16"
  mesh_expansion { load_balancer = "gcp" }
}
cluster "remote1" {
  pod_cidr   = "10.21.0.0/16"
  cluster_id = "r1"
}
vm "ecs1" {
  address   = "192.168.1.5"
  namespace = "bookinfo"
  ssh { private_key_file = "id_ed25519" }
}
service "details" {
  vm    = vm.ecs1
  ports = { http = 9080 }
}
output "pilot_ilb" {
  value = cluster.control.ilb.pilot.address
}
output "dns_ip" {
  value = cluster.control.ilb.dns.ip
}
output "service_cidr" {
  value = cluster.control.service_cidr
}
output "remote_cluster_id" {
  value = cluster.remote1.cluster_id
}
output "fqdn" {
  value = service.details.fqdn
}
output "ports" {
  value = [9080, 9443]
}
output "ratio" {
  value = 0.5
}
output "replicas" {
  value = var.replicas
}
output "vm" {
  value = { name = vm.ecs1.name, mesh = true }
}
output "token" {
  value     = var.token
  sensitive = true
}
output "pilot_secret" {
  value     = cluster.control.ilb.pilot.address
  sensitive = true
}
`)
	exp, diags := Expand(cfg)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	known := []plans.OutputValue{
		{Name: "remote_cluster_id", Value: "r1"},
		{Name: "fqdn", Value: "details.bookinfo.svc.cluster.local"},
		{Name: "ports", Value: []any{int64(9080), int64(9443)}},
		{Name: "ratio", Value: 0.5},
		{Name: "replicas", Value: int64(3)},
		{Name: "vm", Value: map[string]any{"name": "ecs1", "mesh": true}},
		{Name: "token", Value: plans.Fingerprint([]byte(`"s3cr3t"`)), Sensitive: true},
	}
	for _, tc := range []struct {
		name string
		in   providers.Outputs
		want []plans.OutputValue
	}{
		{"planning", noOutputs{}, append([]plans.OutputValue{
			{Name: "pilot_ilb", Value: plans.Unknown},
			{Name: "dns_ip", Value: plans.Unknown},
			{Name: "service_cidr", Value: plans.Unknown},
			{Name: "pilot_secret", Value: plans.Unknown, Sensitive: true},
		}, known...)},
		{"after apply", meshOutputs, append([]plans.OutputValue{
			{Name: "pilot_ilb", Value: "10.0.0.10"},
			{Name: "dns_ip", Value: "10.0.0.13"},
			{Name: "service_cidr", Value: "10.96.0.0/12"},
			{Name: "pilot_secret", Value: plans.Fingerprint([]byte(`"10.0.0.10"`)), Sensitive: true},
		}, known...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, diags := OutputValues(cfg, exp, tc.in)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			shape := func(ovs []plans.OutputValue) []plans.OutputValue {
				out := make([]plans.OutputValue, len(ovs))
				for i, ov := range ovs {
					out[i] = plans.OutputValue{Name: ov.Name, Value: jsonShape(t, ov.Value), Sensitive: ov.Sensitive}
				}
				return out
			}
			byName := func(a, b plans.OutputValue) bool { return a.Name < b.Name }
			if diff := cmp.Diff(shape(tc.want), shape(got), cmpopts.SortSlices(byName)); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		})
	}

	// An ILB address that could smuggle a line into a file is refused
	// here too, naming the instance, and no output is evaluated.
	bad := outputsFunc(func(a plans.Address, name string) (any, bool) {
		if a.Type == "ilb" && name == "ip" {
			return "10.0.0.6\nEVIL=1", true
		}
		return meshOutputs(a, name)
	})
	got, diags := OutputValues(cfg, exp, bad)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Invalid apply-time value") || !strings.Contains(diags.Error(), `cluster.control.ilb[`) {
		t.Errorf("outputs with a bad ILB address: diagnostics %v, want Invalid apply-time value naming the ILB", diags)
	}
	if got != nil {
		t.Errorf("outputs with a bad ILB address: %v, want none", got)
	}
}
