package review

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// TestPlanJSONAndMarkdown checks the machine and pull-request renderings
// of a real first plan: every -json line is a UI message in Terraform's
// envelope, starting with the version, with a change_summary saying what
// the text plan says; the markdown comment carries the hidden marker CI
// uses to find it and the same summary line.
func TestPlanJSONAndMarkdown(t *testing.T) {
	w := e2etest.Details(t, "formats")
	text := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	summary := ""
	for _, line := range strings.Split(text.Stdout, "\n") {
		if strings.HasPrefix(line, "Plan: ") {
			summary = line
		}
	}
	if summary == "" {
		t.Fatalf("the text plan has no summary line:\n%s", text.Stdout)
	}

	js := w.Must(2, "plan", "-json", "-detailed-exitcode")
	lines := strings.Split(strings.TrimRight(js.Stdout, "\n"), "\n")
	var types []string
	summaries := 0
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"@level", "@message", "@timestamp", "type"} {
			if s, ok := m[k].(string); !ok || s == "" {
				t.Errorf("line %d: %s = %v, want a string", i+1, k, m[k])
			}
		}
		if m["@module"] != "meshx.ui" {
			t.Errorf("line %d: @module = %v", i+1, m["@module"])
		}
		typ, _ := m["type"].(string)
		types = append(types, typ)
		if typ == "change_summary" {
			summaries++
			if m["@message"] != summary {
				t.Errorf("change_summary @message = %q, want the text plan's %q", m["@message"], summary)
			}
		}
	}
	if len(types) == 0 || types[0] != "version" {
		t.Errorf("first message types %v, want version first", types)
	}
	if summaries != 1 {
		t.Errorf("%d change_summary messages, want 1: %v", summaries, types)
	}
	if !slices.Contains(types, "planned_change") {
		t.Errorf("no planned_change message: %v", types)
	}
	if js.Stderr != "" {
		t.Errorf("plan -json wrote to stderr:\n%s", js.Stderr)
	}

	md := w.Must(0, "plan", "-format=markdown")
	e2etest.Contains(t, "markdown plan", md.Stdout, "<!-- meshx:plan env=formats -->", "\n"+summary+"\n", "```diff")

	w.Must(0, "apply", "-auto-approve", "-no-color")
	md = w.Must(0, "plan", "-format=markdown")
	e2etest.Contains(t, "markdown plan after apply", md.Stdout, "<!-- meshx:plan env=formats -->", "No changes.")
}
