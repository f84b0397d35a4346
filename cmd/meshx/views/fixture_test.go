package views

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/providers"
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

func addr(t testing.TB, s string) providers.Address {
	t.Helper()
	a, err := providers.ParseAddress(s)
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
func fullPlan(t testing.TB) *providers.Plan {
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
	return &providers.Plan{
		Environment: "bookinfo",
		Changes: []providers.Change{
			{
				Addr: pilot, Action: providers.Create, Kind: "kube_service", Target: "cluster.control",
				After: providers.Object{
					"name":      "istio-pilot-ilb",
					"namespace": "istio-system",
					"annotations": map[string]any{
						"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet",
					},
					"ports": []any{
						map[string]any{"name": "https-pilot", "port": int64(15011)},
						map[string]any{"name": "grpc", "port": int64(15010)},
					},
					"address": providers.Unknown,
				},
				Precondition: providers.Precondition{Exists: false},
			},
			{
				Addr: ns, Action: providers.NoOp, Kind: "kube_namespace", Target: "cluster.control",
				Before:       providers.Object{"name": "bookinfo"},
				After:        providers.Object{"name": "bookinfo"},
				Precondition: providers.Precondition{Exists: true, Digest: "aa11"},
			},
			{
				Addr: secret, Action: providers.Update, Kind: "kube_remote_secret", Target: "cluster.control",
				Before:       providers.Object{"name": "remote1", "kubeconfig": providers.Fingerprint([]byte("old kubeconfig")), "labels": map[string]any{"istio/multiCluster": "true"}},
				After:        providers.Object{"name": "remote1", "kubeconfig": providers.Fingerprint([]byte("new kubeconfig")), "labels": map[string]any{"istio/multiCluster": "true"}},
				Sensitive:    []string{"kubeconfig"},
				Drift:        true,
				Precondition: providers.Precondition{Exists: true, Digest: "bb22", Details: map[string]string{"resourceVersion": "812"}},
			},
			{
				Addr: endpoints, Action: providers.Update, Kind: "kube_endpoints", Target: "cluster.control", Adopt: true,
				Reason:       "adopting an existing object",
				Before:       providers.Object{"name": "details", "addresses": []any{"10.0.0.5"}, "ports": map[string]any{"http": int64(9080)}},
				After:        providers.Object{"name": "details", "addresses": []any{"10.0.0.5", "10.0.0.6"}, "ports": map[string]any{"http": int64(9080), "grpc": int64(9090)}},
				Precondition: providers.Precondition{Exists: true, Digest: "cc33"},
			},
			{
				Addr: key, Action: providers.Create, Kind: "vm_file", Target: "vm.ecs1",
				After:     providers.Object{"content": providers.Fingerprint([]byte("-----BEGIN PRIVATE KEY-----")), "mode": "0600", "owner": "istio-proxy", "group": "istio-proxy"},
				Sensitive: []string{"content"},
				DependsOn: []providers.Address{pkg},
			},
			{
				Addr: kubedns, Action: providers.Update, Kind: "vm_file", Target: "vm.ecs1",
				Before:       providers.Object{"content": kubednsOld, "mode": "0644", "owner": "root", "group": "root"},
				After:        providers.Object{"content": kubednsNew, "mode": "0644", "owner": "root", "group": "root"},
				Drift:        true,
				DependsOn:    []providers.Address{pilot},
				Precondition: providers.Precondition{Exists: true, Digest: "dd44", Details: map[string]string{"sha256": "0f0f"}},
			},
			{
				Addr: envFile, Action: providers.Create, Kind: "vm_env_file", Target: "vm.ecs1",
				After:     providers.Object{"content": clusterEnv, "mode": "0644"},
				DependsOn: []providers.Address{pkg},
			},
			{
				Addr: pkg, Action: providers.Replace, Kind: "vm_package", Target: "vm.ecs1",
				Reason:       "version cannot change in place",
				Before:       providers.Object{"name": "istio-sidecar", "version": "1.0.0"},
				After:        providers.Object{"name": "istio-sidecar", "version": "1.0.2"},
				Precondition: providers.Precondition{Exists: true, Digest: "ee55"},
			},
			{
				Addr: unit, Action: providers.Update, Kind: "vm_unit", Target: "vm.ecs1",
				Reason:       `inputs changed: vm.ecs1.file["/etc/dnsmasq.d/kubedns"], vm.ecs1.file["/var/lib/istio/envoy/cluster.env"]`,
				Before:       providers.Object{"enabled": true, "active": true},
				After:        providers.Object{"enabled": true, "active": true},
				DependsOn:    []providers.Address{kubedns, envFile, key},
				Precondition: providers.Precondition{Exists: true, Digest: "ff66"},
			},
			{
				Addr: old, Action: providers.Delete, Kind: "vm_file", Target: "vm.old",
				Reason:       "not in configuration",
				Before:       providers.Object{"content": "listen=1\n", "mode": "0644", "owner": "root", "group": "root"},
				Precondition: providers.Precondition{Exists: true, Digest: "0077"},
			},
		},
		Outputs: []providers.OutputValue{
			{Name: "pilot_ilb", Value: providers.Unknown},
			{Name: "token", Value: providers.Fingerprint([]byte("tok")), Sensitive: true},
		},
	}
}

// destroyPlan removes two objects in dependency order.
func destroyPlan(t testing.TB) *providers.Plan {
	unit := addr(t, `vm.ecs1.unit["istio"]`)
	file := addr(t, `vm.ecs1.file["/etc/certs/root-cert.pem"]`)
	return &providers.Plan{
		Environment: "bookinfo",
		Destroy:     true,
		Changes: []providers.Change{
			{Addr: file, Action: providers.Delete, Kind: "vm_file", Target: "vm.ecs1", Reason: "destroy requested",
				Before: providers.Object{"content": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "mode": "0644"}, DependsOn: []providers.Address{unit}},
			{Addr: unit, Action: providers.Delete, Kind: "vm_unit", Target: "vm.ecs1", Reason: "destroy requested",
				Before: providers.Object{"enabled": true, "active": true}},
		},
	}
}
