package lab_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/lab"
)

// TestIstioBinariesRun checks what BuildIstio put in the cache: each
// binary runs and says which version it is, and the files taken from the
// module are there.
func TestIstioBinariesRun(t *testing.T) {
	t.Parallel()
	bin := lab.IstioBinDir()
	if m := lab.MissingIstioBinaries(bin); len(m) > 0 {
		if os.Getenv(lab.RequiredEnv) == "1" {
			t.Fatalf("lab required but %s missing in %s (run bin/meshx-lab build)", strings.Join(m, ", "), bin)
		}
		t.Skipf("skipping: %s missing in %s (run bin/meshx-lab build)", strings.Join(m, ", "), bin)
	}
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"pilot-discovery", "version", "--short"}, "-dev"},
		{[]string{"pilot-agent", "version", "--short"}, "-dev"},
		{[]string{"istioctl", "version", "--remote=false", "--short"}, "-dev"},
		{[]string{"coredns", "-version"}, "CoreDNS-" + strings.TrimPrefix(lab.CoreDNSVersion, "v")},
	}
	for _, tt := range tests {
		t.Run(tt.argv[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, filepath.Join(bin, tt.argv[0]), tt.argv[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(tt.argv, " "), err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("%s printed %q, want it to contain %q", strings.Join(tt.argv, " "), out, tt.want)
			}
		})
	}
	crds, err := os.ReadFile(filepath.Join(bin, "crd-all.gen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"kind: WorkloadEntry", "kind: WorkloadGroup", "kind: ServiceEntry"} {
		if !strings.Contains(string(crds), kind) {
			t.Errorf("crd-all.gen.yaml lacks %s", kind)
		}
	}
}
