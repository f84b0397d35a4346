package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshx-dev/meshx/config"
)

// TestConfigDigestLeavesSecretsOut checks that the config digest a plan
// file stores does not depend on sensitive values (so it cannot be used to
// guess them offline), whether they come from a variables file or the
// environment, and still changes with the configuration and non-sensitive
// values.
func TestConfigDigestLeavesSecretsOut(t *testing.T) {
	const main = `
meshx {
  environment = var.env
}
variable "env" {
  default = "demo"
}
variable "token" {
  sensitive = true
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.0.0.0/16"
  mesh_expansion { load_balancer = "none" }
}
`
	digest := func(t *testing.T, mainHCL, vars string, opts config.LoadOptions) string {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(mainHCL), 0o644); err != nil {
			t.Fatal(err)
		}
		if vars != "" {
			if err := os.WriteFile(filepath.Join(dir, config.DefaultVarsFile), []byte(vars), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cfg, diags := config.Load(dir, opts)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return configDigest(cfg)
	}
	base := digest(t, main, "token = \"hunter2\"\n", config.LoadOptions{})
	for _, tc := range []struct {
		name  string
		main  string
		vars  string
		opts  config.LoadOptions
		equal bool
	}{
		{"another secret in the vars file", main, "token = \"s3cr3t\"\n", config.LoadOptions{}, true},
		{"the secret from the environment", main, "", config.LoadOptions{Env: []string{"MESHX_VAR_token=x"}}, true},
		{"a non-sensitive value", main, "token = \"hunter2\"\n", config.LoadOptions{Vars: []config.VarArg{{Assign: "env=prod"}}}, false},
		{"a non-sensitive value in the vars file", main, "token = \"hunter2\"\nenv = \"prod\"\n", config.LoadOptions{}, false},
		{"the configuration", main + "# edited\n", "token = \"hunter2\"\n", config.LoadOptions{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := digest(t, tc.main, tc.vars, tc.opts)
			if (got == base) != tc.equal {
				t.Errorf("digest equal to the base's: %v, want %v", got == base, tc.equal)
			}
		})
	}
}
