package planner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/config"
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
