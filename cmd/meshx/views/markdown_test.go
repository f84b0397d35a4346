package views

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/plans"
)

func TestMarkdownGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan *plans.Plan
		opts MarkdownOptions
	}{
		{"markdown_full.md", fullPlan(t), MarkdownOptions{Order: true, Footer: "Apply with `meshx apply plan.mxplan` · [CI run](https://ci.example/run/42)"}},
		// A small limit shows the split format on a readable fixture.
		{"markdown_split_small.md", fullPlan(t), MarkdownOptions{MaxLen: 2500}},
		{"markdown_no_changes.md", &plans.Plan{Environment: "bookinfo"}, MarkdownOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := Markdown(tc.plan, tc.opts)
			checkParts(t, parts, tc.opts.MaxLen, tc.plan.Environment)
			golden(t, tc.name, strings.Join(parts, "\n=== next comment ===\n"))
		})
	}
}

// bigPlan has n file updates with a diff of lines lines each, plus one
// file whose diff alone is larger than a comment.
func bigPlan(t testing.TB, n, lines int) *plans.Plan {
	p := &plans.Plan{Environment: "prod"}
	for i := range n {
		var before, after strings.Builder
		for j := range lines {
			fmt.Fprintf(&before, "setting_%03d = old value %d of file %d\n", j, j, i)
			fmt.Fprintf(&after, "setting_%03d = new value %d of file %d\n", j, j, i)
		}
		p.Changes = append(p.Changes, plans.Change{
			Addr: plans.Address{Block: "vm", Name: "ecs1", Type: "file", Key: fmt.Sprintf("/etc/app/%04d.conf", i)}, Action: plans.Update, Kind: "vm_file",
			Before: plans.Object{"content": before.String(), "mode": "0644"},
			After:  plans.Object{"content": after.String(), "mode": "0644"},
		})
	}
	var huge strings.Builder
	for j := range 5000 {
		fmt.Fprintf(&huge, "line %d of a very large generated file that a reviewer cannot read in one comment\n", j)
	}
	p.Changes = append(p.Changes, plans.Change{
		Addr: plans.Address{Block: "vm", Name: "ecs2", Type: "file", Key: "/srv/huge.txt"}, Action: plans.Create, Kind: "vm_file",
		After: plans.Object{"content": huge.String(), "mode": "0644"},
	}, plans.Change{
		Addr: plans.Address{Block: "vm", Name: "ecs3", Type: "file", Key: "/etc/gone"}, Action: plans.Delete, Kind: "vm_file", Reason: "not in configuration",
		Before: plans.Object{"content": "x\n"},
	})
	return p
}

func TestMarkdownSplit(t *testing.T) {
	p := bigPlan(t, 300, 12)
	parts := Markdown(p, MarkdownOptions{})
	total := 0
	for _, s := range parts {
		total += len(s)
	}
	if total <= GitHubCommentLimit || len(parts) < 2 {
		t.Fatalf("fixture too small: %d parts, %d bytes", len(parts), total)
	}
	checkParts(t, parts, GitHubCommentLimit, "prod")

	// Every changed resource has exactly one diff, in exactly one part.
	all := strings.Join(parts, "\n")
	for _, c := range p.Changes {
		summary := "<summary>" + c.Addr.String() + " (" + c.Action.String() + ")</summary>"
		if n := strings.Count(all, summary); n != 1 {
			t.Errorf("%s: %d diffs, want 1", c.Addr, n)
		}
	}
	if !strings.Contains(all, "_Diff truncated: ") {
		t.Error("the oversized diff was not truncated with a note")
	}
	if !strings.Contains(parts[0], "Plan: 1 to add, 300 to change, 1 to destroy.") {
		t.Error("the summary line must be in the first part")
	}
	if !strings.Contains(parts[0], "### :warning: 1 resource will be destroyed or replaced") {
		t.Error("the caution banner must be in the first part")
	}
}

var fenceLine = regexp.MustCompile("^(`{3,})(diff)?$")

// checkParts asserts what every comment body must satisfy: within the
// limit, the marker first (with part=N when split), and every fence and
// <details> closed in the part that opened it.
func checkParts(t *testing.T, parts []string, limit int, env string) {
	t.Helper()
	if limit <= 0 {
		limit = GitHubCommentLimit
	}
	for i, s := range parts {
		if len(s) > limit {
			t.Errorf("part %d: %d bytes, limit %d", i+1, len(s), limit)
		}
		marker := "<!-- meshx:plan env=" + env + " -->\n"
		if len(parts) > 1 {
			marker = fmt.Sprintf("<!-- meshx:plan env=%s part=%d -->\n", env, i+1)
		}
		if !strings.HasPrefix(s, marker) {
			t.Errorf("part %d does not start with %q", i+1, marker)
		}
		if i > 0 && !strings.Contains(s, "\nContinued from previous comment.\n") {
			t.Errorf("part %d lacks the continuation line", i+1)
		}
		open := ""
		for n, l := range strings.Split(s, "\n") {
			if m := fenceLine.FindStringSubmatch(l); m != nil {
				switch {
				case open == "" && m[2] == "diff":
					open = m[1]
				case open == m[1] && m[2] == "":
					open = ""
				}
				continue
			}
			if open == "" && strings.HasPrefix(l, "```") {
				t.Errorf("part %d line %d: stray fence %q", i+1, n+1, l)
			}
		}
		if open != "" {
			t.Errorf("part %d ends inside a ```diff block", i+1)
		}
		if o, c := strings.Count(s, "<details>"), strings.Count(s, "</details>"); o != c {
			t.Errorf("part %d: %d <details> but %d </details>", i+1, o, c)
		}
	}
}

func TestDiffMarkdownMarkers(t *testing.T) {
	for _, tc := range []struct {
		l    line
		want string
	}{
		{line{2, markCreate, `vm_file "/x" {`}, `+   vm_file "/x" {`},
		{line{0, markReplace, `vm_package "p" {`}, `!   vm_package "p" {`},
		{line{6, markUpdate, `mode = "0644" -> "0600"`}, `!       mode = "0644" -> "0600"`},
		{line{10, markDelete, `old line`}, `-           old line`},
		{line{10, "", `- content line, not a marker`}, `            - content line, not a marker`},
		{line{2, "", `}`}, `    }`},
	} {
		if got := tc.l.diffMarkdown(); got != tc.want {
			t.Errorf("diffMarkdown(%+v) = %q, want %q", tc.l, got, tc.want)
		}
		// The text keeps the column it has in the terminal.
		if p, m := tc.l.plain(false), tc.l.diffMarkdown(); len(p) != len(m) {
			t.Errorf("%q and %q differ in width", p, m)
		}
	}
}
