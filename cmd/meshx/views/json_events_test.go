package views

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/meshx-dev/meshx/plans"
	"github.com/zclconf/go-cty/cty"
)

const diagSource = `vm "ecs1" {
  address = var.vm_ip
  ssh {
    password = "${var.token}-${var.ports[0]}"
  }
}
`

// sourceDiagnostics returns an error on vm.ecs1's address with its
// expression and values, one whose expression uses a sensitive variable,
// and a warning on a file whose source is not given.
func sourceDiagnostics(t testing.TB) (hcl.Diagnostics, map[string][]byte) {
	f, diags := hclsyntax.ParseConfig([]byte(diagSource), "envs/prod/main.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	vm := f.Body.(*hclsyntax.Body).Blocks[0]
	address := vm.Body.Attributes["address"]
	password := vm.Body.Blocks[0].Body.Attributes["password"]
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(map[string]cty.Value{
			"vm_ip": cty.StringVal("10.0.0.5/24"),
			"token": cty.StringVal("s3cr3t-token-value").Mark("sensitive"),
			"ports": cty.ListVal([]cty.Value{cty.NumberIntVal(9080), cty.NumberIntVal(9443)}),
		}),
	}}
	return hcl.Diagnostics{
		{
			Severity: hcl.DiagError, Summary: "Invalid IP address",
			Detail:  `address must be an IP address such as "10.0.0.5", without a prefix length.`,
			Subject: address.Expr.Range().Ptr(), Context: address.SrcRange.Ptr(),
			Expression: address.Expr, EvalContext: ctx,
		},
		{
			Severity: hcl.DiagError, Summary: "Password authentication is not supported",
			Detail:     "Use private_key_file or the SSH agent.",
			Subject:    password.Expr.Range().Ptr(),
			Expression: password.Expr, EvalContext: ctx,
		},
		{
			Severity: hcl.DiagWarning, Summary: "Deprecated attribute",
			Detail:  "sidecar_env is ignored since profile 1.1.",
			Subject: &hcl.Range{Filename: "envs/prod/vms.hcl", Start: hcl.Pos{Line: 7, Column: 3, Byte: 90}, End: hcl.Pos{Line: 7, Column: 14, Byte: 101}},
		},
	}, map[string][]byte{"envs/prod/main.hcl": []byte(diagSource)}
}

// fixedClock returns a clock that starts at a fixed instant and moves one
// second per reading, so golden timestamps are stable and distinct.
func fixedClock() func() time.Time {
	t := time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

func TestJSONEventsGolden(t *testing.T) {
	var b strings.Builder
	v := NewJSON(&b, JSONOptions{Version: "0.3.0", Now: fixedClock()})
	diags, sources := sourceDiagnostics(t)
	v.Diagnostics(diags, sources)
	v.Plan(fullPlan(t))
	events, res, outs := applyRun(t)
	for _, e := range events {
		v.Event(e)
	}
	v.Result(res, false)
	v.Outputs(outs)
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	golden(t, "events.jsonl", b.String())

	// Every line is one JSON object with the envelope; the first is the
	// version message.
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for n := 0; sc.Scan(); n++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		for _, k := range []string{"@level", "@message", "@module", "@timestamp", "type"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %s: %s", n+1, k, sc.Text())
			}
		}
		if _, err := time.Parse(time.RFC3339, m["@timestamp"].(string)); err != nil {
			t.Errorf("line %d: @timestamp: %v", n+1, err)
		}
		if m["@module"] != "meshx.ui" {
			t.Errorf("line %d: @module = %v", n+1, m["@module"])
		}
		if n == 0 && (m["type"] != "version" || m["ui"] != UIVersion || m["meshx"] != "0.3.0") {
			t.Errorf("first message = %s, want the version message", sc.Text())
		}
	}
}

func TestDiagnosticSnippet(t *testing.T) {
	diags, sources := sourceDiagnostics(t)
	d := NewDiagnostic(diags[0], sources)
	if d.Snippet == nil {
		t.Fatal("no snippet")
	}
	if got, want := d.Snippet.Code[d.Snippet.HighlightStartOffset:d.Snippet.HighlightEndOffset], "var.vm_ip"; got != want {
		t.Errorf("highlight = %q, want %q", got, want)
	}
	if d.Snippet.Context == nil || *d.Snippet.Context != `vm "ecs1"` {
		t.Errorf("context = %v", d.Snippet.Context)
	}
	want := []DiagnosticExpressionValue{{Traversal: "var.vm_ip", Statement: `is "10.0.0.5/24"`}}
	if len(d.Snippet.Values) != 1 || d.Snippet.Values[0] != want[0] {
		t.Errorf("values = %v, want %v", d.Snippet.Values, want)
	}
	sens := NewDiagnostic(diags[1], sources)
	got := map[string]string{}
	for _, v := range sens.Snippet.Values {
		got[v.Traversal] = v.Statement
	}
	if got["var.token"] != "has a sensitive value" || got["var.ports[0]"] != "is 9080" {
		t.Errorf("values = %v", got)
	}
	if NewDiagnostic(diags[2], sources).Snippet != nil {
		t.Error("a diagnostic whose file is not in sources must have no snippet")
	}
	r := NewValidateResult(diags, sources)
	if r.Valid || r.ErrorCount != 2 || r.WarningCount != 1 || len(r.Diagnostics) != 3 {
		t.Errorf("validate result = %+v", r)
	}
}

func TestPlanEventsNoChanges(t *testing.T) {
	var b strings.Builder
	v := NewJSON(&b, JSONOptions{Version: "0.3.0", Now: fixedClock()})
	v.Plan(&plans.Plan{Environment: "x"})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"@message":"Plan: 0 to add, 0 to change, 0 to destroy."`) {
		t.Errorf("got %s", b.String())
	}
}
