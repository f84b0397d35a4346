package vm

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// needRoot skips (or, with MESHX_LAB_REQUIRED=1, fails) a test that
// needs what only root on Linux has.
func needRoot(t testing.TB, what string) {
	t.Helper()
	missing := ""
	switch {
	case os.Geteuid() != 0:
		missing = "root"
	default:
		for _, bin := range []string{"/usr/sbin/sshd", "/usr/bin/unshare"} {
			if _, err := os.Stat(bin); err != nil {
				missing = bin
			}
		}
	}
	if missing == "" {
		return
	}
	msg := fmt.Sprintf("%s needs %s", what, missing)
	if os.Getenv("MESHX_LAB_REQUIRED") == "1" {
		t.Fatal(msg + " (MESHX_LAB_REQUIRED=1)")
	}
	t.Skip(msg)
}

// testKey is a generated ed25519 key pair written to files.
type testKey struct {
	signer ssh.Signer
	file   string // private key, OpenSSH format
}

func newTestKey(t testing.TB, dir, name, passphrase string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, name)
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, name, []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{signer: signer, file: file}
}

// testSSHD is a real OpenSSH sshd on a loopback port, run as root in a
// private mount namespace (only so that its privilege separation
// directory /run/sshd can exist without touching the host's /run).
type testSSHD struct {
	dir        string
	addr       string
	port       int
	hostKey    testKey
	clientKey  testKey
	knownHosts string // holds hostKey for the server's address
	stderr     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSSHD starts sshd and stops it (by PID) when the test ends. Every
// key in authorized is accepted for root.
func startSSHD(t testing.TB, authorized ...ssh.PublicKey) *testSSHD {
	t.Helper()
	needRoot(t, "a test against a real sshd")
	dir := t.TempDir()
	s := &testSSHD{dir: dir, port: freePort(t), stderr: &syncBuffer{}}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.hostKey = newTestKey(t, dir, "host_ed25519_key", "")
	s.clientKey = newTestKey(t, dir, "id_ed25519", "")
	var ak bytes.Buffer
	ak.Write(ssh.MarshalAuthorizedKey(s.clientKey.signer.PublicKey()))
	for _, k := range authorized {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ak.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s.knownHosts = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{s.addr}, s.hostKey.signer.PublicKey())
	if err := os.WriteFile(s.knownHosts, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`ListenAddress %s
HostKey %s
PidFile none
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowTcpForwarding yes
MaxSessions 32
MaxStartups 200
PrintMotd no
LogLevel ERROR
`, s.addr, s.hostKey.file, filepath.Join(dir, "authorized_keys"))
	cfgFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", `mount -t tmpfs -o mode=0755 meshx-test-run /run && mkdir -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e -f "$1"`,
		"sh", cfgFile)
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // the sshd listener, by its PID
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited: %s", s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s: %s", s.addr, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// host returns a Host for root on this sshd with the client key.
func (s *testSSHD) host(name string) Host {
	return Host{
		Name: name, Address: "127.0.0.1", Port: s.port, User: "root",
		PrivateKeyFile: s.clientKey.file, KnownHostsFile: s.knownHosts, Timeout: 10 * time.Second,
	}
}

// provider returns a provider on this sshd whose manifests live in a temp
// dir, closed when the test ends.
func (s *testSSHD) provider(t testing.TB, h Host) *Provider {
	t.Helper()
	p := New(h)
	p.stateDir = filepath.Join(t.TempDir(), "meshx-state")
	t.Cleanup(func() { p.Close() })
	return p
}

// testContext guards a whole test against a hang (no SSH call has a
// deadline of its own yet), far beyond what any load makes its steps take:
// it is not a deadline for the test's work.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
