package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// TestReadmeExample keeps the README's 30-second example valid and
// formatted: people copy it.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## 30 seconds\n\n```hcl\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no ```hcl block under \"## 30 seconds\"")
	}
	src := m[1]
	if got := hclwrite.Format(src); string(got) != string(src) {
		t.Errorf("the README example is not formatted as meshx fmt would:\n%s", got)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := Load(dir, LoadOptions{Env: []string{}}); diags.HasErrors() {
		t.Errorf("the README example does not validate: %s", diags.Error())
	}
}
