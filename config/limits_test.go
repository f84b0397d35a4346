package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadHostileInput loads files built to exhaust the parser's stack or
// the process's memory: each must give one diagnostic naming the file and
// line, not a crash. Before the limits, the nesting cases killed the
// process with "fatal error: stack overflow".
func TestLoadHostileInput(t *testing.T) {
	const head = "meshx {\n  environment = \"x\"\n}\n\nlocals {\n  x = "
	deep := mark{"main.hcl", 6, "error", "Expression nested too deeply", ""}
	tests := []struct {
		name  string
		files map[string]string
		vars  []VarArg
		want  []mark
	}{
		{"brackets", map[string]string{"main.hcl": "x = " + strings.Repeat("[", 100000)},
			nil, []mark{{"main.hcl", 1, "error", "Expression nested too deeply", ""}}},
		{"braces", map[string]string{"main.hcl": head + strings.Repeat("{a=", 100000)}, nil, []mark{deep}},
		{"parentheses", map[string]string{"main.hcl": head + strings.Repeat("(", 100000)}, nil, []mark{deep}},
		{"calls", map[string]string{"main.hcl": head + strings.Repeat("max(", 100000)}, nil, []mark{deep}},
		{"interpolations", map[string]string{"main.hcl": head + strings.Repeat(`"${`, 100000)}, nil, []mark{deep}},
		{"directives", map[string]string{"main.hcl": head + "<<EOT\n" + strings.Repeat("%{if true}", 100000) + "\nEOT\n}\n"},
			nil, []mark{{"main.hcl", 7, "error", "Expression nested too deeply", ""}}},
		{"binary operators", map[string]string{"main.hcl": head + strings.Repeat("1+", 500000) + "1\n}\n"}, nil, []mark{deep}},
		{"binary operators over lines", map[string]string{"main.hcl": head + "(" + strings.Repeat("1+\n", 300000) + "1)\n}\n"},
			nil, []mark{{"main.hcl", 1004, "error", "Expression nested too deeply", ""}}},
		{"unary operators", map[string]string{"main.hcl": head + strings.Repeat("!", 1000000) + "true\n}\n"}, nil, []mark{deep}},
		{"conditionals", map[string]string{"main.hcl": head + strings.Repeat("true?", 140000) + "1" + strings.Repeat(":1", 140000) + "\n}\n"},
			nil, []mark{deep}},
		{"too large", map[string]string{"main.hcl": strings.Repeat("\n", MaxFileSize+1)},
			nil, []mark{{"main.hcl", 1, "error", "File too large", ""}}},
		{"auto vars file", map[string]string{
			"main.hcl":          "meshx {\n  environment = \"x\"\n}\n",
			"deep.auto.vars":    "\n\nx = " + strings.Repeat("[", 100000),
			"another.auto.vars": "y = 1\n",
		}, nil, []mark{
			{"another.auto.vars", 1, "warning", "Value for undeclared variable", ""},
			{"deep.auto.vars", 3, "error", "Expression nested too deeply", ""},
		}},
		{"var file", map[string]string{
			"main.hcl":  "meshx {\n  environment = \"x\"\n}\n",
			"deep.vars": "x = " + strings.Repeat("[", 100000),
		}, []VarArg{{File: "deep.vars"}}, []mark{{"deep.vars", 1, "error", "Expression nested too deeply", ""}}},
		{"var value", map[string]string{
			"main.hcl": "meshx {\n  environment = \"x\"\n}\n\nvariable \"x\" {\n  type = list(any)\n}\n",
		}, []VarArg{{Assign: "x=" + strings.Repeat("[", 100000)}}, []mark{{"main.hcl", 5, "error", "Invalid value for input variable", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, diags := Load(dir, LoadOptions{Vars: tt.vars, HomeDir: "/home/x"})
			// The configurations are minimal: leave out what they lack.
			var got []mark
			for _, m := range gotMarks(diags, nil) {
				if m.Summary != "No clusters" && m.Summary != "No value for required variable" {
					got = append(got, m)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", diff, diags.Error())
			}
			for _, d := range diags {
				if d.Subject == nil || d.Detail == "" {
					t.Errorf("diagnostic %q without a subject or detail", d.Summary)
				}
			}
		})
	}
}

// TestLoadDeepButLegal checks the limits leave room for deep configurations
// written by hand.
func TestLoadDeepButLegal(t *testing.T) {
	dir := t.TempDir()
	src := "meshx {\n  environment = \"x\"\n}\n\nlocals {\n  x = " +
		strings.Repeat("[", 100) + strings.Repeat("1+", 100) + "1" + strings.Repeat("]", 100) +
		"\n  y = \"" + strings.Repeat("${\"", 50) + "a" + strings.Repeat("\"}", 50) + "\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := Load(dir, LoadOptions{HomeDir: "/home/x"})
	for _, d := range diags {
		if d.Summary != "No clusters" {
			t.Errorf("%s", d)
		}
	}
}
