package config

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// mark is an expected diagnostic: the file and line of its subject, its
// severity and its summary, and optionally text its detail names (the
// instance of a block with for_each or count, like vm.web["b"]).
type mark struct {
	File     string
	Line     int
	Severity string
	Summary  string
	Names    string
}

var markRe = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*([^#@]+)(?:@\s*([^#]+))?`)

// marks reads the "# ERROR: <summary>" and "# WARNING: <summary>" comments of
// a testdata file: each expects one diagnostic on its line. A comment
// "# ERROR: <summary> @ <text>" expects the diagnostic's detail to hold
// text.
func marks(t *testing.T, name string, src []byte) []mark {
	t.Helper()
	var out []mark
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		for _, m := range markRe.FindAllStringSubmatch(sc.Text(), -1) {
			out = append(out, mark{name, line, strings.ToLower(m[1]), strings.TrimSpace(m[2]), strings.TrimSpace(m[3])})
		}
	}
	return out
}

// gotMarks returns the marks of diags. Where want has a mark naming text
// on a diagnostic's line, the diagnostic's mark names it when its detail
// holds it, so a diagnostic about another instance shows as a difference.
func gotMarks(diags hcl.Diagnostics, want []mark) []mark {
	used := make([]bool, len(want))
	var out []mark
	for _, d := range diags {
		m := mark{Severity: "error", Summary: d.Summary}
		if d.Severity == hcl.DiagWarning {
			m.Severity = "warning"
		}
		if d.Subject != nil {
			m.File, m.Line = d.Subject.Filename, d.Subject.Start.Line
		}
		for i, w := range want {
			if !used[i] && w.Names != "" && w.File == m.File && w.Line == m.Line && w.Summary == m.Summary && strings.Contains(d.Detail, w.Names) {
				m.Names, used[i] = w.Names, true
				break
			}
		}
		out = append(out, m)
	}
	return out
}

func sortMarks(ms []mark) {
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Summary < b.Summary
	})
}

// testCase is a testdata entry: one .hcl file, or a directory of them
// (with optional meshx.vars / *.auto.vars).
type testCase struct {
	name  string
	dir   string // the case's directory, for file(); "" for single files
	files []source
	vars  []source
}

func readCases(t *testing.T, dir string) []testCase {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			if !strings.HasSuffix(e.Name(), ".hcl") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, testCase{name: strings.TrimSuffix(e.Name(), ".hcl"), files: []source{{e.Name(), b}}})
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		tc := testCase{name: e.Name(), dir: abs}
		sub, err := os.ReadDir(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sub {
			b, err := os.ReadFile(filepath.Join(p, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasSuffix(f.Name(), ".hcl"):
				tc.files = append(tc.files, source{f.Name(), b})
			case strings.HasSuffix(f.Name(), ".vars"):
				tc.vars = append(tc.vars, source{f.Name(), b})
			}
		}
		cases = append(cases, tc)
	}
	return cases
}

func (tc testCase) load(t *testing.T) (*Config, hcl.Diagnostics) {
	t.Helper()
	dir := tc.dir
	if dir == "" {
		dir = t.TempDir()
	}
	return load(dir, tc.files, tc.vars, LoadOptions{HomeDir: "/home/test"})
}

func (tc testCase) want(t *testing.T) []mark {
	var want []mark
	for _, f := range append(append([]source(nil), tc.files...), tc.vars...) {
		want = append(want, marks(t, f.name, f.src)...)
	}
	return want
}

// TestInvalid loads each file of testdata/invalid and checks that exactly the
// diagnostics its comments mark are reported, on the marked lines.
func TestInvalid(t *testing.T) {
	cases := readCases(t, "testdata/invalid")
	if len(cases) < 30 {
		t.Fatalf("only %d invalid cases; want at least 30", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want(t)
			hasError := false
			for _, m := range want {
				hasError = hasError || m.Severity == "error"
			}
			if !hasError {
				t.Fatalf("testdata/invalid/%s marks no error", tc.name)
			}
			_, diags := tc.load(t)
			got := gotMarks(diags, want)
			sortMarks(want)
			sortMarks(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\nall:\n%s", diff, diags.Error())
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no source range", d.Summary)
				}
				if d.Detail == "" {
					t.Errorf("diagnostic %q has no detail", d.Summary)
				}
			}
		})
	}
}

// TestValid loads each entry of testdata/valid: no errors, and exactly the
// warnings marked.
func TestValid(t *testing.T) {
	for _, tc := range readCases(t, "testdata/valid") {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := tc.load(t)
			want := tc.want(t)
			got := gotMarks(diags, want)
			sortMarks(want)
			sortMarks(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\nall:\n%s", diff, diags.Error())
			}
			if diags.HasErrors() {
				return
			}
			if cfg.Control() == nil {
				t.Errorf("no control cluster in a valid configuration")
			}
		})
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func prefixEqual(a, b netip.Prefix) bool { return a == b }
