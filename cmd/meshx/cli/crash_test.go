package cli

import (
	"bytes"
	"strings"
	"testing"
)

// crashCommand panics when run, standing in for a bug.
type crashCommand struct{ *Meta }

func (c *crashCommand) Synopsis() string   { return "" }
func (c *crashCommand) Help() string       { return "" }
func (c *crashCommand) Run(_ []string) int { panic("boom") }

// TestRunRecoversPanic checks that a panicking command exits with
// ExitError, never 0 or plan -detailed-exitcode's 2 (Go's own status for an
// unrecovered panic), and asks for a bug report.
func TestRunRecoversPanic(t *testing.T) {
	register("crash-test", func(m *Meta) Command { return &crashCommand{Meta: m} })
	t.Cleanup(func() { delete(registry, "crash-test") })
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"crash-test"}, nil, &stdout, &stderr); code != ExitError {
		t.Errorf("exit status %d, want %d", code, ExitError)
	}
	for _, want := range []string{"Error: meshx crashed", "boom", "This is a bug in meshx", "crash_test.go"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
