package planner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// noOutputs answers every Render question with Unknown.
type noOutputs struct{}

func (noOutputs) Output(plans.Address, string) (any, bool) { return plans.Unknown, true }

// TestSensitiveSettingsStaySecret checks that a sensitive variable used in
// sidecar_env makes that key of sidecar.env Sensitive, and used in
// cluster_env makes the whole cluster.env Sensitive, so that what a plan
// holds (the redacted objects) never contains the value.
func TestSensitiveSettingsStaySecret(t *testing.T) {
	const secret = "planner-s3cr3t-marker"
	dir := t.TempDir()
	src := `
meshx {
  environment = "demo"
}
variable "token" {
  sensitive = true
}
cluster "control" {
  role         = "control"
  pod_cidr     = "10.0.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}
vm "v" {
  address = "192.168.1.5"
  ssh { use_agent = true }
  sidecar_env = {
    TOKEN = var.token
    PLAIN = "visible"
  }
  cluster_env = {
    AUTH = "Bearer ${var.token}"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{Env: []string{config.EnvVarPrefix + "token=" + secret}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	exp, diags := Expand(cfg)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := map[string][]string{
		fmt.Sprintf(`vm.v.env[%q]`, istio.SidecarEnvPath):  {"TOKEN"},
		fmt.Sprintf(`vm.v.file[%q]`, istio.ClusterEnvPath): {"content"},
	}
	got := map[string][]string{}
	for _, r := range exp.Resources {
		if _, ok := want[r.Addr.String()]; !ok {
			continue
		}
		o, err := r.Render(noOutputs{})
		if err != nil {
			t.Fatalf("render %s: %v", r.Addr, err)
		}
		redacted, sens := plans.Redact(o)
		got[r.Addr.String()] = sens
		b, err := json.Marshal(redacted)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secret) || strings.Contains(fmt.Sprint(o), secret) {
			t.Errorf("%s shows the secret: %s", r.Addr, b)
		}
		if r.Addr.Type == "env" && redacted["PLAIN"] != "visible" {
			t.Errorf("%s: PLAIN = %v, want it in clear", r.Addr, redacted["PLAIN"])
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sensitive attributes (-want +got):\n%s", diff)
	}
}

// outputsFunc answers every output by name, whatever the instance.
type outputsFunc func(a plans.Address, name string) (any, bool)

func (f outputsFunc) Output(a plans.Address, name string) (any, bool) { return f(a, name) }

// loadSource loads one configuration file, beside an SSH key id_ed25519.
func loadSource(t *testing.T, src string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "id_ed25519"), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{HomeDir: dir})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return cfg
}

// expandSource loads one configuration file and expands it.
func expandSource(t *testing.T, src string) Expansion {
	t.Helper()
	exp, diags := Expand(loadSource(t, src))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return exp
}

func findResource(t *testing.T, exp Expansion, typ, key string) providers.Resource {
	t.Helper()
	for _, r := range exp.Resources {
		if r.Addr.Type == typ && r.Addr.Key == key {
			return r
		}
	}
	t.Fatalf("no %s %q in the expansion", typ, key)
	return providers.Resource{}
}

func TestApplyTimeAddressesAreCheckedBeforeFiles(t *testing.T) {
	exp := expandSource(t, `
meshx {
  environment = "test"
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
}
vm "a" {
  address = "192.168.2.1"
  ssh {
    private_key_file = "id_ed25519"
  }
  cluster_env = {
    PILOT = cluster.control.ilb.pilot.address
  }
}
`)
	ce := findResource(t, exp, "file", istio.ClusterEnvPath)
	kd := findResource(t, exp, "file", istio.KubednsPath)
	for _, tc := range []struct {
		name, ip, hostname string
		cidr               string // the discovered service CIDR; "" for 10.96.0.0/12
		wantErr            string // "" for none
	}{
		{"ip", "10.0.0.6", "", "", ""},
		{"ipv6", "fd00::6", "", "", ""},
		{"hostname", "", "ilb.example.internal", "", ""},
		{"newline in hostname", "", "ilb.example\nserver=/#/6.6.6.6", "", `"ilb.example\nserver=/#/6.6.6.6" is neither an IP address nor a DNS name`},
		{"shell in hostname", "", "x;touch /tmp/p", "", `"x;touch /tmp/p" is neither`},
		{"newline in ip", "10.0.0.6\nEVIL=1", "", "", `"10.0.0.6\nEVIL=1" is neither`},
		{"zone in ip", "fe80::1%eth0", "", "", `"fe80::1%eth0" is neither`},
		{"newline in discovered CIDR", "10.0.0.6", "", "10.96.0.0/12\nEVIL=1", `the discovered service CIDR "10.96.0.0/12\nEVIL=1" is not a CIDR`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := outputsFunc(func(a plans.Address, name string) (any, bool) {
				switch name {
				case "ip":
					return tc.ip, true
				case "hostname":
					return tc.hostname, true
				case "address":
					if tc.ip != "" {
						return tc.ip, true
					}
					return tc.hostname, true
				case "service_cidr":
					if tc.cidr != "" {
						return tc.cidr, true
					}
					return "10.96.0.0/12", true
				}
				return nil, false
			})
			rs := []providers.Resource{ce, kd}
			if tc.cidr != "" {
				rs = rs[:1] // kubedns does not use it
			}
			for _, r := range rs {
				obj, err := r.Render(in)
				if tc.wantErr == "" {
					if err != nil {
						t.Fatalf("%s: %v", r.Addr, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("%s rendered, want an error; content:\n%v", r.Addr, obj["content"])
				}
				if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "cluster.control.") {
					t.Errorf("%s: error %q, want it to name the instance and contain %q", r.Addr, err, tc.wantErr)
				}
			}
		})
	}
}

// TestExpandSharedMesh expands an environment that uses another one's load
// balancers and remote secret: those are read-only references located at
// their manage attribute, and nothing else is declared for them.
func TestExpandSharedMesh(t *testing.T) {
	exp := expandSource(t, `
meshx { environment = "team-a" }
cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion {
    manage = false
  }
}
cluster "remote1" {
  pod_cidr     = "10.1.0.0/16"
  service_cidr = "10.2.0.0/16"
  remote_secret { manage = false }
}
vm "app1" {
  address   = "10.0.5.7"
  namespace = "team-a"
  ssh { private_key_file = "id_ed25519" }
}
`)
	var ilbs []plans.Address
	for _, r := range exp.Resources {
		switch {
		case r.Addr.Type == "ilb":
			ilbs = append(ilbs, r.Addr)
			if !r.ReadOnly || r.Reference == "" || len(r.DependsOn) > 0 || exp.Ranges[r.Addr].Start.Line != 8 {
				t.Errorf("%s: ReadOnly %v, Reference %q, DependsOn %v, line %d; want a read-only reference at line 8 with no dependencies",
					r.Addr, r.ReadOnly, r.Reference, r.DependsOn, exp.Ranges[r.Addr].Start.Line)
			}
		case r.Addr.Name == "remote1" && r.Addr.Type == "secret":
			if !r.ReadOnly || r.Reference == "" || len(r.DependsOn) > 0 || exp.Ranges[r.Addr].Start.Line != 14 {
				t.Errorf("%s: ReadOnly %v, Reference %q, DependsOn %v, line %d; want a read-only reference at line 14",
					r.Addr, r.ReadOnly, r.Reference, r.DependsOn, exp.Ranges[r.Addr].Start.Line)
			}
		case r.Target == "cluster.remote1":
			t.Errorf("%s is declared; the owning environment manages it", r.Addr)
		}
	}
	if len(ilbs) == 0 {
		t.Fatal("no ILB references; the VM's kubedns file needs their addresses")
	}
	kubedns := findResource(t, exp, "file", istio.KubednsPath)
	for _, a := range ilbs {
		if !slices.Contains(kubedns.DependsOn, a) {
			t.Errorf("kubedns does not depend on %s", a)
		}
	}
}
