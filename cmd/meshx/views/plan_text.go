package views

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/meshx-dev/meshx/plans"
)

// PlanOptions tune the human plan text.
type PlanOptions struct {
	// Color marks + green, ~ yellow and - red with ANSI escapes.
	Color bool
	// Order adds the execution order: the changes in numbered waves, each
	// wave depending only on earlier ones.
	Order bool
}

// Messages that end a plan; CI tools match them (Atlantis's regexes).
const (
	NoChangesLine        = "No changes. Your infrastructure matches the configuration."
	NoDestroyChangesLine = "No objects need to be destroyed."
)

// SummaryLine returns the line that ends a plan:
// "Plan: X to add, Y to change, Z to destroy.", or the no-changes message.
func SummaryLine(p *plans.Plan) string {
	if !p.HasChanges() {
		if p.Destroy {
			return NoDestroyChangesLine
		}
		return NoChangesLine
	}
	add, change, destroy := p.Summary()
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", add, change, destroy)
}

// PlanText writes the plan as Terraform users know it: which cluster
// each cluster block reached (context and server), why it is partial
// (-target, targets not observed), what changed outside meshx, the legend of the symbols used, each change with its
// attribute diff, optionally the execution order, and the summary line
// last.
func PlanText(w io.Writer, p *plans.Plan, opts PlanOptions) error {
	buf := bufio.NewWriter(w)
	bw := NewTerminalWriter(buf, opts.Color)
	for _, l := range clusterLines(p) {
		fmt.Fprintln(bw, l)
	}
	for _, l := range partialText(PartialNotes(p)) {
		fmt.Fprintln(bw, l)
	}
	if !p.HasChanges() {
		fmt.Fprintln(bw, SummaryLine(p))
		return buf.Flush()
	}
	if drift := p.Drifted(); len(drift) > 0 {
		for _, s := range driftIntro(drift) {
			fmt.Fprintln(bw, s)
		}
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, strings.Repeat("─", 77))
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw, "Resource actions are indicated with the following symbols:")
	for _, l := range legend(p) {
		fmt.Fprintln(bw, l.plain(opts.Color))
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "meshx will perform the following actions:")
	for _, c := range p.Changes {
		if c.Action == plans.NoOp {
			continue
		}
		fmt.Fprintln(bw)
		for _, l := range changeLines(p, c) {
			fmt.Fprintln(bw, l.plain(opts.Color))
		}
	}
	if opts.Order {
		fmt.Fprintln(bw)
		for _, l := range orderText(p, opts.Color) {
			fmt.Fprintln(bw, l)
		}
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, SummaryLine(p))
	return buf.Flush()
}

// driftIntro is the note on changes made outside meshx, one line per
// drifted instance. Their diff shows in the planned change that undoes
// them: meshx keeps no record of what it last applied beyond the live
// object, so only live against desired can be shown.
func driftIntro(drift []plans.Change) []string {
	out := []string{
		"Note: Objects have changed outside of meshx",
		"",
		`meshx detected the following changes made outside of meshx since the last "meshx apply" which may have affected this plan:`,
		"",
	}
	for _, c := range drift {
		out = append(out, "  # "+c.Addr.String()+" has changed")
	}
	return append(out, "",
		"Unless you have made equivalent changes to your configuration, the following plan includes actions to undo or respond to these changes.")
}

// legend lists the symbols of the actions present, in Terraform's order.
func legend(p *plans.Plan) []line {
	present := map[plans.Action]bool{}
	for _, c := range p.Changes {
		present[c.Action] = true
	}
	var out []line
	for _, e := range []struct {
		a plans.Action
		l line
	}{
		{plans.Create, line{2, markCreate, "create"}},
		{plans.Update, line{2, markUpdate, "update in-place"}},
		{plans.Delete, line{2, markDelete, "destroy"}},
		{plans.Replace, line{0, markReplace, "destroy and then create replacement"}},
		{plans.Read, line{1, markRead, "read (data resources)"}},
	} {
		if present[e.a] {
			out = append(out, e.l)
		}
	}
	return out
}

// headerMark returns the three-column marker of an action as a line
// (indent, mark).
func headerMark(a plans.Action) (int, string) {
	switch a {
	case plans.Create:
		return 2, markCreate
	case plans.Update:
		return 2, markUpdate
	case plans.Delete:
		return 2, markDelete
	case plans.Replace:
		return 0, markReplace
	case plans.Read:
		return 1, markRead
	}
	return 2, ""
}

