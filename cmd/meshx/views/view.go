package views

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// ViewType is the form of a command's output, chosen once from its flags.
type ViewType int

const (
	// ViewHuman is text for people: colour where the terminal allows it,
	// diagnostics in boxes on stderr.
	ViewHuman ViewType = iota
	// ViewJSON is the command's machine format (-json).
	ViewJSON
	// ViewMarkdown is the pull-request comment of plan and show
	// (-format=markdown).
	ViewMarkdown
	// ViewRaw is output -raw: one value, bare, for scripts.
	ViewRaw
)

// ViewOptions are what the terminal and the build allow. The CLI works
// them out from -no-color, NO_COLOR, TERM and whether each stream is a
// terminal.
type ViewOptions struct {
	// ColorStdout and ColorStderr allow colour codes on each stream.
	ColorStdout, ColorStderr bool
	// Width is stderr's width, for wrapping diagnostic details; 0 does not
	// wrap.
	Width int
	// Version is meshx's version, which the JSON event stream names first.
	Version string
}

// View is what every command's view shares: the two streams, what they
// allow, and the configuration sources diagnostics quote. Each command's
// view (NewPlan, NewValidate, …) is built on one.
type View struct {
	stdout, stderr io.Writer
	opts           ViewOptions
	sources        map[string][]byte
}

// NewView returns the base view of one command run.
func NewView(stdout, stderr io.Writer, opts ViewOptions) *View {
	return &View{stdout: stdout, stderr: stderr, opts: opts}
}

// SetSources gives the bytes of the configuration files by name, which
// diagnostics quote in snippets. Call it once the configuration is read.
func (v *View) SetSources(sources map[string][]byte) { v.sources = sources }

// Diagnostics writes diags to stderr in the human form.
func (v *View) Diagnostics(diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	w := &diagnosticWriter{out: v.stderr, sources: v.sources, color: v.opts.ColorStderr, width: v.opts.Width}
	w.writeAll(diags)
}

// documentDiagnostics is Diagnostics for a command whose -json output is
// one document on stdout (validate, show, output, version): errors become
// that document, in validate -json's shape, so a machine reader gets JSON
// whatever failed, even a flag; warnings go to stderr in the human form,
// leaving stdout to the result.
func (v *View) documentDiagnostics(diags hcl.Diagnostics) {
	if !diags.HasErrors() {
		v.Diagnostics(diags)
		return
	}
	v.writeJSON(NewValidateResult(diags, v.sources))
}

// writeJSON writes x to stdout as indented JSON, the document form of
// the -json commands that are not streams.
func (v *View) writeJSON(x any) {
	b, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		fmt.Fprintf(v.stderr, "Error: encoding JSON: %s\n", err)
		return
	}
	v.stdout.Write(append(EscapeJSON(b), '\n'))
}
