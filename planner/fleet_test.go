package planner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
)

// fleetConfig is three VMs from a map, a service spread over all of them
// and a service per VM.
const fleetConfig = `
meshx { environment = "fleet" }
variable "web" { type = map(string) }
cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}
vm "web" {
  for_each  = var.web
  address   = each.value
  namespace = "shop"
  ssh { use_agent = true }
}
service "frontend" {
  vm    = vm.web
  ports = { http = 8080 }
}
service "admin" {
  for_each = vm.web
  name     = "admin-${each.key}"
  vm       = each.value
  ports    = { admin = 8081 }
}
`

// loadFleet loads fleetConfig with the web map given as HCL.
func loadFleet(t *testing.T, web string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(fleetConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{Vars: []config.VarArg{{Assign: "web=" + web}}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return cfg
}

func expandFleet(t *testing.T, web string) map[string]providers.Resource {
	t.Helper()
	exp, diags := Expand(loadFleet(t, web))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	out := map[string]providers.Resource{}
	for _, r := range exp.Resources {
		out[r.Addr.String()] = r
	}
	return out
}

func render(t *testing.T, r providers.Resource) plans.Object {
	t.Helper()
	o, err := r.Render(noOutputs{})
	if err != nil {
		t.Fatalf("render %s: %v", r.Addr, err)
	}
	return o
}

// TestExpandFleet: every instance of a vm block with for_each gets the
// whole machine setup under its own address and target; one service
// block over vm.web lists every instance's IP in its Endpoints; a service
// with for_each makes one Service per key, named by its name attribute.
func TestExpandFleet(t *testing.T) {
	res := expandFleet(t, `{ a = "192.168.10.1", b = "192.168.10.2", c = "192.168.10.3" }`)
	for _, key := range []string{"a", "b", "c"} {
		inst := fmt.Sprintf(`vm.web[%q]`, key)
		for _, suffix := range []string{`.package["dnsmasq"]`, `.unit["dnsmasq"]`, fmt.Sprintf(`.file[%q]`, istio.ClusterEnvPath), fmt.Sprintf(`.env[%q]`, istio.SidecarEnvPath)} {
			r, ok := res[inst+suffix]
			if !ok {
				t.Errorf("no %s%s", inst, suffix)
				continue
			}
			if r.Target != inst {
				t.Errorf("%s%s has target %q, want %q", inst, suffix, r.Target, inst)
			}
		}
		svc, ok := res[fmt.Sprintf(`service.admin[%q].service`, key)]
		if !ok {
			t.Fatalf(`no service.admin[%q].service`, key)
		}
		if got := render(t, svc)["name"]; got != "admin-"+key {
			t.Errorf(`service.admin[%q] is named %v, want admin-%s`, key, got, key)
		}
		env := render(t, res[inst+fmt.Sprintf(`.env[%q]`, istio.SidecarEnvPath)])
		if got := env["ISTIO_INBOUND_PORTS"]; got != "8080,8081" {
			t.Errorf("%s inbound ports = %v, want 8080,8081 (frontend and its admin service)", inst, got)
		}
	}
	ep := render(t, res["service.frontend.endpoints"])
	want := []any{map[string]any{
		"addresses": []any{"192.168.10.1", "192.168.10.2", "192.168.10.3"},
		"ports":     []any{map[string]any{"name": "http", "port": int64(8080), "protocol": "TCP"}},
	}}
	if diff := cmp.Diff(want, plans.Normalize(ep["subsets"])); diff != "" {
		t.Errorf("frontend endpoints subsets (-want +got):\n%s", diff)
	}
}

// TestExpandFleetRemoveKey: removing one key from the map removes exactly
// that instance's resources (its VM setup and its own service) and its
// address from the shared Endpoints; nothing else changes.
func TestExpandFleetRemoveKey(t *testing.T) {
	before := expandFleet(t, `{ a = "192.168.10.1", b = "192.168.10.2", c = "192.168.10.3" }`)
	after := expandFleet(t, `{ a = "192.168.10.1", c = "192.168.10.3" }`)
	var gone []string
	for a := range before {
		if _, ok := after[a]; !ok {
			gone = append(gone, a)
		}
	}
	for a := range after {
		if _, ok := before[a]; !ok {
			t.Errorf("%s is new after removing a key", a)
		}
	}
	for _, a := range gone {
		if !strings.HasPrefix(a, `vm.web["b"].`) && !strings.HasPrefix(a, `service.admin["b"].`) {
			t.Errorf("%s is gone, but it is not vm.web[\"b\"]'s", a)
		}
	}
	if !slices.Contains(gone, `vm.web["b"].unit["dnsmasq"]`) || !slices.Contains(gone, `service.admin["b"].endpoints`) {
		t.Errorf("gone = %v; want vm.web[\"b\"]'s units and service.admin[\"b\"]", gone)
	}
	var changed []string
	for a, r := range after {
		if !cmp.Equal(plans.Normalize(render(t, before[a])), plans.Normalize(render(t, r))) {
			changed = append(changed, a)
		}
	}
	slices.Sort(changed)
	if diff := cmp.Diff([]string{"cluster.control.inventory", "service.frontend.endpoints"}, changed); diff != "" {
		t.Errorf("instances rendered differently (-want +got):\n%s", diff)
	}
	subsets := render(t, after["service.frontend.endpoints"])["subsets"].([]any)
	if got := plans.Normalize(subsets[0].(map[string]any)["addresses"]); !cmp.Equal(got, []any{"192.168.10.1", "192.168.10.3"}) {
		t.Errorf("frontend endpoints after removing b = %v", got)
	}
}

// TestFleetTargets: -target takes a whole block of instances (vm.web), one
// instance (vm.web["a"]), or a resource of one; an unknown key is
// refused before anything is contacted, with the closest instance.
func TestFleetTargets(t *testing.T) {
	cfg := loadFleet(t, `{ a = "192.168.10.1", b = "192.168.10.2" }`)
	for _, tc := range []struct {
		target string
		want   string // "" for no diagnostic
	}{
		{"vm.web", ""},
		{`vm.web["a"]`, ""},
		{`vm.web["b"].unit["dnsmasq"]`, ""},
		{`service.admin["a"]`, ""},
		{`vm.web["z"]`, "names a vm the configuration does not declare"},
		{`vm.wbe["a"]`, `Did you mean -target=vm.web["a"]?`},
		{"vm.wbe", "Did you mean -target=vm.web?"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			a, err := plans.ParseAddress(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			diags := CheckTargets(cfg, []plans.Address{a})
			if tc.want == "" {
				if diags.HasErrors() {
					t.Errorf("CheckTargets: %s", diags.Error())
				}
				return
			}
			if !diags.HasErrors() || !strings.Contains(diags[0].Detail, tc.want) {
				t.Errorf("CheckTargets = %v, want a detail with %q", diags, tc.want)
			}
		})
	}
	// Selecting one instance keeps only its resources (and what they
	// depend on on the control cluster).
	exp, _ := Expand(cfg)
	a, _ := plans.ParseAddress(`vm.web["a"]`)
	sel, diags := selectTargets(exp.Resources, []plans.Address{a}, false)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for _, r := range sel {
		if r.Addr.Block == "vm" && r.Target != `vm.web["a"]` {
			t.Errorf("-target=vm.web[\"a\"] selected %s", r.Addr)
		}
	}
}

// TestLeftVMs: an address leaving a service's Endpoints that no VM of the
// configuration has is a warning naming it, what stays on that VM and
// how to undo it; one that a declared VM still has (it left this service
// only) is not.
func TestLeftVMs(t *testing.T) {
	cfg := loadFleet(t, `{ a = "192.168.10.1", c = "192.168.10.3" }`)
	ep := func(ips ...string) plans.Object {
		addrs := make([]any, len(ips))
		for i, ip := range ips {
			addrs[i] = ip
		}
		return plans.Object{"name": "frontend", "subsets": []any{map[string]any{"addresses": addrs}}}
	}
	frontend, _ := plans.ParseAddress("service.frontend.endpoints")
	admin, _ := plans.ParseAddress(`service.admin["b"].endpoints`)
	p := &plans.Plan{Environment: "fleet", Changes: []plans.Change{
		{Addr: admin, Action: plans.Delete, Kind: kube.KindEndpoints, Before: ep("192.168.10.2")},
		{Addr: frontend, Action: plans.Update, Kind: kube.KindEndpoints,
			Before: ep("192.168.10.1", "192.168.10.2", "192.168.10.3"), After: ep("192.168.10.3")},
	}}
	rng := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 17}}
	diags := LeftVMs(cfg, p, map[plans.Address]hcl.Range{frontend: rng}, nil)
	if len(diags) != 1 {
		t.Fatalf("diags = %v, want one warning for 192.168.10.2", diags)
	}
	d := diags[0]
	if d.Severity != hcl.DiagWarning || d.Summary != "VM left as it is: 192.168.10.2" {
		t.Errorf("diagnostic %v %q", d.Severity, d.Summary)
	}
	for _, want := range []string{`service.admin["b"], service.frontend`, "/var/lib/meshx/fleet.json", `meshx destroy -target=vm.NAME`} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail lacks %q: %s", want, d.Detail)
		}
	}
	if d.Subject == nil || d.Subject.Filename != "main.hcl" {
		t.Errorf("subject = %v, want the frontend block", d.Subject)
	}
}

