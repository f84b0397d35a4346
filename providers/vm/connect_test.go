package vm

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestConnectReusesOneConnection(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("t1"))
	ctx := testContext(t)
	for i := 0; i < 3; i++ {
		out, err := Exec(ctx, p, "echo", "hello")
		if err != nil {
			t.Fatal(err)
		}
		if out != "hello\n" {
			t.Fatalf("Exec = %q, want %q", out, "hello\n")
		}
	}
	if got := p.Stats(); got.Connects != 1 || got.Sessions != 3 {
		t.Fatalf("Stats = %+v, want 1 connect and 3 sessions", got)
	}
}

func TestHostKeyVerification(t *testing.T) {
	s := startSSHD(t)
	other := newTestKey(t, t.TempDir(), "other", "")
	offered := ssh.FingerprintSHA256(s.hostKey.signer.PublicKey())
	tests := []struct {
		name       string
		knownHosts string // content; "-" for no file
		tofu       bool
		changed    bool
		want       []string
	}{
		{name: "unknown host", knownHosts: "",
			want: []string{"is not in", offered, "trust_on_first_use = true", knownhosts.Line([]string{s.addr}, s.hostKey.signer.PublicKey())}},
		{name: "no known_hosts file", knownHosts: "-",
			want: []string{"is not in", offered}},
		{name: "changed key", knownHosts: knownhosts.Line([]string{s.addr}, other.signer.PublicKey()) + "\n", changed: true,
			want: []string{"HOST KEY CHANGED", offered, ssh.FingerprintSHA256(other.signer.PublicKey()), "ssh-keygen -R"}},
		{name: "changed key is refused even with trust on first use", knownHosts: knownhosts.Line([]string{s.addr}, other.signer.PublicKey()) + "\n",
			tofu: true, changed: true, want: []string{"HOST KEY CHANGED", "never accepts a changed key"}},
		{name: "key known for another port only", knownHosts: knownhosts.Line([]string{"127.0.0.1:1"}, s.hostKey.signer.PublicKey()) + "\n",
			want: []string{"is not in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			if tt.knownHosts != "-" {
				if err := os.WriteFile(kh, []byte(tt.knownHosts), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			h := s.host("ecs1")
			h.KnownHostsFile, h.TrustOnFirstUse = kh, tt.tofu
			var dials atomic.Int32
			p := s.provider(t, h)
			p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
				dials.Add(1)
				return dialTCP(ctx, addr)
			}
			_, err := Exec(testContext(t), p, "true")
			var hk *HostKeyError
			if !errors.As(err, &hk) {
				t.Fatalf("err = %v, want a HostKeyError", err)
			}
			if hk.Changed() != tt.changed {
				t.Errorf("Changed() = %v, want %v", hk.Changed(), tt.changed)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if !strings.HasPrefix(err.Error(), "vm.ecs1: ") {
				t.Errorf("error does not start with the VM: %v", err)
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("dialled %d times; a host key failure must not be retried", n)
			}
			if b, _ := os.ReadFile(kh); string(b) != strings.TrimPrefix(tt.knownHosts, "-") {
				t.Errorf("known_hosts changed to %q", b)
			}
		})
	}
}

// TestTrustOnFirstUse: an unknown host key is recorded and announced as
// ssh does; in a known_hosts file of hashed names, hashed.
func TestTrustOnFirstUse(t *testing.T) {
	s := startSSHD(t)
	other, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := ssh.NewPublicKey(other)
	if err != nil {
		t.Fatal(err)
	}
	hashedOther := knownhosts.Line([]string{knownhosts.HashHostname("10.9.9.9")}, otherKey) + "\n"
	for _, tc := range []struct {
		name, before string
		hashed       bool
	}{
		{"new file", "", false},
		{"hashed file", hashedOther, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "sub", "known_hosts")
			if tc.before != "" {
				if err := os.MkdirAll(filepath.Dir(kh), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(kh, []byte(tc.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			h := s.host("ecs1")
			h.KnownHostsFile, h.TrustOnFirstUse = kh, true
			var logged []string
			h.Log = func(m string) { logged = append(logged, m) }
			if _, err := Exec(testContext(t), s.provider(t, h), "true"); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(kh)
			if err != nil {
				t.Fatal(err)
			}
			added, ok := strings.CutPrefix(string(b), tc.before)
			if !ok {
				t.Fatalf("known_hosts = %q, want it to start with what it held", b)
			}
			plain := knownhosts.Line([]string{s.addr}, s.hostKey.signer.PublicKey()) + "\n"
			if tc.hashed {
				if !strings.HasPrefix(added, "|1|") || strings.Contains(added, "127.0.0.1") {
					t.Fatalf("added %q, want a hashed entry", added)
				}
			} else if added != plain {
				t.Fatalf("added %q, want %q", added, plain)
			}
			fp := ssh.FingerprintSHA256(s.hostKey.signer.PublicKey())
			if len(logged) != 1 || !strings.Contains(logged[0], "Permanently added '"+knownhosts.Normalize(s.addr)+"'") || !strings.Contains(logged[0], fp) || !strings.Contains(logged[0], kh) {
				t.Errorf("log = %q, want one 'Permanently added' note with the host, the fingerprint and the file", logged)
			}
			// Now known: a provider without the opt-in connects.
			h.TrustOnFirstUse = false
			if _, err := Exec(testContext(t), s.provider(t, h), "true"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAgentAuthentication(t *testing.T) {
	agentKey := newTestKey(t, t.TempDir(), "agent_key", "")
	s := startSSHD(t, agentKey.signer.PublicKey())
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Skipf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var conn net.Conn
	for i := 0; ; i++ {
		var err error
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		if i == 200 {
			t.Fatalf("ssh-agent did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer conn.Close()
	_, priv, _ := ed25519FromSigner(t, agentKey)
	if err := agent.NewClient(conn).Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)

	h := s.host("ecs1")
	h.PrivateKeyFile, h.UseAgent = "", true
	out, err := Exec(testContext(t), s.provider(t, h), "id", "-u")
	if err != nil {
		t.Fatal(err)
	}
	if out != "0\n" {
		t.Fatalf("id -u = %q", out)
	}

	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := Exec(testContext(t), s.provider(t, h), "true"); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Fatalf("without an agent: err = %v, want one naming SSH_AUTH_SOCK", err)
	}
}

// ed25519FromSigner re-reads the key file, since a Signer hides its
// private key.
func ed25519FromSigner(t *testing.T, k testKey) (ssh.PublicKey, any, error) {
	b, err := os.ReadFile(k.file)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k.signer.PublicKey(), priv, nil
}

func TestPassphraseProtectedKey(t *testing.T) {
	dir := t.TempDir()
	const secret = "correct horse battery staple"
	k := newTestKey(t, dir, "enc_key", secret)
	s := startSSHD(t, k.signer.PublicKey())
	keyPEM, _ := os.ReadFile(k.file)

	tests := []struct {
		name    string
		env     string
		prompt  func(string) ([]byte, error)
		wantErr string
	}{
		{name: "passphrase from the environment", env: secret},
		{name: "passphrase from the prompt", prompt: func(string) ([]byte, error) { return []byte(secret), nil }},
		{name: "wrong passphrase", env: "wrong", wantErr: "wrong passphrase"},
		{name: "no passphrase and nobody to ask", wantErr: "is encrypted: set $MESHX_TEST_PASSPHRASE"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A copy per case: decrypted keys are cached per file.
			file := filepath.Join(dir, "key"+string(rune('a'+i)))
			if err := os.WriteFile(file, keyPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("MESHX_TEST_PASSPHRASE", tt.env)
			h := s.host("ecs1")
			h.PrivateKeyFile, h.PassphraseEnv, h.Passphrase = file, "MESHX_TEST_PASSPHRASE", tt.prompt
			if tt.prompt == nil {
				h.Passphrase = func(string) ([]byte, error) { return nil, errors.New("not interactive") }
				if tt.wantErr != "" && tt.env == "" {
					h.Passphrase = nil
				}
			}
			_, err := Exec(testContext(t), s.provider(t, h), "true")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks key material: %v", err)
			}
		})
	}
}

func TestConnectRetriesNetworkErrorsOnly(t *testing.T) {
	s := startSSHD(t)
	t.Run("refused twice, then connects", func(t *testing.T) {
		p := s.provider(t, s.host("ecs1"))
		var dials atomic.Int32
		p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
			if dials.Add(1) <= 2 {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			}
			return dialTCP(ctx, addr)
		}
		if _, err := Exec(testContext(t), p, "true"); err != nil {
			t.Fatal(err)
		}
		if n := dials.Load(); n != 3 {
			t.Fatalf("dialled %d times, want 3", n)
		}
	})
	t.Run("gives up after the attempts", func(t *testing.T) {
		h := s.host("ecs1")
		h.Port = freePort(t) // nothing listens there
		p := s.provider(t, h)
		var dials atomic.Int32
		p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialTCP(ctx, addr)
		}
		_, err := Exec(testContext(t), p, "true")
		if err == nil || !strings.Contains(err.Error(), "4 attempts") {
			t.Fatalf("err = %v, want one after 4 attempts", err)
		}
		if n := dials.Load(); n != connectAttempts {
			t.Fatalf("dialled %d times, want %d", n, connectAttempts)
		}
	})
	t.Run("authentication failure is not retried", func(t *testing.T) {
		h := s.host("ecs1")
		h.PrivateKeyFile = newTestKey(t, t.TempDir(), "stranger", "").file
		p := s.provider(t, h)
		var dials atomic.Int32
		p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialTCP(ctx, addr)
		}
		_, err := Exec(testContext(t), p, "true")
		if err == nil || !strings.Contains(err.Error(), "authentication failed") {
			t.Fatalf("err = %v, want an authentication failure", err)
		}
		if n := dials.Load(); n != 1 {
			t.Fatalf("dialled %d times, want 1", n)
		}
	})
	t.Run("a silent server times out once, naming the setting", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var accepted atomic.Int64
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				defer c.Close() // never speaks
			}
		}()
		h := s.host("ecs1")
		h.Port, h.ConnectTimeout = l.Addr().(*net.TCPAddr).Port, 200*time.Millisecond
		_, err = Exec(testContext(t), s.provider(t, h), "true")
		want := fmt.Sprintf("no answer from %s within 200ms", l.Addr())
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `raise connect_timeout in the ssh block of vm "ecs1"`) {
			t.Fatalf("err = %v, want %q naming connect_timeout", err, want)
		}
		if n := accepted.Load(); n != 1 {
			t.Errorf("connected %d times, want 1: a silent host is not retried", n)
		}
		if testing.Verbose() {
			t.Log(err)
		}
	})
}

func TestBastion(t *testing.T) {
	bastion := startSSHD(t)
	target := startSSHD(t, bastion.clientKey.signer.PublicKey())
	// One known_hosts for both, as the issue says.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	lines := knownhosts.Line([]string{bastion.addr}, bastion.hostKey.signer.PublicKey()) + "\n" +
		knownhosts.Line([]string{target.addr}, target.hostKey.signer.PublicKey()) + "\n"
	if err := os.WriteFile(kh, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	h := target.host("ecs1")
	h.PrivateKeyFile, h.KnownHostsFile = bastion.clientKey.file, kh
	h.Bastion = "root@" + bastion.addr
	p := target.provider(t, h)
	var dialled []string
	p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		return dialTCP(ctx, addr)
	}
	out, err := Exec(testContext(t), p, "cat", target.hostKey.file+".pub-absent-is-fine")
	if err == nil {
		t.Fatalf("cat of a missing file succeeded: %q", out)
	}
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Status != 1 || !strings.Contains(ce.Stderr, "No such file") {
		t.Fatalf("err = %v, want a CommandError with status 1 and stderr", err)
	}
	if len(dialled) != 1 || dialled[0] != bastion.addr {
		t.Fatalf("dialled %q directly, want only the bastion %s", dialled, bastion.addr)
	}
}
