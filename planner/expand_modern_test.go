package planner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
)

// TestExpandModern: a VM of the istiod era is a WorkloadGroup member with
// a WorkloadEntry (none with auto-registration), behind Services that
// select it, with the files istioctl writes, the token and the hosts line,
// and no dnsmasq, Citadel secret or Endpoints of the legacy profiles.
func TestExpandModern(t *testing.T) {
	for _, auto := range []bool{false, true} {
		dir := t.TempDir()
		src := `
meshx {
  environment = "demo"
  istio { profile = "1.28" }
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.0.0.0/16"
  mesh_expansion { load_balancer = "none" }
}
vm "web" {
  count           = 2
  address         = "192.168.1.${count.index + 5}"
  namespace       = "bookinfo"
  service_account = "web"
  auto_register   = ` + map[bool]string{false: "false", true: "true"}[auto] + `
  ssh { use_agent = true }
  sidecar_package {
    source = "https://example.com/istio-sidecar.deb"
    sha256 = "` + sha + `"
  }
}
service "details" {
  vm    = [vm.web[0], vm.web[1]]
  ports = { http = 9080 }
}
`
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := config.Load(dir, config.LoadOptions{})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		exp, diags := Expand(cfg)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		var got []string
		for _, r := range exp.Resources {
			got = append(got, r.Kind+" "+r.Addr.String())
		}
		want := []string{
			"kube_namespace cluster.control.namespace[\"istio-system\"]",
			"kube_load_balancer cluster.control.ilb[\"istiod-ilb\"]",
			"kube_namespace cluster.control.namespace[\"bookinfo\"]",
			"kube_service_account cluster.control.service_account[\"bookinfo/web\"]",
			"kube_workload_group cluster.control.workload_group[\"bookinfo/web\"]",
		}
		for _, vm := range []string{"web[0]", "web[1]"} {
			if !auto {
				want = append(want, "kube_workload_entry cluster.control.workload_entry[\"bookinfo/"+workloadEntryName(vm)+"\"]")
			}
			want = append(want,
				"vm_package vm."+vm+".package[\"istio-sidecar\"]",
				"vm_file vm."+vm+".file[\"/var/lib/istio/envoy/cluster.env\"]",
				"vm_file vm."+vm+".file[\"/etc/istio/config/mesh\"]",
			)
			if vm == "web[0]" {
				want = append(want, "kube_root_cert cluster.control.root_cert[\"bookinfo\"]")
			}
			want = append(want,
				"vm_file vm."+vm+".file[\"/var/lib/istio/root-cert.pem\"]",
				"vm_file vm."+vm+".file[\"/var/lib/istio/tokens/istio-token\"]",
				"vm_file vm."+vm+".file[\"/etc/systemd/system/istio.service.d/meshx-token.conf\"]",
				"vm_line vm."+vm+".line[\"/etc/hosts\"]",
				"vm_unit vm."+vm+".unit[\"istio\"]",
			)
		}
		want = append(want, "kube_service service.details.service", "kube_inventory cluster.control.inventory")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("auto_register %v: instances (-want +got):\n%s", auto, diff)
		}
		if len(exp.tokens) != 2 {
			t.Errorf("%d token sources, want 2", len(exp.tokens))
		}
	}
	for in, want := range map[string]string{"ecs1": "ecs1", "web[0]": "web-0", `web["Eu_West"]`: "web-eu-west"} {
		if got := workloadEntryName(in); got != want {
			t.Errorf("workloadEntryName(%q) = %q, want %q", in, got, want)
		}
	}
}

const sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// TestExpandEastWest: istiod_exposure = "eastwest" reads the east-west
// gateway Service instead of declaring istiod-ilb, writes the
// istiod-gateway Gateway and the VirtualService of expose-istiod.yaml
// (istiod-vs-<rev> for a revision), and the VMs' hosts line waits for
// both.
func TestExpandEastWest(t *testing.T) {
	for _, tc := range []struct{ revision, gateway, vs string }{
		{"", "istio-eastwestgateway", "istiod-vs"},
		{"1-28", "eastwest", "istiod-vs-1-28"},
	} {
		rev, gw := "", ""
		if tc.revision != "" {
			rev = `revision = "` + tc.revision + `"`
		}
		if tc.gateway != "istio-eastwestgateway" {
			gw = `eastwest_gateway = "` + tc.gateway + `"`
		}
		src := `
meshx {
  environment = "demo"
  istio {
    profile = "1.28"
    ` + rev + `
  }
}
cluster "control" {
  role            = "control"
  pod_cidr        = "10.0.0.0/16"
  istiod_exposure = "eastwest"
  ` + gw + `
}
vm "web" {
  address   = "192.168.1.5"
  namespace = "bookinfo"
  ssh { use_agent = true }
}
output "istiod" { value = cluster.control.ilb.istiod.name }
`
		cfg := loadSource(t, src)
		if got := cfg.Outputs[0].Value.AsString(); got != tc.gateway {
			t.Errorf("cluster.control.ilb.istiod.name = %q, want %q", got, tc.gateway)
		}
		exp, diags := Expand(cfg)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		byAddr := map[string]providers.Resource{}
		var got []string
		for _, r := range exp.Resources {
			byAddr[r.Addr.String()] = r
			if r.Target == "cluster.control" && r.Kind != "kube_inventory" {
				got = append(got, r.Kind+" "+r.Addr.String())
			}
		}
		gwAddr := `cluster.control.eastwest_gateway["istio-system/` + tc.gateway + `"]`
		want := []string{
			"kube_load_balancer " + gwAddr,
			`kube_gateway cluster.control.gateway["istio-system/istiod-gateway"]`,
			`kube_virtual_service cluster.control.virtual_service["istio-system/` + tc.vs + `"]`,
			`kube_namespace cluster.control.namespace["bookinfo"]`,
			`kube_service_account cluster.control.service_account["bookinfo/default"]`,
			`kube_workload_group cluster.control.workload_group["bookinfo/web"]`,
			`kube_workload_entry cluster.control.workload_entry["bookinfo/web"]`,
			`kube_root_cert cluster.control.root_cert["bookinfo"]`,
			`kube_namespace cluster.control.namespace["istio-system"]`, // the inventory's
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("revision %q: control cluster instances (-want +got):\n%s", tc.revision, diff)
		}
		if r := byAddr[gwAddr]; !r.ReadOnly || !r.AwaitReady || r.Reference == "" {
			t.Errorf("the east-west gateway is not read by reference: ReadOnly %v, AwaitReady %v, Reference %q", r.ReadOnly, r.AwaitReady, r.Reference)
		}
		var deps []string
		for _, d := range byAddr[`vm.web.line["/etc/hosts"]`].DependsOn {
			deps = append(deps, d.String())
		}
		for _, d := range want[:3] {
			_, addr, _ := strings.Cut(d, " ")
			if !slices.Contains(deps, addr) {
				t.Errorf("the hosts line does not wait for %s: it depends on %v", addr, deps)
			}
		}
	}
}

// TestExpandProbe: a vm's probe block is the WorkloadGroup's spec.probe
// and, as istioctl copies it, the readinessProbe of the VM's mesh config.
func TestExpandProbe(t *testing.T) {
	src := `
meshx {
  environment = "demo"
  istio { profile = "1.28" }
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.0.0.0/16"
  mesh_expansion { load_balancer = "none" }
}
vm "web" {
  address   = "192.168.1.5"
  namespace = "bookinfo"
  ssh { use_agent = true }
  probe {
    tcp_socket { port = 9080 }
    period            = "5s"
    timeout           = "2s"
    success_threshold = 1
    failure_threshold = 2
  }
}
`
	exp := expandSource(t, src)
	want := map[string]any{"tcpSocket": map[string]any{"port": int64(9080)}, "periodSeconds": int64(5), "timeoutSeconds": int64(2),
		"successThreshold": int64(1), "failureThreshold": int64(2)}
	found := 0
	for _, r := range exp.Resources {
		switch r.Addr.String() {
		case `cluster.control.workload_group["bookinfo/web"]`:
			o := render(t, r)
			if diff := cmp.Diff(want, o["spec"].(map[string]any)["probe"]); diff != "" {
				t.Errorf("WorkloadGroup spec.probe (-want +got):\n%s", diff)
			}
			found++
		case `vm.web.file["` + istio.MeshConfigPath + `"]`:
			o := render(t, r)
			var mesh struct {
				DefaultConfig struct {
					ReadinessProbe map[string]any `json:"readinessProbe"`
				} `json:"defaultConfig"`
			}
			if err := yaml.Unmarshal([]byte(o["content"].(string)), &mesh); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(mesh.DefaultConfig.ReadinessProbe)
			if string(got) != `{"failureThreshold":2,"periodSeconds":5,"successThreshold":1,"tcpSocket":{"port":9080},"timeoutSeconds":2}` {
				t.Errorf("mesh config readinessProbe = %s", got)
			}
			found++
		}
	}
	if found != 2 {
		t.Errorf("found %d of the WorkloadGroup and the mesh config", found)
	}
}

