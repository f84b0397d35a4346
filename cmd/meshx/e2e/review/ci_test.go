package review

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshx-dev/meshx/cmd/meshx/cli"
	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
)

// TestCIWorkflowExample parses examples/ci/meshx.yml and checks it runs
// the review workflow: plan, comment and upload on pull requests; apply of
// the reviewed plan, failing clearly on a stale one, on pushes to main.
func TestCIWorkflowExample(t *testing.T) {
	root, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", "ci", "meshx.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On   map[string]any `json:"on"`
		True map[string]any `json:"true"` // YAML 1.1 reads a bare on: as true
		Jobs map[string]struct {
			If    string `json:"if"`
			Steps []struct {
				Name string         `json:"name"`
				Uses string         `json:"uses"`
				Run  string         `json:"run"`
				With map[string]any `json:"with"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("meshx.yml is not valid YAML: %v", err)
	}
	on := wf.On
	if on == nil {
		on = wf.True
	}
	for _, ev := range []string{"pull_request", "push"} {
		if _, ok := on[ev]; !ok {
			t.Errorf("the workflow does not run on %s: %v", ev, on)
		}
	}

	steps := func(job string) (runs, uses, scripts string) {
		j, ok := wf.Jobs[job]
		if !ok {
			t.Fatalf("no job %q in %v", job, wf.Jobs)
		}
		for _, s := range j.Steps {
			runs += s.Run + "\n"
			uses += s.Uses + "\n"
			if sc, ok := s.With["script"].(string); ok {
				scripts += sc + "\n"
			}
		}
		return
	}
	if !strings.Contains(wf.Jobs["plan"].If, "pull_request") || !strings.Contains(wf.Jobs["apply"].If, "push") {
		t.Errorf("job conditions: plan %q, apply %q", wf.Jobs["plan"].If, wf.Jobs["apply"].If)
	}

	runs, uses, scripts := steps("plan")
	e2etest.Contains(t, "plan job's commands", runs, "meshx validate", "meshx fmt -check -recursive",
		"meshx plan -out=plan.mxplan -input=false", "meshx show -format=markdown plan.mxplan")
	e2etest.Contains(t, "plan job's actions", uses, "actions/checkout@", "actions/github-script@", "actions/upload-artifact@")
	e2etest.Contains(t, "plan job's comment script", scripts, cli.PartBreak, "<!-- meshx:plan env=", "updateComment", "createComment")

	runs, uses, _ = steps("apply")
	e2etest.Contains(t, "apply job's commands", runs, "meshx apply -input=false", "plan.mxplan", "4)", "stale")
	e2etest.Contains(t, "apply job's actions", uses, "actions/download-artifact@")
	if strings.Contains(runs, "-auto-approve") {
		t.Errorf("the apply job applies something other than the reviewed plan:\n%s", runs)
	}
}
