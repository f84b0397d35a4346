package svcmgr

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSplitWords(t *testing.T) {
	env := map[string]string{"OPTS": "-a  -b", "B": "two words", "EMPTY": ""}
	tests := []struct {
		in   string
		want []string
	}{
		{`/usr/sbin/sshd -D $SSHD_OPTS`, []string{"/usr/sbin/sshd", "-D"}},
		{`/bin/x $OPTS`, []string{"/bin/x", "-a", "-b"}},
		{`/bin/x ${B}`, []string{"/bin/x", "two words"}},
		{`/bin/x pre${B}post`, []string{"/bin/x", "pretwo wordspost"}},
		{`/bin/x "quoted ${B}" 'single $B'`, []string{"/bin/x", "quoted two words", "single $B"}},
		{`/bin/x $EMPTY end`, []string{"/bin/x", "end"}},
		{`/bin/x a\ b $$HOME`, []string{"/bin/x", "a b", "$HOME"}},
		{`/bin/sh -c 'echo "hi there"; exit 3'`, []string{"/bin/sh", "-c", `echo "hi there"; exit 3`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := splitWords(tt.in, env, true)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	if _, err := splitWords(`/bin/x "unterminated`, env, true); err == nil {
		t.Error("unbalanced quotes: want an error")
	}
}

func TestParseExecLine(t *testing.T) {
	spec := func(b byte) (string, bool) {
		if b == 'n' {
			return "foo.service", true
		}
		return "", false
	}
	tests := []struct {
		in   string
		want execLine
	}{
		{"-/bin/true", execLine{Path: "/bin/true", Argv: []string{"/bin/true"}, IgnoreFailure: true, Raw: "-/bin/true"}},
		{"@/bin/sleep sleeper 5", execLine{Path: "/bin/sleep", Argv: []string{"sleeper", "5"}, Raw: "@/bin/sleep sleeper 5"}},
		{"/bin/echo %n %% ${X}", execLine{Path: "/bin/echo", Argv: []string{"/bin/echo", "foo.service", "%", "x"}, Raw: "/bin/echo %n %% ${X}"}},
		{":/bin/echo ${X}", execLine{Path: "/bin/echo", Argv: []string{"/bin/echo", "${X}"}, Raw: ":/bin/echo ${X}"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseExecLine(tt.in, map[string]string{"X": "x"}, spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"10", 10 * time.Second},
		{"100ms", 100 * time.Millisecond},
		{"1min 30s", 90 * time.Second},
		{"2h", 2 * time.Hour},
		{"0.5s", 500 * time.Millisecond},
		{"infinity", forever},
	}
	for _, tt := range tests {
		got, err := parseSpan(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSpan(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "ten", "5 parsecs"} {
		if _, err := parseSpan(bad); err == nil {
			t.Errorf("parseSpan(%q): want an error", bad)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	in := "# comment\n; other\nA=1\nB = \"two \\\"words\\\"\"\nC='$lit'\n export=no\nbad line\nD=x\\\ny\n"
	want := []string{"A=1", `B=two "words"`, "C=$lit", "export=no", "D=xy"}
	if diff := cmp.Diff(want, parseEnvFile(in)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// writeFiles creates files under root; a value starting with "->" makes a
// symlink to the rest.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(full)
		if len(content) > 2 && content[:2] == "->" {
			if err := os.Symlink(content[2:], full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"/lib/systemd/system/ssh.service": "[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStartPre=/usr/sbin/sshd -t\n" +
			"ExecStart=/usr/sbin/sshd -D \\\n  $SSHD_OPTS\nRestart=on-failure\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n",
		"/etc/systemd/system/sshd.service":                   "->/lib/systemd/system/ssh.service",
		"/etc/systemd/system/ssh.service.d/10-override.conf": "[Service]\nExecStartPre=\nExecStartPre=/bin/true\nRestart=always\n",
		"/lib/systemd/system/ssh.service.d/10-override.conf": "[Service]\nRestart=no\n", // hidden by /etc
		"/run/systemd/system/ssh.service.d/20-env.conf":      "[Service]\nEnvironment=A=1 \"B=2 3\"\n",
		"/lib/systemd/system/getty@.service":                 "[Service]\nExecStart=/sbin/agetty %i\n",
		"/etc/systemd/system/masked.service":                 "->/dev/null",
	})
	f := fsys{root: root}
	type view struct {
		Name, Requested, Instance, Path string
		DropIns                         []string
		Masked                          bool
		Pre, Start                      []string
		Restart                         string
		Env                             []string
	}
	tests := []struct {
		name string
		want view
	}{
		{"ssh", view{
			Name: "ssh.service", Requested: "ssh.service", Path: "/lib/systemd/system/ssh.service",
			DropIns: []string{"/etc/systemd/system/ssh.service.d/10-override.conf", "/run/systemd/system/ssh.service.d/20-env.conf"},
			Pre:     []string{"/bin/true"}, Start: []string{"/usr/sbin/sshd -D  $SSHD_OPTS"}, Restart: "always",
			Env: []string{"A=1", "B=2 3"},
		}},
		{"sshd.service", view{
			Name: "ssh.service", Requested: "sshd.service", Path: "/lib/systemd/system/ssh.service",
			DropIns: []string{"/etc/systemd/system/ssh.service.d/10-override.conf", "/run/systemd/system/ssh.service.d/20-env.conf"},
			Pre:     []string{"/bin/true"}, Start: []string{"/usr/sbin/sshd -D  $SSHD_OPTS"}, Restart: "always",
			Env: []string{"A=1", "B=2 3"},
		}},
		{"getty@tty1", view{Name: "getty@tty1.service", Requested: "getty@tty1.service", Instance: "tty1",
			Path: "/lib/systemd/system/getty@.service", Start: []string{"/sbin/agetty %i"}, Restart: "no"}},
		{"masked", view{Name: "masked.service", Requested: "masked.service", Path: "/etc/systemd/system/masked.service", Masked: true}},
		{"nope", view{Name: "nope.service", Requested: "nope.service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := f.load(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			got := view{Name: u.Name, Requested: u.Requested, Instance: u.Instance, Path: u.Path, DropIns: u.DropIns, Masked: u.Masked}
			if u.Found() && !u.Masked {
				s, err := u.service()
				if err != nil {
					t.Fatal(err)
				}
				got.Pre, got.Start, got.Restart, got.Env = s.ExecStartPre, s.ExecStart, s.Restart, s.Environment
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestServiceRejectsBadUnits(t *testing.T) {
	tests := []struct{ name, file string }{
		{"no ExecStart", "[Service]\nType=simple\n"},
		{"two ExecStart", "[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n"},
		{"bad RestartSec", "[Service]\nExecStart=/bin/a\nRestartSec=soon\n"},
		{"bad KillSignal", "[Service]\nExecStart=/bin/a\nKillSignal=SIGNOPE\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &Unit{Name: "x.service", Path: "/x"}
			parseInto(u, tt.file)
			if _, err := u.service(); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestUnitFileState(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"/lib/systemd/system/a.service":      "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nAlias=a-alias.service\n",
		"/lib/systemd/system/static.service": "[Service]\nExecStart=/bin/true\n",
		"/lib/systemd/system/ind.service":    "[Service]\nExecStart=/bin/true\n[Install]\nAlso=a.service\n",
	})
	f := fsys{root: root}
	state := func(name string) string {
		t.Helper()
		u, err := f.load(name)
		if err != nil {
			t.Fatal(err)
		}
		return f.unitFileState(u)
	}
	load := func(name string) *Unit {
		u, err := f.load(name)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if got := state("a"); got != "disabled" {
		t.Errorf("a before enable: %q, want disabled", got)
	}
	msgs, err := f.enable(load("a"))
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs := []string{
		"Created symlink /etc/systemd/system/multi-user.target.wants/a.service → /lib/systemd/system/a.service.",
		"Created symlink /etc/systemd/system/a-alias.service → /lib/systemd/system/a.service.",
	}
	if diff := cmp.Diff(wantMsgs, msgs); diff != "" {
		t.Errorf("enable messages (-want +got)\n%s", diff)
	}
	if target, err := os.Readlink(filepath.Join(root, "/etc/systemd/system/multi-user.target.wants/a.service")); err != nil || target != "/lib/systemd/system/a.service" {
		t.Errorf("wants link: %q, %v", target, err)
	}
	for name, want := range map[string]string{"a": "enabled", "a-alias": "alias", "static": "static", "ind": "indirect", "nope": ""} {
		if got := state(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if _, err := f.enable(load("static")); err != errNoInstall {
		t.Errorf("enable static: %v, want errNoInstall", err)
	}
	msgs, err = f.disable(load("a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || state("a") != "disabled" {
		t.Errorf("after disable: %q, messages %q", state("a"), msgs)
	}
	if _, err := f.mask("a"); err != nil {
		t.Fatal(err)
	}
	if got := state("a"); got != "masked" {
		t.Errorf("after mask: %q", got)
	}
	if _, err := f.unmask("a"); err != nil {
		t.Fatal(err)
	}
	if got := state("a"); got != "disabled" {
		t.Errorf("after unmask: %q", got)
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		st    exitStatus
		str   string
		clean bool
	}{
		{exitStatus{Exited: true}, "code=exited, status=0/SUCCESS", true},
		{exitStatus{Exited: true, Code: 1}, "code=exited, status=1/FAILURE", false},
		{exitStatus{Exited: true, Code: 42}, "code=exited, status=42", false},
		{exitStatus{Signal: 9}, "code=killed, signal=KILL", false},
		{exitStatus{Signal: 15}, "code=killed, signal=TERM", true},
	}
	for _, tt := range tests {
		if got := tt.st.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		if got := tt.st.clean(nil); got != tt.clean {
			t.Errorf("%s: clean = %v, want %v", tt.str, got, tt.clean)
		}
	}
	if !(exitStatus{Exited: true, Code: 42}).clean([]string{"42"}) {
		t.Error("SuccessExitStatus=42 not honoured")
	}
}