// TestExpandEastWestSharedMesh: with istiod_exposure = "eastwest" and
// mesh_expansion { manage = false }, the istiod-gateway Gateway and the
// istiod-vs VirtualService are another environment's: read by reference at
// the manage attribute, as the ILBs are, so a plan before the owner's apply
// stops there; the VMs' hosts line still waits for them.
func TestExpandEastWestSharedMesh(t *testing.T) {
	exp := expandSource(t, `
meshx {
  environment = "team-a"
  istio { profile = "1.28" }
}
cluster "control" {
  role            = "control"
  pod_cidr        = "10.0.0.0/16"
  istiod_exposure = "eastwest"
  mesh_expansion {
    manage = false
  }
}
vm "web" {
  address   = "192.168.1.5"
  namespace = "team-a"
  ssh { use_agent = true }
}
`)
	hosts := findResource(t, exp, "line", "/etc/hosts")
	var routes int
	for _, r := range exp.Resources {
		if r.Kind != kube.KindGateway && r.Kind != kube.KindVirtualService {
			continue
		}
		routes++
		if !r.ReadOnly || !strings.Contains(r.Reference, "manage = false") || exp.Ranges[r.Addr].Start.Line != 11 {
			t.Errorf("%s: ReadOnly %v, Reference %q, line %d; want a read-only reference at line 11 (manage = false)",
				r.Addr, r.ReadOnly, r.Reference, exp.Ranges[r.Addr].Start.Line)
		}
		if r.Settings.Adopt {
			t.Errorf("%s may be adopted; another environment owns it", r.Addr)
		}
		if !slices.Contains(hosts.DependsOn, r.Addr) {
			t.Errorf("the hosts line does not wait for %s", r.Addr)
		}
	}
	if routes != 2 {
		t.Errorf("%d Gateways and VirtualServices, want istiod-gateway and istiod-vs", routes)
	}
}

// TestExpandEastWestGatewaySelector: the istiod-gateway Gateway selects
// the pods the east-west gateway Service selects, whatever their labels,
// and the sample's istio=eastwestgateway when the Service has no selector;
// Unknown while the gateway has no address (its selector is read with it).
func TestExpandEastWestGatewaySelector(t *testing.T) {
	exp := expandSource(t, `
meshx {
  environment = "demo"
  istio { profile = "1.28" }
}
cluster "control" {
  role            = "control"
  pod_cidr        = "10.0.0.0/16"
  istiod_exposure = "eastwest"
}
vm "web" {
  address   = "192.168.1.5"
  namespace = "bookinfo"
  ssh { use_agent = true }
}
`)
	gw := findResource(t, exp, "gateway", "istio-system/istiod-gateway")
	ew := findResource(t, exp, "eastwest_gateway", "istio-system/istio-eastwestgateway")
	if !slices.Contains(gw.DependsOn, ew.Addr) {
		t.Fatalf("the Gateway does not depend on %s: %v", ew.Addr, gw.DependsOn)
	}
	for _, tc := range []struct {
		name     string
		outputs  plans.Object
		selector any
	}{
		{"the Service's selector", plans.Object{"address": "10.0.0.7", "selector": map[string]any{"app": "ew", "gateway.istio.io/managed": "x"}},
			map[string]any{"app": "ew", "gateway.istio.io/managed": "x"}},
		{"a Service without one", plans.Object{"address": "10.0.0.7", "selector": map[string]any{}},
			map[string]any{"istio": "eastwestgateway"}},
		{"not read yet", plans.Object{}, plans.Unknown},
	} {
		obj, err := gw.Render(&planOutputs{values: map[plans.Address]plans.Object{ew.Addr: tc.outputs}})
		if err != nil {
			t.Fatal(err)
		}
		got := obj["spec"].(map[string]any)["selector"]
		if plans.IsUnknown(tc.selector) != plans.IsUnknown(got) || (!plans.IsUnknown(got) && !cmp.Equal(got, tc.selector)) {
			t.Errorf("%s: spec.selector = %v, want %v", tc.name, got, tc.selector)
		}
	}
}
