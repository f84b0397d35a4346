package vm

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/term"
)

// Host says how to reach one VM over SSH.
type Host struct {
	// Name is the VM block's label ("ecs1"); errors and addresses use it.
	Name string
	// Address is the host name or IP SSH connects to.
	Address string
	// Port defaults to 22.
	Port int
	// User defaults to root.
	User string
	// PrivateKeyFile is an OpenSSH or PEM private key ("~/" is expanded).
	PrivateKeyFile string
	// PassphraseEnv names the environment variable holding the key's
	// passphrase. When it is unset or empty, Passphrase is asked.
	PassphraseEnv string
	// UseAgent adds the keys of the ssh-agent at $SSH_AUTH_SOCK.
	UseAgent bool
	// KnownHostsFile defaults to ~/.ssh/known_hosts.
	KnownHostsFile string
	// TrustOnFirstUse records the key of a host not in KnownHostsFile
	// instead of refusing it. A changed key is refused regardless.
	TrustOnFirstUse bool
	// Bastion is a jump host, "[user@]host[:port]", reached with the same
	// keys and checked against the same known_hosts file. Unset, the ssh
	// configuration's ProxyJump applies (a chain of several hops).
	Bastion string
	// SSHConfigFile is an OpenSSH client configuration (~/.ssh/config) read
	// for Address as ssh reads it: HostName, Port, User, IdentityFile,
	// UserKnownHostsFile and ProxyJump apply where the fields above are
	// unset (Port 0, User, PrivateKeyFile and KnownHostsFile ""). Empty
	// reads none; a missing file says nothing.
	SSHConfigFile string
	// Sudo runs every command meshx sends through `sudo -n` when User is
	// not root (passwordless sudo is required).
	Sudo bool
	// Timeout bounds the remote command of each Observe and Exec; default
	// 30s. Each command of an Apply is bounded by the resource's
	// Settings.WaitTimeout, default 10 minutes (package installs download).
	Timeout time.Duration
	// ConnectTimeout bounds opening the connection: TCP, handshake and
	// authentication, through the bastion if there is one (OpenSSH's
	// ConnectTimeout); default DefaultConnectTimeout. A host that does not
	// answer within it is not tried again.
	ConnectTimeout time.Duration
	// Passphrase returns the passphrase of an encrypted key when
	// PassphraseEnv gives none. Nil means: prompt on the terminal when
	// stdin is one (TerminalPassphrase), else fail with a hint.
	Passphrase func(keyFile string) ([]byte, error)
	// Log receives notes worth showing a user, such as a host key trusted
	// on first use. Nil discards them: the provider never prints.
	Log func(msg string)
}

// DefaultConnectTimeout is Host.ConnectTimeout's default: long enough for
// a handshake with a loaded host, short enough that a silent one is
// reported quickly.
const DefaultConnectTimeout = 20 * time.Second

const (
	defaultTimeout      = 30 * time.Second
	defaultApplyTimeout = 10 * time.Minute
	connectAttempts     = 4
)

// maxConnecting bounds SSH handshakes in flight across all VMs, so a plan
// over many VMs does not trip sshd's MaxStartups or the local CPU.
var maxConnecting = make(chan struct{}, 16)

