package views

import (
	"fmt"
	"strings"

	"github.com/meshx-dev/meshx/verify"
)

// verifyMarkdown renders a verify report as a pull-request comment: the
// failing checks with what to do, grouped as the text report groups them,
// the skipped ones with how to make them, then every check in a folded
// table. A
// report longer than GitHubCommentLimit keeps every failing check and
// leaves out passing rows, saying how many.
func verifyMarkdown(r *verify.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- meshx:verify env=%s -->\n", markerSafe(r.Environment))
	icon := "✅"
	if !r.OK() {
		icon = "❌"
	}
	fmt.Fprintf(&b, "## meshx verify — %s\n\n%s %s\n\n", mdCell(r.Environment), icon, strings.TrimPrefix(verifySummary(r), "Verify: "))
	for _, sec := range []struct {
		head   string
		checks []verify.Check
	}{{"| Subject | Failing checks | What to do |", r.Failed()}, {"| Subject | Skipped checks | How to make them |", r.Skipped()}} {
		if groups := fixGroups(sec.checks); len(groups) > 0 {
			b.WriteString(sec.head + "\n|---|---|---|\n")
			for _, g := range groups {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", codeSpan(g.subject), mdCell(strings.Join(g.names, ", ")), mdCell(g.fix))
			}
			b.WriteString("\n")
		}
	}
	head := "<details><summary>All checks</summary>\n\n| | Subject | Check | Observed |\n|---|---|---|---|\n"
	tail := "\n</details>\n"
	var rows []string
	for _, c := range r.Checks {
		mark := map[verify.Status]string{verify.Pass: "✅", verify.Skip: "⏭️"}[c.Status]
		if mark == "" {
			mark = "❌"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |\n", mark, codeSpan(c.Subject), mdCell(c.Name), mdCell(observedText(c))))
	}
	room := GitHubCommentLimit - b.Len() - len(head) - len(tail) - 200
	b.WriteString(head)
	for i, row := range rows {
		if room -= len(row); room < 0 {
			fmt.Fprintf(&b, "\n_%d more checks not shown: run meshx verify for all of them._\n", len(rows)-i)
			break
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return Escape(b.String())
}

// mdCell makes text safe in a table cell: one line, no tag or entity, no
// column break.
func mdCell(s string) string {
	return strings.ReplaceAll(htmlText(oneLine(s)), "|", `\|`)
}
