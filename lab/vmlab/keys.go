package vmlab

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// keyPair is an ed25519 key in OpenSSH formats.
type keyPair struct {
	private []byte // OpenSSH private key, PEM
	public  string // authorized_keys line without newline
}

func newKeyPair(comment string) (keyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keyPair{}, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return keyPair{}, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return keyPair{}, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	if comment != "" {
		line += " " + comment
	}
	return keyPair{private: pem.EncodeToMemory(block), public: line}, nil
}

// ensureClientKey returns the lab's client key pair, generating it on first
// use: file (mode 0600) and file.pub.
func ensureClientKey(file string) (keyPair, error) {
	priv, err1 := os.ReadFile(file)
	pub, err2 := os.ReadFile(file + ".pub")
	if err1 == nil && err2 == nil {
		if _, err := ssh.ParsePrivateKey(priv); err == nil {
			return keyPair{private: priv, public: strings.TrimSpace(string(pub))}, nil
		}
	}
	kp, err := newKeyPair("meshx-lab")
	if err != nil {
		return keyPair{}, fmt.Errorf("vmlab: generate client key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return keyPair{}, fmt.Errorf("vmlab: %w", err)
	}
	if err := os.WriteFile(file, kp.private, 0o600); err != nil {
		return keyPair{}, fmt.Errorf("vmlab: write client key: %w", err)
	}
	if err := os.WriteFile(file+".pub", []byte(kp.public+"\n"), 0o644); err != nil {
		return keyPair{}, fmt.Errorf("vmlab: write client key: %w", err)
	}
	return kp, nil
}

// writeKnownHosts writes one line per VM: its address (port 22) and host
// key.
func writeKnownHosts(file string, vms []*vmRecord) error {
	var b strings.Builder
	for _, v := range vms {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v.HostKey))
		if err != nil {
			return fmt.Errorf("vmlab: %s: host key: %w", v.Name, err)
		}
		b.WriteString(knownhosts.Line([]string{v.Address}, pub))
		b.WriteByte('\n')
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("vmlab: write known_hosts: %w", err)
	}
	return os.Rename(tmp, file)
}
