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
