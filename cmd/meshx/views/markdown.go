package views

import (
	"fmt"
	"strings"

	"github.com/meshx-dev/meshx/plans"
)

// GitHubCommentLimit is the largest comment body GitHub accepts, in
// characters.
const GitHubCommentLimit = 65536

// MarkdownOptions tune the PR comment.
type MarkdownOptions struct {
	// MaxLen bounds each comment body, in bytes (never fewer than
	// characters); default GitHubCommentLimit.
	MaxLen int
	// Order adds the execution order in waves, collapsed.
	Order bool
	// Footer is markdown appended to the last comment: a link to the CI
	// run, the plan digest, the command that applies it.
	Footer string
}

// Markdown renders the plan as one or more PR comment bodies: a hidden
// marker `<!-- meshx:plan env=ENV -->` to find and update the comment, the
// title, the summary line, a warning when the plan is partial (-target,
// targets not observed), a caution banner when anything is destroyed or
// replaced, the addresses grouped by action, drift in its own collapsed
// section, then one collapsed ```diff per changed resource with +, - and !
// in column 0 so GitHub colours them.
//
// Output longer than opts.MaxLen is split into several bodies on resource
// boundaries, never inside a diff; each body then carries part=N in its
// marker and the later ones say "Continued from previous comment.". A
// single diff too large for a body on its own is cut at a line boundary,
// its fence closed, with a note saying how much was left out.
func Markdown(p *plans.Plan, opts MarkdownOptions) []string {
	if opts.MaxLen <= 0 {
		opts.MaxLen = GitHubCommentLimit
	}
	m := mdRender{plan: p, env: p.Environment}
	budget := opts.MaxLen - len(m.header(9999, 9999)) - len(mdTrailer)
	pk := &mdPacker{budget: budget}
	for _, b := range m.intro(opts.Order) {
		pk.add(b)
	}
	for _, c := range p.Changes {
		if c.Action != plans.NoOp {
			pk.add(m.diffBlock(c))
		}
	}
	if opts.Footer != "" {
		pk.add(mdBlock{lines: strings.Split(strings.TrimRight(opts.Footer, "\n"), "\n")})
	}
	parts := pk.finish()
	out := make([]string, len(parts))
	for i, chunks := range parts {
		var b strings.Builder
		if len(parts) == 1 {
			b.WriteString(m.header(0, 0))
		} else {
			b.WriteString(m.header(i+1, len(parts)))
		}
		b.WriteString(strings.Join(chunks, "\n"))
		if i < len(parts)-1 {
			b.WriteString(mdTrailer)
		}
		out[i] = b.String()
	}
	return out
}

// mdTrailer ends every part but the last.
const mdTrailer = "\n_Continued in the next comment._\n"

type mdRender struct {
	plan *plans.Plan
	env  string
}

// header is the start of a comment; part 0 means the plan fits in one.
func (m mdRender) header(part, total int) string {
	marker := "<!-- meshx:plan env=" + markerSafe(m.env)
	title := "## meshx plan — " + htmlText(m.env)
	if part > 0 {
		marker += fmt.Sprintf(" part=%d", part)
		title += fmt.Sprintf(" (part %d of %d)", part, total)
	}
	h := marker + " -->\n" + Escape(title) + "\n\n"
	if part > 1 {
		h += "Continued from previous comment.\n\n"
	}
	return h
}

