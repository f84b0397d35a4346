package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/meshx-dev/meshx/providers"
)

// Provider manages one VM over one SSH connection. It is safe for
// concurrent use; concurrent Apply calls share the connection (at most
// maxSessions sessions at once), package operations run one at a time and
// manifest updates are serialised.
type Provider struct {
	host       Host
	addr       string
	user       string
	knownHosts string
	timeout    time.Duration
	// connectTimeout bounds each connection attempt (Host.ConnectTimeout).
	connectTimeout time.Duration
	sudo           bool
	// jumps are the bastions, first to last; identities the key files to
	// try (defaultKeys: ssh's defaults, skipped when absent); useAgent
	// adds the agent's keys. setupErr is a configuration problem that
	// every connection reports.
	jumps       []hop
	identities  []string
	defaultKeys bool
	useAgent    bool
	setupErr    error
	// dialer opens the TCP connection; tests wrap it to cut connections.
	dialer func(ctx context.Context, addr string) (net.Conn, error)
	// stateDir holds the manifests: manifestDir, or a temp dir in tests
	// against the host's own sshd.
	stateDir string

	mu        sync.Mutex // guards the fields below
	client    *ssh.Client
	bastion   *ssh.Client
	agentConn net.Conn
	closed    bool

	sessions chan struct{}

	manMu     sync.Mutex // serialises manifest read-modify-write
	manifests map[string]*manifest

	pkgMu sync.Mutex // one dpkg at a time

	connects    atomic.Int64
	sessionsRun atomic.Int64
}

// maxSessions stays under OpenSSH's default MaxSessions (10).
const maxSessions = 8

var _ providers.Provider = (*Provider)(nil)

// New returns the provider of one VM. It connects lazily, on the first
// Observe, Apply or Exec, and keeps that connection for every later call.
func New(h Host) *Provider {
	st, setupErr := readSSHConfig(h.SSHConfigFile, h.Address)
	address, port := h.Address, h.Port
	if st.HostName != "" {
		address = st.HostName
	}
	if port == 0 {
		port = st.Port
	}
	user := h.User
	if user == "" {
		user = st.User
	}
	knownHosts := h.KnownHostsFile
	if knownHosts == "" {
		knownHosts = st.KnownHosts
	}
	p := &Provider{
		host:       h,
		addr:       hostPort(address, port),
		user:       user,
		knownHosts: expandHome(knownHosts),
		timeout:    h.Timeout,
		setupErr:   setupErr,
		dialer:     dialTCP,
		stateDir:   manifestDir,
		sessions:   make(chan struct{}, maxSessions),
		manifests:  map[string]*manifest{},
	}
	if p.user == "" {
		p.user = "root"
	}
	if p.knownHosts == "" {
		p.knownHosts = expandHome("~/.ssh/known_hosts")
	}
	if p.timeout <= 0 {
		p.timeout = defaultTimeout
	}
	p.connectTimeout = h.ConnectTimeout
	if p.connectTimeout <= 0 {
		p.connectTimeout = DefaultConnectTimeout
	}
	p.sudo = h.Sudo && p.user != "root"
	if p.user != "root" && !h.Sudo && h.User == "" && p.setupErr == nil {
		p.setupErr = fmt.Errorf("the ssh configuration logs in to %s as %s, but meshx needs root: set user = \"root\" or sudo = true in the ssh block of vm %q", h.Address, p.user, h.Name)
	}
	jumps := st.ProxyJump
	if h.Bastion != "" {
		jumps = []string{h.Bastion}
	}
	if p.setupErr == nil && len(jumps) > 0 {
		p.jumps, p.setupErr = resolveJumps(h.SSHConfigFile, jumps, p.user)
	}
	p.useAgent = h.UseAgent
	switch {
	case h.PrivateKeyFile != "":
		p.identities = []string{h.PrivateKeyFile}
	case len(st.IdentityFiles) > 0:
		p.identities = st.IdentityFiles
	case !h.UseAgent:
		// Nothing names a key: what ssh tries, the agent included.
		p.identities, p.defaultKeys = defaultIdentities, true
		p.useAgent = os.Getenv("SSH_AUTH_SOCK") != ""
	}
	return p
}

// Stats counts what a provider did on the network.
type Stats struct {
	// Connects is the number of SSH connections opened.
	Connects int64
	// Sessions is the number of SSH sessions (remote commands) run.
	Sessions int64
}

// Stats returns the counters so far.
func (p *Provider) Stats() Stats {
	return Stats{Connects: p.connects.Load(), Sessions: p.sessionsRun.Load()}
}

// Endpoint is the host:port SSH connects to, for progress reports.
func (p *Provider) Endpoint() string { return p.addr }

func (p *Provider) logf(format string, args ...any) {
	if p.host.Log != nil {
		p.host.Log(fmt.Sprintf(format, args...))
	}
}

// Close hangs up the connection. The provider may not be used afterwards.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var err error
	if p.client != nil {
		err = p.client.Close()
		p.client = nil
	}
	if p.bastion != nil {
		p.bastion.Close()
		p.bastion = nil
	}
	if p.agentConn != nil {
		p.agentConn.Close()
		p.agentConn = nil
	}
	return err
}

// getClient returns the connection, opening it when there is none.
func (p *Provider) getClient(ctx context.Context) (*ssh.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("provider is closed")
	}
	if p.client != nil {
		return p.client, nil
	}
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	p.connects.Add(1)
	p.client = c
	go p.keepalive(c)
	return c, nil
}

// keepaliveInterval spaces the keepalive requests on an idle connection.
const keepaliveInterval = 30 * time.Second

