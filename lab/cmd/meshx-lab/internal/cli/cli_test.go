package cli

import (
	"bytes"
	"os"
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

// TestDownRemovesOnlyLabInstances runs down (and up) with -dir naming
// directories the lab did not make: as root, a RemoveAll there could
// take anything. They must refuse and leave every file; a directory the
// lab marked as its instance is removed.
func TestDownRemovesOnlyLabInstances(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
	}{
		{"files of the user's", map[string]string{"precious.txt": "keep me", "sub/deeper.txt": "me too"}, []string{"down"}},
		{"empty directory", nil, []string{"down"}},
		{"lab.json of another directory", map[string]string{"lab.json": `{"version": 1, "name": "x", "dir": "/somewhere/else"}`, "precious.txt": "keep me"}, []string{"down"}},
		{"lab.json that is not JSON", map[string]string{"lab.json": "not json", "precious.txt": "keep me"}, []string{"down"}},
		{"up over files of the user's", map[string]string{"precious.txt": "keep me"}, []string{"up", "-no-build", "-vms", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := Run(append(tc.args, "-name", "cli-test", "-dir", dir), &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if want := "is not a lab instance directory"; !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), want)
			}
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("the directory is gone: %v", err)
			}
			// Nothing added either: no marker, no lab files.
			want := map[string]bool{}
			for name := range tc.files {
				want[strings.Split(name, "/")[0]] = true
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if !want[e.Name()] {
					t.Errorf("%s added %s", tc.args[0], e.Name())
				}
			}
			for name, content := range tc.files {
				if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != content {
					t.Errorf("%s: %q, %v after %s", name, b, err, tc.args[0])
				}
			}
		})
	}

	t.Run("lab instance", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "lab")
		if err := os.MkdirAll(filepath.Join(dir, "clusters"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".meshx-lab-instance"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := Run([]string{"down", "-name", "cli-test", "-dir", dir}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the instance directory is still there: %v", err)
		}
	})
}
