package views

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// Diagnostic is the JSON shape of one diagnostic, shared by
// `validate -json` and the event stream's "diagnostic" message. It is
// Terraform's shape, field for field.
type Diagnostic struct {
	Severity string             `json:"severity"`
	Summary  string             `json:"summary"`
	Detail   string             `json:"detail"`
	Range    *DiagnosticRange   `json:"range,omitempty"`
	Snippet  *DiagnosticSnippet `json:"snippet,omitempty"`
}

// DiagnosticPos is a position in a file: 1-based line, 1-based column in
// Unicode characters, 0-based byte offset.
type DiagnosticPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// DiagnosticRange is the span of source a diagnostic is about.
type DiagnosticRange struct {
	Filename string        `json:"filename"`
	Start    DiagnosticPos `json:"start"`
	End      DiagnosticPos `json:"end"`
}

// DiagnosticSnippet is the source around a diagnostic, with the
// highlighted part given as byte offsets into Code.
type DiagnosticSnippet struct {
	// Context names the enclosing block, e.g. `vm "ecs1"`; nil when none.
	Context              *string                     `json:"context"`
	Code                 string                      `json:"code"`
	StartLine            int                         `json:"start_line"`
	HighlightStartOffset int                         `json:"highlight_start_offset"`
	HighlightEndOffset   int                         `json:"highlight_end_offset"`
	Values               []DiagnosticExpressionValue `json:"values"`
}

// DiagnosticExpressionValue says what a variable in the failing expression
// held, e.g. {"traversal": "var.vm_ip", "statement": "is \"10.0.0.5\""}.
type DiagnosticExpressionValue struct {
	Traversal string `json:"traversal"`
	Statement string `json:"statement"`
}

// ValidateResult is the document `meshx validate -json` prints.
type ValidateResult struct {
	FormatVersion string       `json:"format_version"`
	Valid         bool         `json:"valid"`
	ErrorCount    int          `json:"error_count"`
	WarningCount  int          `json:"warning_count"`
	Diagnostics   []Diagnostic `json:"diagnostics"`
}

// NewValidateResult builds the validate -json document for diags.
// sources maps file names (as in each Subject.Filename) to their bytes,
// for snippets; a missing file just has no snippet.
func NewValidateResult(diags hcl.Diagnostics, sources map[string][]byte) ValidateResult {
	r := ValidateResult{FormatVersion: "1.0", Diagnostics: NewDiagnostics(diags, sources)}
	for _, d := range diags {
		switch d.Severity {
		case hcl.DiagError:
			r.ErrorCount++
		case hcl.DiagWarning:
			r.WarningCount++
		}
	}
	r.Valid = r.ErrorCount == 0
	return r
}

// NewDiagnostics converts every diagnostic; the result is never nil, so it
// marshals as [].
func NewDiagnostics(diags hcl.Diagnostics, sources map[string][]byte) []Diagnostic {
	out := make([]Diagnostic, 0, len(diags))
	for _, d := range diags {
		out = append(out, NewDiagnostic(d, sources))
	}
	return out
}