// htmlText escapes what would start a tag or an entity; quotes, common in
// addresses, stay readable.
var htmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// markerSafe keeps an environment name from ending the HTML comment.
func markerSafe(s string) string {
	var b strings.Builder
	var prev rune
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-' && prev != '-':
		default:
			r = '_'
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// intro is what the first comment starts with.
func (m mdRender) intro(order bool) []mdBlock {
	p := m.plan
	blocks := []mdBlock{{lines: []string{SummaryLine(p)}}}
	if len(p.Clusters) > 0 {
		var l []string
		for _, c := range p.Clusters {
			l = append(l, fmt.Sprintf("- %s: context %s, server %s", codeSpan("cluster."+c.Name), codeSpan(Escape(orNone(c.Context))), codeSpan(Escape(c.Server))))
		}
		blocks = append(blocks, mdBlock{lines: l})
	}
	blocks = append(blocks, partialMarkdown(PartialNotes(p))...)
	if n := countDestructive(p); n > 0 {
		noun := "resources"
		verb := "will be"
		if n == 1 {
			noun = "resource"
		}
		blocks = append(blocks, mdBlock{lines: []string{
			"> [!CAUTION]",
			fmt.Sprintf("> ### :warning: %d %s %s destroyed or replaced", n, noun, verb),
			"> Check the Replace and Delete entries below before applying.",
		}})
	}
	for _, g := range []struct {
		title  string
		action plans.Action
	}{
		{"Create", plans.Create},
		{"Update", plans.Update},
		{"Replace", plans.Replace},
		{"Delete", plans.Delete},
	} {
		var items []string
		for _, c := range p.Changes {
			if c.Action == g.action {
				items = append(items, "  * "+codeSpan(c.Addr.String()))
			}
		}
		if len(items) > 0 {
			blocks = append(blocks, mdBlock{open: "* " + g.title + "\n", lines: items, cont: "* " + g.title + " (continued)\n"})
		}
	}
	if drift := p.Drifted(); len(drift) > 0 && p.HasChanges() {
		lines := []string{"These objects were changed outside meshx. The changes below undo that; check they are still wanted:", ""}
		for _, c := range drift {
			lines = append(lines, "* "+codeSpan(c.Addr.String())+" has changed")
		}
		blocks = append(blocks, mdBlock{
			open:  fmt.Sprintf("<details><summary>:information_source: Drift detected (%d)</summary>\n\n", len(drift)),
			lines: lines,
			tail:  "\n</details>\n",
			note:  "\n_%d more drifted objects not listed._\n",
		})
	}
	if order && p.HasChanges() {
		ws := waves(p)
		var lines []string
		for i, w := range ws {
			addrs := make([]string, len(w))
			for j, c := range w {
				addrs[j] = codeSpan(c.Addr.String()) + " (" + c.Action.String() + ")"
			}
			lines = append(lines, fmt.Sprintf("%d. %s", i+1, strings.Join(addrs, ", ")))
		}
		blocks = append(blocks, mdBlock{
			open:  fmt.Sprintf("<details><summary>Execution order (%d waves)</summary>\n\n", len(ws)),
			lines: lines,
			tail:  "\n</details>\n",
			note:  "\n_%d more waves not listed._\n",
		})
	}
	return blocks
}

// diffBlock is one resource's collapsed diff.
func (m mdRender) diffBlock(c plans.Change) mdBlock {
	ls := changeLines(m.plan, c)
	lines := make([]string, len(ls))
	for i, l := range ls {
		lines[i] = l.diffMarkdown()
	}
	fence := strings.Repeat("`", max(3, longestRun(lines, '`')+1))
	return mdBlock{
		open:  "<details><summary>" + htmlText(c.Addr.String()) + " (" + c.Action.String() + ")</summary>\n\n" + fence + "diff\n",
		lines: lines,
		close: fence + "\n",
		tail:  "\n</details>\n",
		note:  "\n_Diff truncated: %d more lines not shown. `meshx show` on the saved plan prints all of it._\n",
	}
}

// codeSpan quotes s as inline code, with a longer delimiter when s holds
// backticks.
func codeSpan(s string) string {
	n := longestRun([]string{s}, '`')
	if n == 0 {
		return "`" + s + "`"
	}
	d := strings.Repeat("`", n+1)
	return d + " " + s + " " + d
}

// longestRun is the longest run of r in any of lines.
func longestRun(lines []string, r byte) int {
	best := 0
	for _, l := range lines {
		run := 0
		for i := 0; i < len(l); i++ {
			if l[i] == r {
				run++
				best = max(best, run)
			} else {
				run = 0
			}
		}
	}
	return best
}

// mdBlock is a unit of markdown that is never split at an arbitrary
// place: open, lines, close, tail. A block with a note is cut to size when
// it cannot fit a comment on its own: the lines that fit, close, the note
// (a format given the number of lines left out), tail. Any other block is a
// list that may continue in the next comment, reopened with cont.
type mdBlock struct {
	open  string
	lines []string
	close string
	tail  string
	cont  string
	note  string
}

func (b mdBlock) render(lines []string, note string) string {
	var s strings.Builder
	s.WriteString(b.open)
	for _, l := range lines {
		s.WriteString(l)
		s.WriteByte('\n')
	}
	s.WriteString(b.close)
	s.WriteString(note)
	s.WriteString(b.tail)
	return s.String()
}

// truncate renders as many lines as fit in limit bytes, with the note.
func (b mdBlock) truncate(limit int) string {
	size := len(b.open) + len(b.close) + len(b.tail)
	k := 0
	for k < len(b.lines) {
		note := fmt.Sprintf(b.note, len(b.lines)-k-1)
		if size+len(b.lines[k])+1+len(note) > limit {
			break
		}
		size += len(b.lines[k]) + 1
		k++
	}
	return b.render(b.lines[:k], fmt.Sprintf(b.note, len(b.lines)-k))
}

// escaped returns b with its text escaped as Escape does, before it is
// measured against the comment size.
func (b mdBlock) escaped() mdBlock {
	lines := make([]string, len(b.lines))
	for i, l := range b.lines {
		lines[i] = Escape(l)
	}
	return mdBlock{open: Escape(b.open), lines: lines, close: Escape(b.close), tail: Escape(b.tail), cont: Escape(b.cont), note: Escape(b.note)}
}

// mdPacker fills comment parts with blocks, separated by blank lines.
type mdPacker struct {
	budget int
	parts  [][]string
	cur    []string
	size   int
}

func (p *mdPacker) push(s string) {
	if len(p.cur) > 0 {
		p.size++ // the blank line between blocks
	}
	p.cur = append(p.cur, s)
	p.size += len(s)
}

func (p *mdPacker) newPart() {
	if len(p.cur) > 0 {
		p.parts = append(p.parts, p.cur)
	}
	p.cur, p.size = nil, 0
}

func (p *mdPacker) room() int {
	if len(p.cur) == 0 {
		return p.budget
	}
	return p.budget - p.size - 1
}

func (p *mdPacker) add(b mdBlock) {
	b = b.escaped()
	s := b.render(b.lines, "")
	switch {
	case len(s) <= p.room():
		p.push(s)
	case b.note == "":
		p.split(b)
	case len(s) <= p.budget:
		p.newPart()
		p.push(s)
	case p.room() >= p.budget/2:
		// Too big for any comment: cut it to what is left of this one.
		p.push(b.truncate(p.room()))
	default:
		p.newPart()
		p.push(b.truncate(p.budget))
	}
}

// split spreads a list over as many parts as it needs.
func (p *mdPacker) split(b mdBlock) {
	open, lines := b.open, b.lines
	for len(lines) > 0 {
		room := p.room() - len(open) - len(b.close)
		k, used := 0, 0
		for k < len(lines) && used+len(lines[k])+1 <= room {
			used += len(lines[k]) + 1
			k++
		}
		if k == 0 {
			if len(p.cur) > 0 {
				p.newPart()
				continue
			}
			k = 1 // one line longer than a whole part: nothing better to do
		}
		p.push(mdBlock{open: open, lines: lines[:k], close: b.close, tail: b.tail}.render(lines[:k], ""))
		lines = lines[k:]
		open = b.cont
		if len(lines) > 0 {
			p.newPart()
		}
	}
}

func (p *mdPacker) finish() [][]string {
	p.newPart()
	if len(p.parts) == 0 {
		return [][]string{{}}
	}
	return p.parts
}
