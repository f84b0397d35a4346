package views

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/plans"
)

// hostileText holds what a terminal would act on: set the window title (OSC),
// clear the screen (CSI), move the cursor back over a line (CR), a C1 CSI,
// DEL, a bidi override that reorders what follows, and a byte that is not
// UTF-8.
const hostileText = "\x1b]0;pwned\x07\x1b[2J\rX\u009b31m\x7f\u202eevil\u2066\xff"

// hostilePlan puts hostileText text everywhere a plan carries a string: the
// environment, an address key, kind, target, reason, map keys, single- and
// multi-line values before and after, and outputs.
func hostilePlan(t testing.TB) *plans.Plan {
	a := addr(t, `vm.ecs1.file["/etc/x"]`)
	a.Key = "/etc/" + hostileText
	b := addr(t, `vm.ecs1.unit["istio"]`)
	return &plans.Plan{
		Environment: "env" + hostileText,
		Changes: []plans.Change{
			{
				Addr: a, Action: plans.Update, Kind: "vm_file" + hostileText, Target: "vm.ecs1" + hostileText, Reason: "because" + hostileText, Drift: true,
				Before: plans.Object{"content": "line one\n" + hostileText + "\nline three\n", "mode": "0644" + hostileText, hostileText: "k"},
				After:  plans.Object{"content": "line one\nline " + hostileText + " two\nline three\n", "mode": "0600" + hostileText, hostileText: "k2"},
			},
			{Addr: b, Action: plans.Delete, Kind: "vm_unit", Target: "vm.ecs1", Before: plans.Object{"description": hostileText}},
		},
		Outputs: []plans.OutputValue{{Name: "out" + hostileText, Value: hostileText}},
	}
}

// unsafeText returns the first character of s a terminal could act on,
// after removing the colour sequences meshx writes itself when color is
// set.
func unsafeText(s string, color bool) (string, bool) {
	if color {
		for _, c := range colorSequences {
			s = strings.ReplaceAll(s, c, "")
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r != '\n' && r != '\t' && unsafeRune(r) {
			return s[max(0, i-20):min(len(s), i+20)], true
		}
		i += size
	}
	return "", false
}

// TestRenderersEscapeControlCharacters renders a plan full of terminal
// escapes with every human and machine view: none may pass a control
// character through, and the text views must show it escaped.
func TestRenderersEscapeControlCharacters(t *testing.T) {
	p := hostilePlan(t)
	pf := planfile.FromPlan(p)
	pf.MeshxVersion = "1.0" + hostileText
	apply := func(color bool) string {
		var b strings.Builder
		v := NewApplyText(&b, ApplyOptions{Color: color})
		for _, c := range p.Changes {
			v.Event(executor.Event{Type: executor.Started, Addr: c.Addr, Action: c.Action})
			v.Event(executor.Event{Type: executor.Progress, Addr: c.Addr, Action: c.Action, Message: hostileText})
			v.Event(executor.Event{Type: executor.Errored, Addr: c.Addr, Action: c.Action, Err: errors.New("remote said " + hostileText)})
			v.Event(executor.Event{Type: executor.Skipped, Addr: c.Addr, Action: c.Action, Message: hostileText})
		}
		v.Outputs(p.Outputs)
		v.Result(executor.Result{Failed: []plans.Address{p.Changes[0].Addr}, Err: errors.New(hostileText)}, false)
		return b.String()
	}
	for _, tc := range []struct {
		name   string
		color  bool
		render func() string
	}{
		{"plan text", false, func() string {
			var b strings.Builder
			PlanText(&b, p, PlanOptions{Order: true})
			return b.String()
		}},
		{"plan text in colour", true, func() string {
			var b strings.Builder
			PlanText(&b, p, PlanOptions{Order: true, Color: true})
			return b.String()
		}},
		{"markdown", false, func() string {
			return strings.Join(Markdown(p, MarkdownOptions{Order: true, Footer: "[run](" + hostileText + ")"}), "\n")
		}},
		{"apply text", false, func() string { return apply(false) }},
		{"apply text in colour", true, func() string { return apply(true) }},
		{"show -json", false, func() string {
			var b strings.Builder
			ShowJSON(&b, pf)
			return b.String()
		}},
		{"-json events", false, func() string {
			var b strings.Builder
			v := NewJSON(&b, JSONOptions{Version: "x" + hostileText, Now: fixedClock()})
			v.Plan(p)
			v.Outputs(p.Outputs)
			return b.String()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.render()
			if ctx, bad := unsafeText(out, tc.color); bad {
				t.Errorf("output passes a control character through, near %q", ctx)
			}
			if !strings.Contains(tc.name, "json") && !strings.Contains(out, `\x1b]0;pwned\x07`) {
				t.Errorf("output does not show the escape sequence escaped:\n%s", out)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, tabs\tand\nnewlines": "plain text, tabs\tand\nnewlines",
		"\x1b[31mred":                     `\x1b[31mred`,
		"a\rb\x00c\x7fd":                  `a\rb\x00c\x7fd`,
		"c1 \u009b and \u0085":            `c1 \u009b and \u0085`,
		"bidi \u202eevil\u202c \u2067x":   `bidi \u202eevil\u202c \u2067x`,
		"marks \u200e\u200f\u061c":        `marks \u200e\u200f\u061c`,
		"bad \xff\xfe utf-8":              `bad \xff\xfe utf-8`,
		"ünïcödé 日本 ✓":                    "ünïcödé 日本 ✓",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTerminalWriterKeepsOwnColours(t *testing.T) {
	in := ansiRed + "-" + ansiReset + " x\x1b[8mhidden" + ansiGreen + "+" + ansiReset
	for color, want := range map[bool]string{
		true:  ansiRed + "-" + ansiReset + ` x\x1b[8mhidden` + ansiGreen + "+" + ansiReset,
		false: `\x1b[31m-\x1b[0m x\x1b[8mhidden\x1b[32m+\x1b[0m`,
	} {
		var b bytes.Buffer
		NewTerminalWriter(&b, color).Write([]byte(in))
		if b.String() != want {
			t.Errorf("color=%v: wrote %q, want %q", color, b.String(), want)
		}
	}
}
