package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestColorFollowsTheUser(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     []string
		noColor bool
		want    bool
	}{
		{"a terminal", []string{"TERM=xterm-256color"}, false, true},
		{"no TERM", nil, false, true},
		{"NO_COLOR", []string{"TERM=xterm", "NO_COLOR=1"}, false, false},
		{"-no-color", []string{"TERM=xterm"}, true, false},
		{"TERM=dumb", []string{"TERM=dumb"}, false, false},
		{"the last TERM wins", []string{"TERM=dumb", "TERM=xterm"}, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMeta(nil, &bytes.Buffer{}, &bytes.Buffer{}, tt.env)
			m.terminal, m.stdoutTerminal, m.noColor = true, true, tt.noColor
			if got := m.Color(); got != tt.want {
				t.Errorf("Color() = %v, want %v", got, tt.want)
			}
			if got := m.ColorStdout(); got != tt.want {
				t.Errorf("ColorStdout() = %v, want %v", got, tt.want)
			}
			m.terminal, m.stdoutTerminal = false, false
			if m.Color() || m.ColorStdout() {
				t.Error("colour without a terminal")
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	for _, want := range []string{"validate", "fmt", "version", "completion"} {
		if _, ok := registry[want]; !ok {
			t.Errorf("command %q is not registered", want)
		}
	}
	m := newMeta(nil, &bytes.Buffer{}, &bytes.Buffer{}, nil)
	for _, name := range commandNames() {
		c := registry[name](m)
		if c.Synopsis() == "" || !strings.HasPrefix(c.Help(), "Usage: meshx ") {
			t.Errorf("command %q: synopsis %q, help starting %q", name, c.Synopsis(), firstLine(c.Help()))
		}
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// TestRunURL: the lock's holder record names the CI run from the run's
// own environment, GitHub Actions' variables first.
func TestRunURL(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"none", nil, ""},
		{"github", []string{"GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=o/r", "GITHUB_RUN_ID=7", RunURLEnv + "=https://ci/1"}, "https://github.com/o/r/actions/runs/7"},
		{"meshx before gitlab", []string{"CI_JOB_URL=https://gitlab/job/2", RunURLEnv + "=https://ci/1"}, "https://ci/1"},
		{"jenkins", []string{"BUILD_URL=https://jenkins/3"}, "https://jenkins/3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMeta(nil, &bytes.Buffer{}, &bytes.Buffer{}, tt.env)
			if got := m.runURL(); got != tt.want {
				t.Errorf("runURL() = %q, want %q", got, tt.want)
			}
		})
	}
}
