package views

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/plans"
)

// TestEveryViewNamesTheClusters: text, markdown and JSON all say which
// context and server each cluster block reached, so nobody applies to the
// wrong cluster whichever way they read the plan.
func TestEveryViewNamesTheClusters(t *testing.T) {
	p := &plans.Plan{Environment: "demo", Clusters: []plans.ClusterEndpoint{
		{Name: "control", Context: "prod-eu", Server: "https://10.0.0.1:6443"},
		{Name: "remote1", Server: "https://remote.example:443"},
	}}

	var text bytes.Buffer
	if err := PlanText(&text, p, PlanOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"cluster.control: context prod-eu, server https://10.0.0.1:6443\n",
		"cluster.remote1: context (none), server https://remote.example:443\n",
	} {
		if !strings.HasPrefix(text.String(), want) && !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	md := strings.Join(Markdown(p, MarkdownOptions{}), "\n")
	if !strings.Contains(md, "- `cluster.control`: context `prod-eu`, server `https://10.0.0.1:6443`") {
		t.Errorf("markdown lacks the control cluster:\n%s", md)
	}

	var out bytes.Buffer
	NewJSON(&out, JSONOptions{Version: "test"}).Plan(p)
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if m["type"] == "cluster" {
			got = append(got, m["cluster"].(map[string]any))
		}
	}
	if len(got) != 2 || got[0]["name"] != "control" || got[0]["context"] != "prod-eu" || got[0]["server"] != "https://10.0.0.1:6443" || got[1]["context"] != "" {
		t.Errorf("JSON cluster messages: %v\n%s", got, out.String())
	}
}
