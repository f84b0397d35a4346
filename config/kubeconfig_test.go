package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loadMain loads meshx and control cluster blocks, with clusterAttrs in
// the cluster block, followed by rest; it fails the test on errors.
func loadMain(t *testing.T, clusterAttrs, rest string) *Config {
	t.Helper()
	src := `
meshx {
  environment = "test"
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
  mesh_expansion {
    load_balancer = "none"
  }
  ` + clusterAttrs + `
}
` + rest
	cfg, diags := testCase{name: t.Name(), files: []source{{"main.hcl", []byte(src)}}}.load(t)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return cfg
}

// TestKubeconfig: kubeconfig is a path or a list of paths, kept in
// KUBECONFIG's form; unset, it stays empty so client-go's loading rules
// (KUBECONFIG, else ~/.kube/config) apply.
func TestKubeconfig(t *testing.T) {
	for _, tc := range []struct {
		name, attr, want string
	}{
		{"unset", "", ""},
		{"one path", `kubeconfig = "~/.kube/prod"`, "/home/test/.kube/prod"},
		{"a list", `kubeconfig = ["~/.kube/config", "/etc/kube/prod.yaml"]`, "/home/test/.kube/config:/etc/kube/prod.yaml"},
		{"a list of one", `kubeconfig = ["/etc/kube/prod.yaml"]`, "/etc/kube/prod.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadMain(t, tc.attr, "")
			if diff := cmp.Diff(tc.want, cfg.Clusters[0].Kubeconfig); diff != "" {
				t.Errorf("kubeconfig (-want +got):\n%s", diff)
			}
		})
	}
}