// NewDiagnostic converts one diagnostic, with a snippet when sources hold
// its file. Values of sensitive (marked) variables are never shown, and of
// collections only the type and length, as Terraform does.
func NewDiagnostic(d *hcl.Diagnostic, sources map[string][]byte) Diagnostic {
	out := Diagnostic{Summary: d.Summary, Detail: d.Detail}
	switch d.Severity {
	case hcl.DiagWarning:
		out.Severity = "warning"
	default:
		out.Severity = "error"
	}
	if d.Subject == nil {
		return out
	}
	highlight := *d.Subject
	out.Range = &DiagnosticRange{
		Filename: highlight.Filename,
		Start:    DiagnosticPos{highlight.Start.Line, highlight.Start.Column, highlight.Start.Byte},
		End:      DiagnosticPos{highlight.End.Line, highlight.End.Column, highlight.End.Byte},
	}
	src, ok := sources[highlight.Filename]
	if !ok || src == nil {
		return out
	}
	// Some sources leave the end unset.
	if highlight.End == (hcl.Pos{}) {
		highlight.End = highlight.Start
	}
	snippetRange := highlight
	if d.Context != nil {
		snippetRange = *d.Context
	}
	snippetRange = hcl.RangeOver(snippetRange, highlight)
	if snippetRange.Empty() {
		snippetRange.End.Byte++
		snippetRange.End.Column++
	}
	if highlight.Empty() {
		highlight.End.Byte++
		highlight.End.Column++
	}
	sn := &DiagnosticSnippet{StartLine: snippetRange.Start.Line, Values: []DiagnosticExpressionValue{}}

	if file := parseSource(src, highlight.Filename); file != nil {
		if ctx := hcled.ContextString(file, highlight.Start.Byte-1); ctx != "" {
			sn.Context = &ctx
		}
	}

	var code strings.Builder
	codeStart := -1
	sc := hcl.NewRangeScanner(src, highlight.Filename, bufio.ScanLines)
	for sc.Scan() {
		lr := sc.Range()
		if lr.Overlaps(snippetRange) {
			if codeStart < 0 {
				codeStart = lr.Start.Byte
			}
			code.Write(lr.SliceBytes(src))
			code.WriteByte('\n')
		}
	}
	sn.Code = strings.TrimSuffix(code.String(), "\n")
	codeStart = max(codeStart, 0)
	start := highlight.Start.Byte - codeStart
	end := start + (highlight.End.Byte - highlight.Start.Byte)
	sn.HighlightStartOffset = min(max(start, 0), len(sn.Code))
	sn.HighlightEndOffset = min(max(end, 0), len(sn.Code))

	if d.Expression != nil && d.EvalContext != nil {
		sn.Values = expressionValues(d.Expression, d.EvalContext)
	}
	out.Snippet = sn
	return out
}

// parseSource parses src again to find the block around a position; the
// CLI only does this for a failure, so the cost does not matter.
func parseSource(src []byte, filename string) *hcl.File {
	p := hclparse.NewParser()
	var f *hcl.File
	if strings.HasSuffix(filename, ".json") {
		f, _ = p.ParseJSON(src, filename)
	} else {
		f, _ = p.ParseHCL(src, filename)
	}
	return f
}

// expressionValues describes the variables an expression refers to.
func expressionValues(expr hcl.Expression, ctx *hcl.EvalContext) []DiagnosticExpressionValue {
	out := []DiagnosticExpressionValue{}
	seen := map[string]bool{}
	for _, tr := range expr.Variables() {
		for len(tr) > 1 {
			val, diags := tr.TraverseAbs(ctx)
			if diags.HasErrors() {
				tr = tr[:len(tr)-1]
				continue
			}
			name := traversalString(tr)
			if seen[name] {
				break
			}
			seen[name] = true
			var st string
			switch {
			case val.IsMarked() || val.ContainsMarked():
				st = "has a sensitive value"
			case !val.IsWhollyKnown():
				st = "will be known only after apply"
			default:
				st = "is " + compactValue(val)
			}
			out = append(out, DiagnosticExpressionValue{Traversal: name, Statement: st})
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Traversal < out[j].Traversal })
	return out
}

// traversalString renders var.x.y["k"][0].
func traversalString(tr hcl.Traversal) string {
	var b bytes.Buffer
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteByte('.')
			b.WriteString(s.Name)
		case hcl.TraverseIndex:
			b.WriteByte('[')
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "%q", s.Key.AsString())
			} else if s.Key.Type() == cty.Number {
				b.WriteString(s.Key.AsBigFloat().Text('f', -1))
			} else {
				b.WriteString("...")
			}
			b.WriteByte(']')
		}
	}
	return b.String()
}

// compactValue describes a known, unmarked value briefly; of collections
// it gives only the type and length, never elements.
func compactValue(v cty.Value) string {
	ty := v.Type()
	switch {
	case v.IsNull():
		return "null"
	case ty == cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	case ty == cty.Number:
		return v.AsBigFloat().Text('g', 10)
	case ty == cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case ty.IsCollectionType() || ty.IsTupleType():
		switch n := v.LengthInt(); n {
		case 0:
			return "empty " + ty.FriendlyName()
		case 1:
			return ty.FriendlyName() + " with 1 element"
		default:
			return fmt.Sprintf("%s with %d elements", ty.FriendlyName(), n)
		}
	case ty.IsObjectType():
		attrs := ty.AttributeTypes()
		switch len(attrs) {
		case 0:
			return "object with no attributes"
		case 1:
			for k := range attrs {
				return fmt.Sprintf("object with 1 attribute %q", k)
			}
		}
		return fmt.Sprintf("object with %d attributes", len(attrs))
	}
	return ty.FriendlyName()
}
