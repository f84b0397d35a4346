package views

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestDiagnosticWriter(t *testing.T) {
	src := []byte("meshx {\n\tenvironment = \"Bad Name\"\n}\n")
	subject := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 2, Column: 16, Byte: 23}, End: hcl.Pos{Line: 2, Column: 26, Byte: 33}}
	diag := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid environment name", Detail: "It must be a DNS-1123 label, like \"bookinfo\" or \"istio-system\".\n\n  preformatted line stays", Subject: &subject}
	tests := []struct {
		name  string
		w     diagnosticWriter
		diags hcl.Diagnostics
		want  string
	}{
		{
			name:  "carets under tab-indented code",
			w:     diagnosticWriter{sources: map[string][]byte{"main.hcl": src}},
			diags: hcl.Diagnostics{diag},
			want: `╷
│ Error: Invalid environment name
│
│   on main.hcl line 2, in meshx:
│    2: 	environment = "Bad Name"
│       	              ^^^^^^^^^^
│
│ It must be a DNS-1123 label, like "bookinfo" or "istio-system".
│
│   preformatted line stays
╵
`,
		},
		{
			name:  "colour underlines instead",
			w:     diagnosticWriter{sources: map[string][]byte{"main.hcl": src}, color: true},
			diags: hcl.Diagnostics{diag},
			want: "\x1b[31m╷\x1b[0m\n" +
				"\x1b[31m│\x1b[0m \x1b[31m\x1b[1mError:\x1b[0m \x1b[1mInvalid environment name\x1b[0m\n" +
				"\x1b[31m│\x1b[0m\n" +
				"\x1b[31m│\x1b[0m   on main.hcl line 2, in meshx:\n" +
				"\x1b[31m│\x1b[0m    2: \tenvironment = \x1b[1;4m\"Bad Name\"\x1b[0m\n" +
				"\x1b[31m│\x1b[0m\n" +
				"\x1b[31m│\x1b[0m It must be a DNS-1123 label, like \"bookinfo\" or \"istio-system\".\n" +
				"\x1b[31m│\x1b[0m\n" +
				"\x1b[31m│\x1b[0m   preformatted line stays\n" +
				"\x1b[31m╵\x1b[0m\n",
		},
		{
			name:  "wrapped to the terminal, preformatted lines kept",
			w:     diagnosticWriter{sources: map[string][]byte{"main.hcl": src}, width: 40},
			diags: hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Careful", Detail: "one two three four five six seven eight nine ten eleven\n  keep   this   line   exactly   as   it   is   written   here"}},
			want: `╷
│ Warning: Careful
│
│ one two three four five six seven
│ eight nine ten eleven
│   keep   this   line   exactly   as   it   is   written   here
╵
`,
		},
		{
			name:  "control characters escaped, colours kept",
			w:     diagnosticWriter{sources: map[string][]byte{"main.hcl": []byte("meshx {\n\tenvironment = \"x\" # \x1b]0;pwned\x07\u202e\n}\n")}, color: true},
			diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad\x1b[8m", Detail: "remote said \x1b[2J\r\u009b", Subject: &subject}},
			want: "\x1b[31m╷\x1b[0m\n" +
				"\x1b[31m│\x1b[0m \x1b[31m\x1b[1mError:\x1b[0m \x1b[1mBad\\x1b[8m\x1b[0m\n" +
				"\x1b[31m│\x1b[0m\n" +
				"\x1b[31m│\x1b[0m   on main.hcl line 2, in meshx:\n" +
				"\x1b[31m│\x1b[0m    2: \tenvironment = \x1b[1;4m\"x\" # \\x1b]0;\x1b[0mpwned\\x07\\u202e\n" +
				"\x1b[31m│\x1b[0m\n" +
				"\x1b[31m│\x1b[0m remote said \\x1b[2J\\r\\u009b\n" +
				"\x1b[31m╵\x1b[0m\n",
		},
		{
			name:  "source not available",
			w:     diagnosticWriter{},
			diags: hcl.Diagnostics{diag},
			want: `╷
│ Error: Invalid environment name
│
│   on main.hcl line 2:
│   (source code not available)
│
│ It must be a DNS-1123 label, like "bookinfo" or "istio-system".
│
│   preformatted line stays
╵
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.w.out = &buf
			tt.w.writeAll(tt.diags)
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
