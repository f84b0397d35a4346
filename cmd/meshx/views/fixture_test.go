package views

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshx-dev/meshx/plans"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/meshx/views -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

func addr(t testing.TB, s string) plans.Address {
	t.Helper()
	a, err := plans.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const (
	kubednsOld = `server=/svc.cluster.local/10.0.0.10
server=/cluster.local/10.0.0.10
address=/istio-pilot.istio-system/10.0.0.20
address=/istio-pilot.istio-system.svc/10.0.0.20
address=/istio-policy.istio-system/10.0.0.21
address=/istio-statsd-prom-bridge.istio-system/10.0.0.22
address=/istio-citadel.istio-system/10.0.0.23
address=/zipkin.istio-system/10.0.0.24
address=/mixer.istio-system/10.0.0.25
address=/details.bookinfo/10.0.0.30
`
	kubednsNew = `server=/svc.cluster.local/10.0.0.10
server=/cluster.local/10.0.0.10
address=/istio-pilot.istio-system/10.0.0.40
address=/istio-pilot.istio-system.svc/10.0.0.40
address=/istio-policy.istio-system/10.0.0.21
address=/istio-statsd-prom-bridge.istio-system/10.0.0.22
address=/istio-citadel.istio-system/10.0.0.23
address=/zipkin.istio-system/10.0.0.24
address=/mixer.istio-system/10.0.0.25
address=/details.bookinfo/10.0.0.30
address=/ratings.bookinfo/10.0.0.31`
	clusterEnv = `ISTIO_CP_AUTH=MUTUAL_TLS
ISTIO_SERVICE_CIDR=172.19.0.0/20
ISTIO_INBOUND_PORTS=9080
ISTIO_NAMESPACE=bookinfo
- not a marker: a file line that starts like one
`
)

// fullPlan has one change of every kind the views must render: create
// with unknown and nested values, update with a file diff, a sensitive
// change, drift, a restart, an adoption, a replace, an orphan delete and a
// no-op. Values are what the planner produces: redacted, normalised.
func fullPlan(t testing.TB) *plans.Plan {
	pilot := addr(t, `cluster.control.ilb["istio-pilot-ilb"]`)
	ns := addr(t, `cluster.control.namespace["bookinfo"]`)
	secret := addr(t, `cluster.remote1.secret`)
	endpoints := addr(t, `service.details.endpoints`)
	kubedns := addr(t, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`)
	envFile := addr(t, `vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`)
	key := addr(t, `vm.ecs1.file["/etc/certs/key.pem"]`)
	pkg := addr(t, `vm.ecs1.package["istio-sidecar"]`)
	unit := addr(t, `vm.ecs1.unit["istio"]`)
	old := addr(t, `vm.old.file["/etc/old.conf"]`)
	return &plans.Plan{
		Environment: "bookinfo",
		Changes: []plans.Change{
			{
				Addr: pilot, Action: plans.Create, Kind: "kube_service", Target: "cluster.control",
				After: plans.Object{
					"name":      "istio-pilot-ilb",
					"namespace": "istio-system",
					"annotations": map[string]any{
						"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet",
					},
					"ports": []any{
						map[string]any{"name": "https-pilot", "port": int64(15011)},
						map[string]any{"name": "grpc", "port": int64(15010)},
					},
					"address": plans.Unknown,
				},
				Precondition: plans.Precondition{Exists: false},
			},
			{
				Addr: ns, Action: plans.NoOp, Kind: "kube_namespace", Target: "cluster.control",
				Before:       plans.Object{"name": "bookinfo"},
				After:        plans.Object{"name": "bookinfo"},
				Precondition: plans.Precondition{Exists: true, Digest: "aa11"},
			},
			{
				Addr: secret, Action: plans.Update, Kind: "kube_remote_secret", Target: "cluster.control",
				Before:       plans.Object{"name": "remote1", "kubeconfig": plans.Fingerprint([]byte("old kubeconfig")), "labels": map[string]any{"istio/multiCluster": "true"}},
				After:        plans.Object{"name": "remote1", "kubeconfig": plans.Fingerprint([]byte("new kubeconfig")), "labels": map[string]any{"istio/multiCluster": "true"}},
				Sensitive:    []string{"kubeconfig"},
				Drift:        true,
				Precondition: plans.Precondition{Exists: true, Digest: "bb22", Details: map[string]string{"resourceVersion": "812"}},
			},
			{
				Addr: endpoints, Action: plans.Update, Kind: "kube_endpoints", Target: "cluster.control", Adopt: true,
				Reason:       "adopting an existing object",
				Before:       plans.Object{"name": "details", "addresses": []any{"10.0.0.5"}, "ports": map[string]any{"http": int64(9080)}},
				After:        plans.Object{"name": "details", "addresses": []any{"10.0.0.5", "10.0.0.6"}, "ports": map[string]any{"http": int64(9080), "grpc": int64(9090)}},
				Precondition: plans.Precondition{Exists: true, Digest: "cc33"},
			},
			{
				Addr: key, Action: plans.Create, Kind: "vm_file", Target: "vm.ecs1",
				After:     plans.Object{"content": plans.Fingerprint([]byte("-----BEGIN PRIVATE KEY-----")), "mode": "0600", "owner": "istio-proxy", "group": "istio-proxy"},
				Sensitive: []string{"content"},
				DependsOn: []plans.Address{pkg},
			},
			{
				Addr: kubedns, Action: plans.Update, Kind: "vm_file", Target: "vm.ecs1",
				Before:       plans.Object{"content": kubednsOld, "mode": "0644", "owner": "root", "group": "root"},
				After:        plans.Object{"content": kubednsNew, "mode": "0644", "owner": "root", "group": "root"},
				Drift:        true,
				DependsOn:    []plans.Address{pilot},
				Precondition: plans.Precondition{Exists: true, Digest: "dd44", Details: map[string]string{"sha256": "0f0f"}},
			},
			{
				Addr: envFile, Action: plans.Create, Kind: "vm_env_file", Target: "vm.ecs1",
				After:     plans.Object{"content": clusterEnv, "mode": "0644"},
				DependsOn: []plans.Address{pkg},
			},
			{
				Addr: pkg, Action: plans.Replace, Kind: "vm_package", Target: "vm.ecs1",
				Reason:       "version cannot change in place",
				Before:       plans.Object{"name": "istio-sidecar", "version": "1.0.0"},
				After:        plans.Object{"name": "istio-sidecar", "version": "1.0.2"},
				Precondition: plans.Precondition{Exists: true, Digest: "ee55"},
			},
			{
				Addr: unit, Action: plans.Update, Kind: "vm_unit", Target: "vm.ecs1",
				Reason:       `inputs changed: vm.ecs1.file["/etc/dnsmasq.d/kubedns"], vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`,
				Before:       plans.Object{"enabled": true, "active": true},
				After:        plans.Object{"enabled": true, "active": true},
				DependsOn:    []plans.Address{kubedns, envFile, key},
				Precondition: plans.Precondition{Exists: true, Digest: "ff66"},
			},
			{
				Addr: old, Action: plans.Delete, Kind: "vm_file", Target: "vm.old",
				Reason:       "not in configuration",
				Before:       plans.Object{"content": "listen=1\n", "mode": "0644", "owner": "root", "group": "root"},
				Precondition: plans.Precondition{Exists: true, Digest: "0077"},
			},
		},
		Outputs: []plans.OutputValue{
			{Name: "pilot_ilb", Value: plans.Unknown},
			{Name: "token", Value: plans.Fingerprint([]byte("tok")), Sensitive: true},
		},
	}
}

// destroyPlan removes two objects in dependency order.
func destroyPlan(t testing.TB) *plans.Plan {
	unit := addr(t, `vm.ecs1.unit["istio"]`)
	file := addr(t, `vm.ecs1.file["/etc/certs/root-cert.pem"]`)
	return &plans.Plan{
		Environment: "bookinfo",
		Destroy:     true,
		Changes: []plans.Change{
			{Addr: file, Action: plans.Delete, Kind: "vm_file", Target: "vm.ecs1", Reason: "destroy requested",
				Before: plans.Object{"content": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "mode": "0644"}, DependsOn: []plans.Address{unit}},
			{Addr: unit, Action: plans.Delete, Kind: "vm_unit", Target: "vm.ecs1", Reason: "destroy requested",
				Before: plans.Object{"enabled": true, "active": true}},
		},
	}
}
