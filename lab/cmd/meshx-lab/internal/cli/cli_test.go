package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command", nil, 2, "", "usage: meshx-lab"},
		{"help", []string{"help"}, 0, "usage: meshx-lab", ""},
		{"unknown", []string{"launch"}, 2, "", `unknown command "launch"`},
		{"bad flag", []string{"up", "-vms", "many"}, 2, "", "invalid value"},
		{"bad build target", []string{"build", "-only", "envoy"}, 2, "", "want kubernetes or istio"},
		{"lb-mode arity", []string{"lb-mode", "-dir", dir, "control"}, 2, "", "want CLUSTER and ip, hostname or never"},
		{"status of nothing", []string{"status", "-name", "cli-none", "-dir", dir}, 0, "lab cli-none is not up", ""},
		{"controller without cluster", []string{"controller"}, 2, "", "usage: meshx-lab controller"},
		{"bad name", []string{"down", "-name", "Not_OK", "-dir", dir}, 1, "", "lab name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
