package vm

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/etc/certs/key.pem", true},
		{"/var/lib/istio/envoy/cluster.env", true},
		{"/tmp/with space/it's $(x) `y` ;&|*?", true},
		{"/tmp/ünïcode", true},
		{"", false},
		{"relative", false},
		{"/", false},
		{"/etc/../etc/passwd", false},
		{"/etc//x", false},
		{"/etc/x/", false},
		{"/etc/new\nline", false},
		{"/etc/tab\tx", false},
		{"/etc/nul\x00", false},
		{"/etc/del\x7f", false},
		{"/etc/c1\u0085", false},
		{"/etc/ls\u2028", false},
		{"/etc/quote\"d", false},
		{"/etc/back\\slash", false},
		{"/etc/trailing ", false},
		{"/etc/ leading", false},
		{"/etc/bad\xff", false},
		{"/var/lib/meshx", false},
		{"/var/lib/meshx/e.json", false},
		{"/var/lib/meshxother", true},
		{"/" + strings.Repeat("a", 4096), false},
	}
	for _, tt := range tests {
		err := validatePath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("validatePath(%q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
	}
}

func TestValidateNames(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"unit", validateUnit, "istio", true},
		{"unit", validateUnit, "istio-auth-node-agent.service", true},
		{"unit", validateUnit, "getty@tty1.service", true},
		{"unit", validateUnit, "-H", false},
		{"unit", validateUnit, "a b", false},
		{"unit", validateUnit, "a;b", false},
		{"unit", validateUnit, "x\\x2d", false},
		{"package", validatePackage, "dnsmasq", true},
		{"package", validatePackage, "libstdc++6", true},
		{"package", validatePackage, "Dnsmasq", false},
		{"package", validatePackage, "-y", false},
		{"package", validatePackage, "a", false},
		{"account", func(s string) error { return validateAccount("owner", s) }, "istio-proxy", true},
		{"account", func(s string) error { return validateAccount("owner", s) }, "1337", true},
		{"account", func(s string) error { return validateAccount("owner", s) }, "root:root", false},
		{"account", func(s string) error { return validateAccount("owner", s) }, "-R", false},
		{"environment", validateEnvironment, "bookinfo", true},
		{"environment", validateEnvironment, "../x", false},
		{"environment", validateEnvironment, "a b", false},
		{"environment", validateEnvironment, "", false},
	}
	for _, tt := range tests {
		if err := tt.check(tt.in); (err == nil) != tt.ok {
			t.Errorf("%s %q: %v, want ok=%v", tt.name, tt.in, err, tt.ok)
		}
	}
}

func TestQuoteSurvivesTheShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	words := []string{"", "plain", "two words", "it's", `"dq"`, "$(id)", "`id`", "a\\b", "\n", "'", "''", "-n", "*", "~", "a\tb", "ünï"}
	out, err := exec.Command(sh, "-c", "set -- "+shellJoin(words)+`; for w in "$@"; do printf '%s\0' "$w"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(words) {
		t.Fatalf("sh saw %d words, want %d: %q", len(got), len(words), got)
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: sh saw %q, want %q", i, got[i], words[i])
		}
	}
}

func TestFileContentIsSensitiveWhenItCannotBeDiffed(t *testing.T) {
	tests := []struct {
		name      string
		content   any
		sensitive bool
		wantSens  bool
	}{
		{"small text", "a=b\n", false, false},
		{"secret", "key", true, true},
		{"sensitive value of a sensitive file", plans.NewSensitive([]byte("x")), true, true},
		{"over 64 KiB", strings.Repeat("x", maxTextContent+1), false, true},
		{"exactly 64 KiB", strings.Repeat("x", maxTextContent), false, false},
		{"binary", "\xff\xfe", false, true},
		{"bytes", []byte("text"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := File("ecs1", FileOptions{Path: "/etc/x", Content: func(providers.Outputs) (any, error) { return tt.content, nil }, Mode: 0o644, Owner: "root", Group: "root", Sensitive: tt.sensitive})
			o, err := r.Render(fixedOutputs{})
			if err != nil {
				t.Fatal(err)
			}
			_, isSens := o["content"].(plans.Sensitive)
			if isSens != tt.wantSens {
				t.Fatalf("content is %T, want sensitive=%v", o["content"], tt.wantSens)
			}
		})
	}
	r := File("ecs1", FileOptions{Path: "/etc/x", Content: func(providers.Outputs) (any, error) { return plans.NewSensitive([]byte("k")), nil }, Mode: 0o644, Owner: "root", Group: "root"})
	if _, err := r.Render(fixedOutputs{}); err == nil || !strings.Contains(err.Error(), "not declared sensitive") {
		t.Fatalf("a secret for a non-sensitive file: err = %v", err)
	}
	r = File("ecs1", FileOptions{Path: "/etc/x", Content: func(providers.Outputs) (any, error) { return plans.Unknown, nil }, Mode: 0o644, Owner: "root", Group: "root", Sensitive: true})
	if o, _ := r.Render(fixedOutputs{}); !plans.IsUnknown(o["content"]) {
		t.Fatalf("unknown content rendered as %v", o["content"])
	}
}