// hostPort returns host:port with the default port.
func hostPort(host string, port int) string {
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// HostKeyError is returned when a VM's host key is unknown or differs
// from known_hosts. Its message shows the offered key's fingerprint and
// how to trust it.
type HostKeyError struct {
	VM string
	// Host is the known_hosts name, e.g. "[10.0.0.5]:2222".
	Host string
	// KnownHosts is the file checked.
	KnownHosts string
	// Offered is the key the server offered.
	Offered ssh.PublicKey
	// Known are the keys known_hosts has for Host; empty when unknown.
	Known []knownhosts.KnownKey
}

// Changed reports whether known_hosts has a different key for the host.
func (e *HostKeyError) Changed() bool { return len(e.Known) > 0 }

func (e *HostKeyError) Error() string {
	fp := ssh.FingerprintSHA256(e.Offered)
	typ := e.Offered.Type()
	line := knownhosts.Line([]string{e.Host}, e.Offered)
	if !e.Changed() {
		return fmt.Sprintf("host key of %s is not in %s: the server offered %s %s. "+
			"Check that fingerprint out of band (on the VM: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), then trust it by adding this line to %s:\n  %s\n"+
			"or opt in to trust on first use for this VM (trust_on_first_use = true).",
			e.Host, e.KnownHosts, typ, fp, keyFileType(typ), e.KnownHosts, line)
	}
	var known []string
	for _, k := range e.Known {
		known = append(known, fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
	}
	return fmt.Sprintf("HOST KEY CHANGED for %s: the server offered %s %s but %s has %s. "+
		"Someone may be intercepting the connection, or the VM was rebuilt; meshx does not connect (trust on first use never accepts a changed key). "+
		"If the change is expected, remove the old key with `ssh-keygen -R %s -f %s` and add:\n  %s",
		e.Host, typ, fp, e.KnownHosts, strings.Join(known, ", "), quote(e.Host), e.KnownHosts, line)
}

func keyFileType(t string) string {
	switch {
	case strings.Contains(t, "ed25519"):
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa"):
		return "ecdsa"
	}
	return "rsa"
}

// knownHostsMu serialises appends to known_hosts files in this process.
var knownHostsMu sync.Mutex

// loadKnownHosts returns a callback over file; a missing file knows no
// host.
func loadKnownHosts(file string) (ssh.HostKeyCallback, error) {
	cb, err := knownhosts.New(file)
	if errors.Is(err, os.ErrNotExist) {
		return func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read known hosts %s: %w", file, err)
	}
	return cb, nil
}

// hostKeyCallback checks keys against the known_hosts file and, with
// trust on first use, records an unknown one.
func (p *Provider) hostKeyCallback() ssh.HostKeyCallback {
	file := p.knownHosts
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		knownHostsMu.Lock()
		defer knownHostsMu.Unlock()
		cb, err := loadKnownHosts(file)
		if err != nil {
			return &fatalError{err}
		}
		err = cb(hostname, remote, key)
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			var re *knownhosts.RevokedError
			if errors.As(err, &re) {
				return &fatalError{fmt.Errorf("host key of %s (%s) is marked @revoked in %s", knownhosts.Normalize(hostname), ssh.FingerprintSHA256(key), re.Revoked.Filename)}
			}
			if err != nil {
				return &fatalError{err}
			}
			return nil
		}
		hkErr := &HostKeyError{VM: p.host.Name, Host: knownhosts.Normalize(hostname), KnownHosts: file, Offered: key, Known: ke.Want}
		if len(ke.Want) > 0 || !p.host.TrustOnFirstUse {
			return hkErr
		}
		name := hostname
		if usesHashedHosts(file) {
			// As ssh does with HashKnownHosts: do not add the one
			// readable name to a file that hides them.
			name = knownhosts.HashHostname(knownhosts.Normalize(hostname))
		}
		if err := appendKnownHost(file, knownhosts.Line([]string{name}, key)); err != nil {
			return &fatalError{fmt.Errorf("trust on first use: %w", err)}
		}
		p.logf("Warning: Permanently added '%s' (%s %s) to known_hosts %s (trust_on_first_use of vm %q).", hkErr.Host, key.Type(), ssh.FingerprintSHA256(key), file, p.host.Name)
		return nil
	}
}

// usesHashedHosts reports whether a known_hosts file holds hashed host
// names (ssh-keygen -H, HashKnownHosts yes).
func usesHashedHosts(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[0], "@") {
			f = f[1:] // a @cert-authority or @revoked marker
		}
		if len(f) > 0 && strings.HasPrefix(f[0], "|1|") {
			return true
		}
	}
	return false
}

