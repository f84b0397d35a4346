package planner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/istio"
)

// noOutputs answers every Render question with Unknown.
type noOutputs struct{}

func (noOutputs) Output(providers.Address, string) (any, bool) { return providers.Unknown, true }

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
		redacted, sens := providers.Redact(o)
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
