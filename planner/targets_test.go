package planner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// TestUndeclaredTargetFailsBeforeConnecting: a -target naming a cluster
// or VM the configuration does not declare is an error, with a "did you
// mean", before anything is contacted.
func TestUndeclaredTargetFailsBeforeConnecting(t *testing.T) {
	dir := t.TempDir()
	src := `
meshx { environment = "t" }
cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}
vm "ecs1" {
  address = "192.168.1.5"
  ssh { use_agent = true }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"vm.ecs2", []string{"-target=vm.ecs2 names a vm the configuration does not declare", "Did you mean -target=vm.ecs1?"}},
		{`vm.ecs2.file["/etc/x"]`, []string{`Did you mean -target=vm.ecs1.file["/etc/x"]?`}},
		{"cluster.remote9", []string{"-target=cluster.remote9 names a cluster", "Run meshx plan without -target"}},
	} {
		t.Run(tc.target, func(t *testing.T) {
			a, err := plans.ParseAddress(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			connected := false
			_, _, diags := Make(context.Background(), cfg, Options{
				Targets: []plans.Address{a},
				Connect: func(context.Context, *config.Config) (map[string]providers.Provider, error) {
					connected = true
					return map[string]providers.Provider{}, nil
				},
			})
			if connected {
				t.Error("Plan connected before rejecting the target")
			}
			if !diags.HasErrors() || diags[0].Summary != "Target matches nothing" {
				t.Fatalf("diags = %v, want Target matches nothing", diags)
			}
			for _, w := range tc.want {
				if !strings.Contains(diags[0].Detail, w) {
					t.Errorf("detail %q lacks %q", diags[0].Detail, w)
				}
			}
		})
	}
}