func appendKnownHost(file, line string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// probeKey is a key no known_hosts holds; checking it lists the keys that
// are known for a host.
var probeKey = func() ssh.PublicKey {
	pub, _, _ := ed25519.GenerateKey(nil)
	k, _ := ssh.NewPublicKey(pub)
	return k
}()

// hostKeyAlgorithms restricts the algorithms the server may use for its
// host key to those known_hosts has for it, so a host known by its RSA key
// is not reported as changed because it also has an ed25519 key.
func (p *Provider) hostKeyAlgorithms(hostname string, remote net.Addr) []string {
	knownHostsMu.Lock()
	cb, err := loadKnownHosts(p.knownHosts)
	knownHostsMu.Unlock()
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(cb(hostname, remote, probeKey), &ke) || len(ke.Want) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var algos []string
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// signerCache keeps decrypted keys for the life of the process, so 50 VMs
// sharing one encrypted key ask for its passphrase once.
var signerCache = struct {
	sync.Mutex
	m map[string]ssh.Signer
}{m: map[string]ssh.Signer{}}

// TerminalPassphrase prompts for a key's passphrase on the controlling
// terminal without echo.
func TerminalPassphrase(keyFile string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer tty.Close()
	fmt.Fprintf(tty, "Passphrase for %s: ", keyFile)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	return b, err
}

// keySigner loads a private key, asking for its passphrase when needed.
// errNoPassphrase means it is encrypted and nothing can give the
// passphrase.
func (p *Provider) keySigner(file string) (ssh.Signer, error) {
	file = expandHome(file)
	signerCache.Lock()
	defer signerCache.Unlock()
	if s, ok := signerCache.m[file]; ok {
		return s, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		var pass []byte
		if p.host.PassphraseEnv != "" {
			pass = []byte(os.Getenv(p.host.PassphraseEnv))
		}
		if len(pass) == 0 {
			ask := p.host.Passphrase
			if ask == nil && term.IsTerminal(int(os.Stdin.Fd())) {
				ask = TerminalPassphrase
			}
			if ask == nil {
				hint := "set the environment variable named by passphrase_env"
				if p.host.PassphraseEnv != "" {
					hint = "set $" + p.host.PassphraseEnv
				}
				return nil, fmt.Errorf("private key %s is encrypted: %s, or run interactively: %w", file, hint, errNoPassphrase)
			}
			if pass, err = ask(file); err != nil {
				return nil, fmt.Errorf("passphrase for %s: %w", file, err)
			}
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(pem, pass)
		clear(pass)
		if err != nil {
			return nil, fmt.Errorf("private key %s: wrong passphrase or unreadable key", file)
		}
	} else if err != nil {
		// The parser's message never contains key material.
		return nil, fmt.Errorf("private key %s: %w", file, err)
	}
	signerCache.m[file] = s
	return s, nil
}

var errNoPassphrase = errors.New("no passphrase")

// authMethods returns one publickey method over the key files' signers and
// the agent's: x/crypto tries a method name only once, so they must not be
// separate methods. Keys ssh would try by default (nothing named one) that
// are missing or encrypted without a passphrase at hand are skipped.
func (p *Provider) authMethods() ([]ssh.AuthMethod, error) {
	var fixed []ssh.Signer
	for _, f := range p.identities {
		if p.defaultKeys {
			if _, err := os.Stat(expandHome(f)); err != nil {
				continue
			}
		}
		s, err := p.keySigner(f)
		if p.defaultKeys && errors.Is(err, errNoPassphrase) {
			p.logf("vm.%s: skipping %s: %v", p.host.Name, f, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		fixed = append(fixed, s)
	}
	var ag agent.ExtendedAgent
	if p.useAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, errors.New("use the ssh-agent: SSH_AUTH_SOCK is not set")
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			return nil, fmt.Errorf("connect to the ssh-agent at %s: %w", sock, err)
		}
		if p.agentConn != nil {
			p.agentConn.Close()
		}
		p.agentConn = c
		ag = agent.NewClient(c)
	}
	if len(fixed) == 0 && ag == nil {
		return nil, errors.New("no way to authenticate: no private_key_file, no IdentityFile in the ssh configuration, none of ~/.ssh/id_{rsa,ecdsa,ed25519} and no ssh-agent (SSH_AUTH_SOCK)")
	}
	return []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
		signers := append([]ssh.Signer(nil), fixed...)
		if ag != nil {
			as, err := ag.Signers()
			if err != nil {
				return nil, fmt.Errorf("ssh-agent: %w", err)
			}
			signers = append(signers, as...)
		}
		return signers, nil
	})}, nil
}

// fatalError marks a host-key callback failure that is not a network
// problem, so it is not retried.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// connectError marks an error worth retrying: the network, not the
// credentials or the host key.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var ce *connectError
	return errors.As(err, &ce)
}

