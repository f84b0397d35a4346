package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files (testdata/diagnostics/*.txt, *.json) and testscript expectations")

// TestDiagnosticsGolden renders `meshx validate` for each directory of
// testdata/diagnostics in the human (-no-color) and the JSON form and
// compares them with <dir>.txt and <dir>.json; -update rewrites those.
func TestDiagnosticsGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/diagnostics/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		n++
		for _, form := range []struct {
			ext  string
			args []string
		}{
			{".txt", []string{"-chdir=" + dir, "validate", "-no-color"}},
			{".json", []string{"-chdir=" + dir, "validate", "-json"}},
		} {
			t.Run(filepath.Base(dir)+form.ext, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := Run(form.args, nil, &stdout, &stderr)
				got := stderr.String() + stdout.String()
				if form.ext == ".json" {
					got = stdout.String()
					if stderr.Len() > 0 {
						t.Errorf("validate -json wrote to stderr: %s", stderr.String())
					}
				}
				golden := dir + form.ext
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("meshx %v (-want +got):\n%s", form.args, diff)
				}
				wantCode := 1
				if filepath.Base(dir) == "warnings" {
					wantCode = 0
				}
				if code != wantCode {
					t.Errorf("exit status %d, want %d", code, wantCode)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no golden cases")
	}
}