// keepalive pings the server while c is open and drops c when it stops
// answering (a NAT that forgot the connection while the user read the
// plan), so the next command redials instead of hanging.
func (p *Provider) keepalive(c *ssh.Client) {
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	t := time.NewTicker(keepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case err := <-answered:
			if err == nil {
				continue
			}
		case <-done:
			return
		case <-time.After(keepaliveInterval / 2):
		}
		p.logf("connection to %s stopped answering; it will be reopened", p.addr)
		p.dropClient(c)
		return
	}
}

// dropCurrent closes and forgets the current connection, so the next call
// redials.
func (p *Provider) dropCurrent() {
	p.mu.Lock()
	c := p.client
	p.mu.Unlock()
	if c != nil {
		p.dropClient(c)
	}
}

// againIfCut runs fn, an idempotent remote step, and once more on a new
// connection when its connection was lost before it finished. A
// connection that was open when the VM's first netfilter rules arrived
// (the istio sidecar's, at its first start) is tracked from mid-stream and
// its packets redirected: cut, while a new one is tracked from its first
// packet.
func (p *Provider) againIfCut(fn func() error) error {
	err := fn()
	if ce := (*CommandError)(nil); errors.As(err, &ce) && ce.Status < 0 {
		p.dropCurrent()
		err = fn()
	}
	return err
}

// dropClient forgets a connection that broke, so the next call redials.
func (p *Provider) dropClient(c *ssh.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == c {
		c.Close()
		p.client = nil
		if p.bastion != nil {
			p.bastion.Close()
			p.bastion = nil
		}
	}
}

// newSession opens a session, redialling once if the connection broke
// while idle. A command is never retried once it started.
func (p *Provider) newSession(ctx context.Context) (*ssh.Session, error) {
	for attempt := 0; ; attempt++ {
		c, err := p.getClient(ctx)
		if err != nil {
			return nil, err
		}
		s, err := c.NewSession()
		if err == nil {
			p.sessionsRun.Add(1)
			return s, nil
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) || attempt == 1 {
			return nil, fmt.Errorf("open session: %w", err)
		}
		p.dropClient(c)
	}
}

// CommandError is a remote command that failed: its command line (meshx's
// scripts are shown by name with their arguments), exit status and
// standard error.
type CommandError struct {
	Command string
	// Status is the exit status, or -1 when the connection was lost.
	Status int
	Stderr string
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	if e.Status < 0 {
		return fmt.Sprintf("%s: connection lost before the command finished %s", e.Command, msg)
	}
	if msg == "" {
		return fmt.Sprintf("%s: exited with status %d", e.Command, e.Status)
	}
	return fmt.Sprintf("%s: exited with status %d: %s", e.Command, e.Status, msg)
}

// run executes cmd (already quoted) in one session, as root when sudo is
// configured, feeding stdin, and returns its standard output. display is
// how errors name the command. Connecting is bounded by its own per-attempt
// timeout; timeout bounds the command once its session is open.
func (p *Provider) run(ctx context.Context, timeout time.Duration, display, cmd string, stdin io.Reader) ([]byte, error) {
	select {
	case p.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.sessions }()
	s, err := p.newSession(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	s.Stdin = stdin
	s.Stdout = &stdout
	s.Stderr = &limitedBuffer{buf: &stderr, max: 64 << 10}
	if p.sudo {
		cmd = "sudo -n -- " + cmd
	}
	if err := s.Start(cmd); err != nil {
		return nil, fmt.Errorf("%s: start: %w", display, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Signal(ssh.SIGKILL)
		s.Close()
		return nil, fmt.Errorf("%s: %w", display, ctx.Err())
	}
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case errors.As(err, &exit):
		return stdout.Bytes(), &CommandError{Command: display, Status: exit.ExitStatus(), Stderr: stderr.String()}
	case errors.As(err, &missing), errors.Is(err, io.EOF):
		return nil, &CommandError{Command: display, Status: -1, Stderr: stderr.String()}
	}
	return nil, fmt.Errorf("%s: %w", display, err)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(b []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(b) > room {
			l.buf.Write(b[:room])
		} else {
			l.buf.Write(b)
		}
	}
	return len(b), nil
}

// runScript runs one of this package's scripts with sh -c, its arguments
// quoted.
func (p *Provider) runScript(ctx context.Context, timeout time.Duration, sc script, stdin io.Reader, args ...string) ([]byte, error) {
	return p.runScriptShown(ctx, timeout, sc, stdin, args, args...)
}

// runScriptShown is runScript with the arguments errors show, for when
// one of them must not appear in full (the sha256 of a secret).
func (p *Provider) runScriptShown(ctx context.Context, timeout time.Duration, sc script, stdin io.Reader, shown []string, args ...string) ([]byte, error) {
	cmd := "sh -c " + quote(sc.body) + " " + quote(sc.name) + " " + shellJoin(args)
	return p.run(ctx, timeout, sc.name+" "+shellJoin(shown), cmd, stdin)
}

// Exec runs argv on the VM (as root when Host.Sudo is set), each argument
// quoted, and returns its standard output. It is meant for post-apply
// checks such as `host istio-pilot.istio-system`. A non-zero exit is a
// *CommandError carrying the command, status and standard error.
func Exec(ctx context.Context, p *Provider, argv ...string) (stdout string, err error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("vm.%s: exec: no command", p.host.Name)
	}
	for _, a := range argv {
		if strings.ContainsRune(a, 0) {
			return "", fmt.Errorf("vm.%s: exec: argument contains a NUL byte", p.host.Name)
		}
	}
	cmd := shellJoin(argv)
	out, err := p.run(ctx, p.timeout, cmd, cmd, nil)
	if err != nil {
		return string(out), fmt.Errorf("vm.%s: exec: %w", p.host.Name, err)
	}
	return string(out), nil
}