// dialTCP is the default network dialer; tests replace Provider.dialer.
func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// connect opens the SSH connection, through the bastion if one is set,
// retrying network failures with backoff.
func (p *Provider) connect(ctx context.Context) (*ssh.Client, error) {
	select {
	case maxConnecting <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-maxConnecting }()

	if p.setupErr != nil {
		return nil, p.setupErr
	}
	auth, err := p.authMethods()
	if err != nil {
		return nil, err
	}
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.connectTimeout)
		c, err := p.connectOnce(actx, auth)
		cancel()
		if err == nil {
			return c, nil
		}
		// The connection's own deadline may fire just before the
		// context's: both mean the host did not answer in time.
		dl, _ := actx.Deadline()
		if !time.Now().Before(dl) && ctx.Err() == nil {
			// Silent, not refusing: another attempt would wait as long.
			return nil, fmt.Errorf("no answer from %s within %s (%v): check that the VM is up and its sshd answers, or raise connect_timeout in the ssh block of vm %q (or pass -connect-timeout)",
				p.addr, p.connectTimeout, err, p.host.Name)
		}
		if !retryable(err) || attempt == connectAttempts || ctx.Err() != nil {
			if retryable(err) {
				return nil, fmt.Errorf("connect to %s after %d attempts: %w", p.addr, attempt, err)
			}
			return nil, err
		}
		p.logf("connect to %s failed (%v); retrying in %s", p.addr, err, delay)
		wait := delay + time.Duration(rand.Int64N(int64(delay/2)))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w", p.addr, ctx.Err())
		}
		delay *= 2
	}
}

// connectOnce makes one attempt, bounded by ctx, through every jump host
// in turn.
func (p *Provider) connectOnce(ctx context.Context, auth []ssh.AuthMethod) (*ssh.Client, error) {
	if len(p.jumps) == 0 {
		conn, err := p.dialer(ctx, p.addr)
		if err != nil {
			return nil, &connectError{err}
		}
		return p.handshake(ctx, conn, p.addr, p.user, auth)
	}
	first := p.jumps[0]
	conn, err := p.dialer(ctx, first.addr)
	if err != nil {
		return nil, &connectError{fmt.Errorf("bastion %s: %w", first.addr, err)}
	}
	bc, err := p.handshake(ctx, conn, first.addr, first.user, auth)
	if err != nil {
		return nil, fmt.Errorf("bastion %s: %w", first.addr, err)
	}
	// Closing the first hop's connection closes every hop after it.
	via, viaAddr := bc, first.addr
	for _, h := range p.jumps[1:] {
		tconn, err := via.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			bc.Close()
			return nil, &connectError{fmt.Errorf("bastion %s via %s: %w", h.addr, viaAddr, err)}
		}
		if via, err = p.handshake(ctx, tconn, h.addr, h.user, auth); err != nil {
			bc.Close()
			return nil, fmt.Errorf("bastion %s: %w", h.addr, err)
		}
		viaAddr = h.addr
	}
	tconn, err := via.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		bc.Close()
		return nil, &connectError{fmt.Errorf("via bastion %s: %w", viaAddr, err)}
	}
	c, err := p.handshake(ctx, tconn, p.addr, p.user, auth)
	if err != nil {
		bc.Close()
		return nil, err
	}
	p.bastion = bc
	return c, nil
}

// handshake runs the SSH handshake on conn, bounded by ctx.
func (p *Provider) handshake(ctx context.Context, conn net.Conn, addr, user string, auth []ssh.AuthMethod) (*ssh.Client, error) {
	cfg := &ssh.ClientConfig{
		User:              user,
		Auth:              auth,
		HostKeyCallback:   p.hostKeyCallback(),
		HostKeyAlgorithms: p.hostKeyAlgorithms(addr, conn.RemoteAddr()),
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	stopped := stop()
	if err != nil {
		conn.Close()
		var hk *HostKeyError
		var fatal *fatalError
		switch {
		case errors.As(err, &hk):
			return nil, hk
		case errors.As(err, &fatal):
			return nil, fatal.err
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("%s@%s: authentication failed (%w); check the key, the agent and authorized_keys", user, addr, err)
		case !stopped && errors.Is(ctx.Err(), context.Canceled):
			return nil, fmt.Errorf("ssh handshake with %s: %w", addr, ctx.Err())
		case !stopped:
			return nil, &connectError{fmt.Errorf("ssh handshake with %s: timed out", addr)}
		}
		return nil, &connectError{fmt.Errorf("ssh handshake with %s: %w", addr, err)}
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// parseBastion splits "[user@]host[:port]".
func parseBastion(s, defaultUser string) (user, addr string, err error) {
	user = defaultUser
	if i := strings.LastIndex(s, "@"); i >= 0 {
		user, s = s[:i], s[i+1:]
	}
	host, port := s, "22"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	if user == "" || host == "" || strings.ContainsAny(host, " /") {
		return "", "", fmt.Errorf("bastion %q: want [user@]host[:port]", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", fmt.Errorf("bastion %q: bad port", s)
	}
	return user, net.JoinHostPort(host, port), nil
}