// actionPhrase completes "# ADDR …".
func actionPhrase(a plans.Action) string {
	switch a {
	case plans.Create:
		return "will be created"
	case plans.Update:
		return "will be updated in-place"
	case plans.Delete:
		return "will be destroyed"
	case plans.Replace:
		return "must be replaced"
	case plans.Read:
		return "will be read during apply"
	}
	return "has no changes"
}

// reasonLine says why, when the action alone does not: "(because not in
// configuration)" for a delete or replace, "(inputs changed: …)" or
// "(adopting an existing object)" otherwise.
func reasonLine(c plans.Change) string {
	r := c.Reason
	if r == "" && c.Adopt {
		r = "adopting an existing object"
	}
	if r == "" {
		return ""
	}
	if c.Action == plans.Delete || c.Action == plans.Replace {
		return "# (because " + r + ")"
	}
	return "# (" + r + ")"
}

// attrIndent is where attributes sit inside a resource block.
const attrIndent = 6

// changeLines renders one change: its comment lines, then the block with
// its attribute diff.
func changeLines(p *plans.Plan, c plans.Change) []line {
	lines := []line{{0, "", "# " + c.Addr.String() + " " + actionPhrase(c.Action)}}
	if r := reasonLine(c); r != "" {
		lines = append(lines, line{0, "", r})
	}
	indent, mark := headerMark(c.Action)
	lines = append(lines, line{indent, mark, blockTitle(p, c) + " {"})

	before, after := normalizeObject(c.Before), normalizeObject(c.After)
	sensitive := stringSet(c.Sensitive)
	var body []line
	var hidden int
	switch c.Action {
	case plans.Create:
		body, hidden = objectDiff(attrIndent, nil, after, false, sensitive, false)
	case plans.Delete:
		body, hidden = objectDiff(attrIndent, before, nil, false, sensitive, false)
	default:
		body, hidden = objectDiff(attrIndent, before, after, true, sensitive, false)
	}
	lines = append(lines, body...)
	if hidden > 0 {
		lines = append(lines, hiddenLine(attrIndent, hidden, "attribute"))
	}
	return append(lines, line{2, "", "}"})
}

// blockTitle is the resource block's title: its kind and its key (or
// block name), like Terraform's resource "type" "name".
func blockTitle(p *plans.Plan, c plans.Change) string {
	kind := c.Kind
	if kind == "" {
		kind = c.Addr.Type
	}
	if kind == "" {
		kind = c.Addr.Block
	}
	name := c.Addr.Key
	if name == "" {
		name = c.Addr.Name
	}
	return kind + " " + strconv.Quote(name)
}

// orderText lists the changes in waves: every change in wave n depends
// only on changes in earlier waves, so a wave's changes may run in
// parallel.
func orderText(p *plans.Plan, color bool) []string {
	out := []string{"Execution order (changes in one wave may run in parallel):"}
	for i, wave := range waves(p) {
		for j, c := range wave {
			label := ""
			if j == 0 {
				label = fmt.Sprintf("%d.", i+1)
			}
			indent, mark := headerMark(c.Action)
			out = append(out, fmt.Sprintf("  %-4s%s%s %s", label, strings.Repeat(" ", indent), colorMark(mark, color), c.Addr))
		}
	}
	return out
}

// waves groups the plan's changes (NoOps left out) by depth in the
// dependency graph. A NoOp passes its dependencies' depth through without
// adding a wave. Dependencies outside the plan are already in place.
func waves(p *plans.Plan) [][]plans.Change {
	byAddr := make(map[plans.Address]int, len(p.Changes))
	for i, c := range p.Changes {
		byAddr[c.Addr] = i
	}
	depth := make([]int, len(p.Changes))
	state := make([]uint8, len(p.Changes)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case 1:
			return 0 // a cycle; the planner rejects them, do not loop here
		case 2:
			return depth[i]
		}
		state[i] = 1
		d := 0
		for _, dep := range p.Changes[i].DependsOn {
			if j, ok := byAddr[dep]; ok {
				d = max(d, visit(j))
			}
		}
		if p.Changes[i].Action != plans.NoOp {
			d++
		}
		depth[i], state[i] = d, 2
		return d
	}
	var out [][]plans.Change
	for i, c := range p.Changes {
		d := visit(i)
		if c.Action == plans.NoOp {
			continue
		}
		for len(out) < d {
			out = append(out, nil)
		}
		out[d-1] = append(out[d-1], c)
	}
	return out
}
