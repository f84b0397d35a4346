package review

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestKubeconfigFromEnvironment: a cluster block without kubeconfig reads
// KUBECONFIG, as kubectl does, and the plan starts by naming each
// cluster's context and API server.
func TestKubeconfigFromEnvironment(t *testing.T) {
	w := e2etest.Details(t, "kubeenv")
	main := filepath.Join(w.Dir, "main.hcl")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\s*kubeconfig\s*=.*\n`)
	if !line.Match(b) {
		t.Fatalf("no kubeconfig line in\n%s", b)
	}
	if err := os.WriteFile(main, line.ReplaceAll(b, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	kc := w.Lab.ControlCluster().Kubeconfig
	raw, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	server := raw.Clusters[raw.Contexts[raw.CurrentContext].Cluster].Server
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent")+string(filepath.ListSeparator)+kc)
	// Cleanups run last first: the world's destroy then finds the
	// kubeconfig in main.hcl again, after KUBECONFIG is restored.
	t.Cleanup(func() {
		if err := os.WriteFile(main, b, 0o644); err != nil {
			t.Error(err)
		}
	})

	r := w.Must(0, "plan", "-no-color")
	e2etest.Contains(t, "plan", r.Stdout, "cluster.control: context "+raw.CurrentContext+", server "+server+"\n")
}