// TestExpandRemoteClusters: remote clusters from a for_each map each get
// their reader and their secret in the control cluster, at their instance
// addresses and named by their cluster_id.
func TestExpandRemoteClusters(t *testing.T) {
	dir := t.TempDir()
	src := `
meshx { environment = "mc" }
cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}
cluster "remote" {
  for_each   = { eu = "172.20.0.0/16", us = "172.22.0.0/16" }
  pod_cidr   = each.value
  cluster_id = "remote-${each.key}"
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
	got := map[string]string{}
	for _, r := range exp.Resources {
		if r.Kind == kube.KindReader || r.Kind == kube.KindRemoteSecret {
			got[r.Addr.String()] = r.Target
		}
	}
	want := map[string]string{
		`cluster.remote["eu"].reader`: `cluster.remote["eu"]`,
		`cluster.remote["eu"].secret`: "cluster.control",
		`cluster.remote["us"].reader`: `cluster.remote["us"]`,
		`cluster.remote["us"].secret`: "cluster.control",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("remote instances (-want +got):\n%s", diff)
	}
	for _, r := range exp.Resources {
		if r.Addr.String() == `cluster.remote["us"].secret` {
			if o := render(t, r); o["name"] != "remote-us" {
				t.Errorf(`cluster.remote["us"].secret renders %v, want the secret named remote-us`, o)
			}
		}
	}
}
