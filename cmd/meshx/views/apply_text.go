package views

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/plans"
)

// ApplyOptions tune the human apply view.
type ApplyOptions struct {
	// Color prints failures in red.
	Color bool
}

// ApplyText prints apply progress the way Terraform does:
// "ADDR: Creating...", "ADDR: Still creating... [10s elapsed]",
// "ADDR: Creation complete after 2s", then the "Apply complete!" line.
type ApplyText struct {
	w       io.Writer
	opts    ApplyOptions
	skipped int
}

// NewApplyText returns a human apply view writing to w.
func NewApplyText(w io.Writer, opts ApplyOptions) *ApplyText {
	return &ApplyText{w: NewTerminalWriter(w, opts.Color), opts: opts}
}

// verbs of an action: the -ing form, and the noun of its completion.
type verbs struct{ ing, done string }

var actionVerbs = map[plans.Action]verbs{
	plans.Create:  {"Creating", "Creation complete"},
	plans.Update:  {"Modifying", "Modifications complete"},
	plans.Replace: {"Replacing", "Replacement complete"},
	plans.Delete:  {"Destroying", "Destruction complete"},
	plans.NoOp:    {"Reading", "Read complete"},
	plans.Read:    {"Reading", "Read complete"},
}

// progressText is the line of a Started, Progress or Completed event.
func progressText(e executor.Event) string {
	v := actionVerbs[e.Action]
	addr := e.Addr.String()
	switch e.Type {
	case executor.Started:
		return addr + ": " + v.ing + "..."
	case executor.Progress:
		s := fmt.Sprintf("%s: Still %s... [%s elapsed]", addr, strings.ToLower(v.ing), e.Elapsed.Truncate(time.Second))
		if e.Message != "" {
			s += " " + e.Message
		}
		return s
	case executor.Completed:
		s := fmt.Sprintf("%s: %s after %s", addr, v.done, e.Elapsed.Round(time.Second))
		if !e.Changed && e.Action != plans.Delete {
			s += " (nothing needed changing)"
		}
		return s
	case executor.Errored:
		return addr + ": failed: " + errorText(e)
	case executor.Skipped:
		return addr + ": not attempted: " + e.Message
	}
	return addr + ": " + e.Message
}

// errorText is an event's error without the address the executor already
// puts in front of it.
func errorText(e executor.Event) string {
	if e.Err == nil {
		return "unknown error"
	}
	return strings.TrimPrefix(e.Err.Error(), e.Addr.String()+": ")
}

// Event prints one line per event. A NoOp instance that is not attempted
// (something it reads failed) is not a change and is not listed.
func (v *ApplyText) Event(e executor.Event) {
	if e.Type == executor.Skipped {
		if e.Action == plans.NoOp {
			return
		}
		v.skipped++
	}
	s := progressText(e)
	if e.Type == executor.Errored && v.opts.Color {
		s = ansiRed + s + ansiReset
	}
	fmt.Fprintln(v.w, s)
}

// Result prints the closing line: "Apply complete! Resources: 1 added, 0
// changed, 0 destroyed." ("Destroy complete! Resources: 2 destroyed." for
// a destroy), or what was done before a failure or interruption.
func (v *ApplyText) Result(res executor.Result, destroy bool) {
	fmt.Fprintln(v.w)
	s := ResultLine(res, destroy)
	if res.Err != nil && v.opts.Color {
		s = ansiRed + s + ansiReset
	}
	fmt.Fprintln(v.w, s)
}

// ResultLine returns the line that ends an apply or destroy.
func ResultLine(res executor.Result, destroy bool) string {
	counts := fmt.Sprintf("Resources: %d added, %d changed, %d destroyed", res.Added, res.Changed, res.Destroyed)
	if destroy {
		counts = fmt.Sprintf("Resources: %d destroyed", res.Destroyed)
	}
	op := "Apply"
	if destroy {
		op = "Destroy"
	}
	switch {
	case res.Err == nil && !res.Interrupted && len(res.LeftOut) > 0:
		return fmt.Sprintf("%s incomplete! %s; nothing done on %s.", op, counts, strings.Join(res.LeftOut, ", "))
	case res.Err == nil && !res.Interrupted:
		return op + " complete! " + counts + "."
	case len(res.Failed) == 0:
		return fmt.Sprintf("%s interrupted! %s before it stopped.", op, counts)
	}
	return fmt.Sprintf("%s failed! %s; %d failed.", op, counts, len(res.Failed))
}

// Outputs prints the output values, sensitive ones as <sensitive>.
func (v *ApplyText) Outputs(outs []plans.OutputValue) {
	if len(outs) == 0 {
		return
	}
	fmt.Fprintln(v.w)
	fmt.Fprintln(v.w, "Outputs:")
	fmt.Fprintln(v.w)
	for _, o := range outs {
		val := "<sensitive>"
		if !o.Sensitive {
			val = hclValue(plans.Normalize(o.Value), 0)
		}
		fmt.Fprintf(v.w, "%s = %s\n", o.Name, val)
	}
}

// hclValue renders v in HCL syntax, nested values on their own lines
// indented by two spaces per level.
func hclValue(v any, depth int) string {
	pad := strings.Repeat("  ", depth+1)
	end := strings.Repeat("  ", depth)
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return "{}"
		}
		var b strings.Builder
		b.WriteString("{\n")
		for _, k := range slices.Sorted(maps.Keys(t)) {
			fmt.Fprintf(&b, "%s%s = %s\n", pad, mapKey(k), hclValue(t[k], depth+1))
		}
		return b.String() + end + "}"
	case []any:
		if len(t) == 0 {
			return "[]"
		}
		var b strings.Builder
		b.WriteString("[\n")
		for _, e := range t {
			fmt.Fprintf(&b, "%s%s,\n", pad, hclValue(e, depth+1))
		}
		return b.String() + end + "]"
	case string:
		if strings.Contains(t, "\n") {
			lines, _ := splitText(t)
			var b strings.Builder
			b.WriteString("<<EOT\n")
			for _, l := range lines {
				b.WriteString(l + "\n")
			}
			return b.String() + "EOT"
		}
	}
	return inline(v)
}
