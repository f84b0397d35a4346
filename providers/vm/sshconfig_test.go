package vm

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"
)

// TestSSHConfig: a VM whose address is an alias of the user's ssh
// configuration is reached as ssh reaches it: HostName, Port, User,
// IdentityFile and UserKnownHostsFile from its Host block, through a
// ProxyJump chain of two hops that are aliases themselves.
func TestSSHConfig(t *testing.T) {
	jump1 := startSSHD(t)
	jump2 := startSSHD(t, jump1.clientKey.signer.PublicKey())
	target := startSSHD(t, jump1.clientKey.signer.PublicKey())
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	var lines strings.Builder
	for _, s := range []*testSSHD{jump1, jump2, target} {
		lines.WriteString(knownhosts.Line([]string{s.addr}, s.hostKey.signer.PublicKey()) + "\n")
	}
	if err := os.WriteFile(kh, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`# as a user would write it
Host web7
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile %s
  UserKnownHostsFile %s
  ProxyJump jump1,root@jump2

Host jump1
  HostName 127.0.0.1
  Port %d

Host jump2
  HostName 127.0.0.1
  Port %d
`, target.port, jump1.clientKey.file, kh, jump1.port, jump2.port)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := target.provider(t, Host{Name: "web7", Address: "web7", SSHConfigFile: cfg})
	var dialled []string
	p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		return dialTCP(ctx, addr)
	}
	out, err := Exec(testContext(t), p, "echo", "hello")
	if err != nil || out != "hello\n" {
		t.Fatalf("exec through the ssh configuration: %q, %v", out, err)
	}
	if len(dialled) != 1 || dialled[0] != jump1.addr {
		t.Errorf("dialled %q, want only the first jump host %s", dialled, jump1.addr)
	}
	if p.Endpoint() != target.addr {
		t.Errorf("endpoint %s, want the HostName and Port %s", p.Endpoint(), target.addr)
	}
}

// TestDefaultIdentity: with no key named anywhere, the key files ssh tries
// by default are used.
func TestDefaultIdentity(t *testing.T) {
	s := startSSHD(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(s.clientKey.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	h := s.host("ecs1")
	h.PrivateKeyFile = ""
	if _, err := Exec(testContext(t), s.provider(t, h), "true"); err != nil {
		t.Fatalf("exec with ~/.ssh/id_ed25519: %v", err)
	}

	empty := t.TempDir()
	t.Setenv("HOME", empty)
	_, err = Exec(testContext(t), s.provider(t, h), "true")
	if err == nil || !strings.Contains(err.Error(), "no way to authenticate") {
		t.Fatalf("exec without any key: %v, want 'no way to authenticate'", err)
	}
}
