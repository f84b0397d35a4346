package views

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/mitchellh/go-wordwrap"
)

// diagnosticWriter renders diagnostics in Terraform's box form:
//
//	╷
//	│ Error: Overlapping CIDR ranges
//	│
//	│   on main.hcl line 12, in cluster "remote1":
//	│   12:   pod_cidr = "172.16.0.0/12"
//	│                    ^^^^^^^^^^^^^^^
//	│
//	│ The pod_cidr 172.16.0.0/12 of cluster "remote1" overlaps …
//	╵
//
// The highlighted range is underlined on a colour terminal and marked with
// carets otherwise, so it survives logs and -no-color. The snippet (code,
// context, highlight, expression values) comes from NewDiagnostic, so
// the human and JSON forms always show the same thing.
type diagnosticWriter struct {
	out     io.Writer
	sources map[string][]byte
	color   bool
	width   int // wrap detail paragraphs; 0 means do not wrap
}

const (
	ansiBold      = "\x1b[1m"
	ansiUnderline = "\x1b[1;4m"
)

func (w *diagnosticWriter) writeAll(diags hcl.Diagnostics) {
	for _, d := range diags {
		w.write(d)
	}
}

func (w *diagnosticWriter) write(d *hcl.Diagnostic) {
	jd := NewDiagnostic(d, w.sources)
	severity, tint := "Error", ansiRed
	if d.Severity == hcl.DiagWarning {
		severity, tint = "Warning", ansiYellow
	}
	paint := func(code, s string) string {
		if !w.color {
			return s
		}
		return code + s + ansiReset
	}
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }

	add("%s %s", paint(tint+ansiBold, severity+":"), paint(ansiBold, jd.Summary))
	if jd.Range != nil {
		add("")
		in := ""
		if jd.Snippet != nil && jd.Snippet.Context != nil {
			in = ", in " + *jd.Snippet.Context
		}
		add("  on %s line %d%s:", jd.Range.Filename, jd.Range.Start.Line, in)
		if jd.Snippet != nil {
			lines = append(lines, w.snippet(jd.Snippet)...)
			if len(jd.Snippet.Values) > 0 {
				add("    ├────────────────")
				for _, v := range jd.Snippet.Values {
					add("    │ %s %s", paint(ansiBold, v.Traversal), v.Statement)
				}
			}
		} else {
			add("  (source code not available)")
		}
	}
	if jd.Detail != "" {
		add("")
		for _, l := range strings.Split(w.wrap(jd.Detail), "\n") {
			add("%s", l)
		}
	}

	// Summaries, details and snippets quote configuration files, plan
	// files, clusters and VMs: their control characters are escaped.
	out := NewTerminalWriter(w.out, w.color)
	bar := paint(tint, "│")
	fmt.Fprintln(out, paint(tint, "╷"))
	for _, l := range lines {
		if l == "" {
			fmt.Fprintln(out, bar)
		} else {
			fmt.Fprintln(out, bar+" "+l)
		}
	}
	fmt.Fprintln(out, paint(tint, "╵"))
}

// snippet renders the code lines with the highlighted part underlined (in
// colour) or marked with a caret line beneath it.
func (w *diagnosticWriter) snippet(s *DiagnosticSnippet) []string {
	var out []string
	offset := 0
	for i, line := range strings.Split(s.Code, "\n") {
		start, end := offset, offset+len(line)
		offset = end + 1
		hs, he := max(s.HighlightStartOffset, start), min(s.HighlightEndOffset, end)
		prefix := fmt.Sprintf("%4d: ", s.StartLine+i)
		if hs >= he {
			out = append(out, strings.TrimRight(prefix+line, " "))
			continue
		}
		before, hl, after := line[:hs-start], line[hs-start:he-start], line[he-start:]
		if w.color {
			out = append(out, prefix+before+ansiUnderline+hl+ansiReset+after)
			continue
		}
		out = append(out, strings.TrimRight(prefix+line, " "))
		// Keep tabs so the carets line up under tab-indented code.
		pad := strings.Map(func(r rune) rune {
			if r == '\t' {
				return '\t'
			}
			return ' '
		}, before)
		out = append(out, strings.Repeat(" ", len(prefix))+pad+strings.Repeat("^", max(1, utf8.RuneCountInString(hl))))
	}
	return out
}

// wrap wraps the paragraphs of a detail text to the terminal width. Lines
// starting with a space are preformatted, as in Terraform.
func (w *diagnosticWriter) wrap(detail string) string {
	if w.width <= 0 {
		return detail
	}
	limit := uint(max(w.width-2, 20))
	lines := strings.Split(detail, "\n")
	for i, l := range lines {
		if l != "" && !strings.HasPrefix(l, " ") {
			lines[i] = wordwrap.WrapString(l, limit)
		}
	}
	return strings.Join(lines, "\n")
}
