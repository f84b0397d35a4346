package svcmgr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshx-dev/meshx/lab/vmlab/systemctl"
)

// DefaultRunDir holds the manager's socket and the unit logs inside a VM.
const DefaultRunDir = systemctl.RunDir

// defaultPath is the PATH services run with (systemd's default).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Config configures a Manager.
type Config struct {
	// Root is the directory the VM's paths are resolved in: "/" in a VM.
	// Executables in Exec lines always run from the real file system.
	Root string
	// RunDir holds the socket and the unit logs; DefaultRunDir when empty.
	RunDir string
	// Hostname is used in log lines; os.Hostname() when empty.
	Hostname string
	// Logf receives the manager's own diagnostics; may be nil.
	Logf func(format string, args ...any)
}

// Manager runs services. Its methods are safe for concurrent use.
type Manager struct {
	fs      fsys
	runDir  string
	host    string
	logf    func(string, ...any)
	procs   *procs
	devnull *os.File

	mu    sync.Mutex
	units map[string]*unit

	bgN    int        // running clean-ups after main processes ended; guarded by mu
	bgDone *sync.Cond // signalled when bgN drops to 0
}

// unit is the runtime state of one unit.
type unit struct {
	name  string
	jobMu sync.Mutex // serialises start, stop, restart and reload

	// Guarded by Manager.mu.
	jobs      int
	def       *Unit // definition in force while loaded
	svc       *service
	svcErr    error
	active    string // active, reloading, inactive, failed, activating, deactivating
	sub       string // running, exited, dead, failed, auto-restart, start-pre, start, start-post, stop, reload
	result    string // success, exit-code, signal, timeout, start-limit-hit, resources, exec-condition
	gen       int    // bumped per start and stop; stale callbacks compare it
	since     time.Time
	mainPID   int
	mainDone  chan struct{} // closed when mainPID ends
	mainCmd   string
	mainExit  *exitStatus
	lastMain  int
	nRestarts int
	timer     *time.Timer
	starts    []time.Time
	sessions  []int // sessions of the processes started for the unit
	stopping  bool
	condition string // the ConditionPathExists= that failed, if any
}

// unitSnap is a copy of a unit's state for display.
type unitSnap struct {
	name, active, sub, result, mainCmd, condition string
	since                                         time.Time
	mainPID, lastMain, nRestarts                  int
	mainExit                                      *exitStatus
	def                                           *Unit
}

// snap copies the state. Caller holds m.mu.
func (u *unit) snap() unitSnap {
	return unitSnap{
		name: u.name, active: u.active, sub: u.sub, result: u.result, mainCmd: u.mainCmd,
		condition: u.condition, since: u.since, mainPID: u.mainPID, lastMain: u.lastMain,
		nRestarts: u.nRestarts, mainExit: u.mainExit, def: u.def,
	}
}

// New returns a manager. Call Run to start reaping children.
func New(c Config) (*Manager, error) {
	if c.Root == "" {
		c.Root = "/"
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	m := &Manager{
		fs:     fsys{root: c.Root},
		runDir: c.RunDir,
		host:   c.Hostname,
		logf:   c.Logf,
		procs:  sharedProcs,
		units:  map[string]*unit{},
	}
	m.bgDone = sync.NewCond(&m.mu)
	if err := os.MkdirAll(m.fs.p(path.Join(m.runDir, "log")), 0o755); err != nil {
		return nil, fmt.Errorf("svcmgr: %w", err)
	}
	var err error
	if m.devnull, err = os.Open(os.DevNull); err != nil {
		return nil, fmt.Errorf("svcmgr: %w", err)
	}
	return m, nil
}

// sharedProcs reaps for every manager of the process: reaping is
// process-wide (wait4(-1)), so managers in one process must share it.
var (
	sharedProcs = newProcs()
	reaperOnce  sync.Once
)

// Wait waits for the background work (clean-ups after main processes
// ended, --no-block jobs) started so far.
func (m *Manager) Wait() {
	m.mu.Lock()
	for m.bgN > 0 {
		m.bgDone.Wait()
	}
	m.mu.Unlock()
}

// background runs f in a goroutine counted by Wait. Caller holds m.mu.
func (m *Manager) background(f func()) {
	m.bgN++
	go func() {
		defer func() {
			m.mu.Lock()
			if m.bgN--; m.bgN == 0 {
				m.bgDone.Broadcast()
			}
			m.mu.Unlock()
		}()
		f()
	}()
}

// Run makes sure children are being reaped and blocks until ctx is done.
func (m *Manager) Run(ctx context.Context) {
	reaperOnce.Do(func() { go sharedProcs.loop(context.Background()) })
	<-ctx.Done()
}

// SocketPath is where the manager listens (as the VM sees it).
func (m *Manager) SocketPath() string { return path.Join(m.runDir, systemctl.Socket) }

// LogPath returns the log file of a unit (as the VM sees it).
func (m *Manager) LogPath(unitName string) string {
	return path.Join(m.runDir, "log", normalizeName(unitName)+".log")
}

// get loads name from disk and returns its runtime state and the fresh
// definition.
func (m *Manager) get(name string) (*unit, *Unit, error) {
	fresh, err := m.fs.load(name)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.units[fresh.Name]
	if u == nil {
		u = &unit{name: fresh.Name, active: "inactive", sub: "dead", result: "success"}
		m.units[fresh.Name] = u
	}
	return u, fresh, nil
}

// collectable reports whether systemd would have unloaded the unit, so that
// the next reference reads it from disk again. Caller holds m.mu.
func (u *unit) collectable() bool {
	return u.active == "inactive" && u.timer == nil && u.jobs == 0
}

// effective returns the definition in force. Caller holds m.mu.
func (u *unit) effective(fresh *Unit) *Unit {
	if u.def != nil && !u.collectable() {
		return u.def
	}
	return fresh
}

// needsReload reports NeedDaemonReload. Caller holds m.mu.
func (u *unit) needsReload(fresh *Unit) bool {
	return u.def != nil && !u.collectable() && u.def.stamp != fresh.stamp
}

func (u *unit) setDef(def *Unit) {
	if def == u.def {
		return
	}
	u.def, u.svc, u.svcErr = def, nil, nil
	if def.Found() && !def.Masked {
		if unitSuffix(def.Name) != ".service" {
			u.svcErr = fmt.Errorf("%s: only service units can be started by the meshx lab", def.Name)
		} else {
			u.svc, u.svcErr = def.service()
		}
	}
}

// job runs fn with the unit's job lock held and its definition loaded.
func (m *Manager) job(u *unit, fresh *Unit, fn func() error) error {
	u.jobMu.Lock()
	defer u.jobMu.Unlock()
	m.mu.Lock()
	u.setDef(u.effective(fresh))
	u.jobs++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		u.jobs--
		m.mu.Unlock()
	}()
	return fn()
}

// jobError is a failed job; kind selects systemctl's message.
type jobError struct {
	kind   string // not-found, masked, bad-setting, failed, start-limit-hit, not-active, no-reload
	result string
	err    error
}

func (e *jobError) Error() string {
	if e.err != nil {
		return e.kind + ": " + e.err.Error()
	}
	return e.kind
}

// execCtx is what a unit's processes run with.
type execCtx struct {
	env    map[string]string
	cred   *syscall.Credential
	dir    string // host path
	home   string
	user   string
	logRel string
}

func (c *execCtx) envList(extra ...string) []string {
	out := make([]string, 0, len(c.env)+len(extra))
	for k, v := range c.env {
		out = append(out, k+"="+v)
	}
	return append(out, extra...)
}

func (m *Manager) execContext(def *Unit, svc *service) (*execCtx, error) {
	c := &execCtx{env: map[string]string{"PATH": defaultPath}, dir: m.fs.p("/"), home: "/root", user: "root", logRel: m.LogPath(def.Name)}
	for _, kv := range svc.Environment {
		k, v, _ := strings.Cut(kv, "=")
		c.env[k] = v
	}
	for _, f := range svc.EnvironmentFiles {
		optional := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		data, err := os.ReadFile(m.fs.p(f))
		if err != nil {
			if optional {
				continue
			}
			return nil, fmt.Errorf("failed to load environment files: %w", err)
		}
		for _, kv := range parseEnvFile(string(data)) {
			k, v, _ := strings.Cut(kv, "=")
			c.env[k] = v
		}
	}
	if svc.User != "" || svc.Group != "" {
		cred, home, shell, err := m.lookupCred(svc.User, svc.Group)
		if err != nil {
			return nil, err
		}
		c.cred = cred
		if svc.User != "" {
			c.user, c.home = svc.User, home
			c.env["USER"], c.env["LOGNAME"], c.env["HOME"], c.env["SHELL"] = svc.User, svc.User, home, shell
		}
	}
	if wd := svc.WorkingDirectory; wd != "" {
		optional := strings.HasPrefix(wd, "-")
		wd = strings.TrimPrefix(wd, "-")
		if wd == "~" {
			wd = c.home
		}
		if _, err := os.Stat(m.fs.p(wd)); err != nil {
			if !optional {
				return nil, fmt.Errorf("changing to the requested working directory failed: %w", err)
			}
		} else {
			c.dir = m.fs.p(wd)
		}
	}
	return c, nil
}

// lookupCred resolves User= and Group= against the VM's /etc/passwd and
// /etc/group, including supplementary groups.
func (m *Manager) lookupCred(user, group string) (*syscall.Credential, string, string, error) {
	cred := &syscall.Credential{}
	home, shell := "/", "/bin/sh"
	if user != "" {
		ent, err := findEnt(m.fs.p("/etc/passwd"), user)
		if err != nil {
			return nil, "", "", fmt.Errorf("failed to determine user credentials: %w", err)
		}
		uid, _ := strconv.Atoi(ent[2])
		gid, _ := strconv.Atoi(ent[3])
		cred.Uid, cred.Gid = uint32(uid), uint32(gid)
		if len(ent) > 6 {
			home, shell = ent[5], ent[6]
		}
		// Supplementary groups listing the user.
		if f, err := os.Open(m.fs.p("/etc/group")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				g := strings.Split(sc.Text(), ":")
				if len(g) < 4 {
					continue
				}
				for _, mem := range strings.Split(g[3], ",") {
					if mem == user {
						if n, err := strconv.Atoi(g[2]); err == nil {
							cred.Groups = append(cred.Groups, uint32(n))
						}
					}
				}
			}
			f.Close()
		}
	}
	if group != "" {
		ent, err := findEnt(m.fs.p("/etc/group"), group)
		if err != nil {
			return nil, "", "", fmt.Errorf("failed to determine group credentials: %w", err)
		}
		gid, _ := strconv.Atoi(ent[2])
		cred.Gid = uint32(gid)
	}
	return cred, home, shell, nil
}

// findEnt returns the colon-separated fields of the entry named name (or
// with that numeric id) in a passwd or group file.
func findEnt(file, name string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 4 && (f[0] == name || f[2] == name) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%s: no such entry in %s", name, filepath.Base(file))
}

func (m *Manager) specifiers(def *Unit, c *execCtx) func(byte) (string, bool) {
	return func(b byte) (string, bool) {
		base := strings.TrimSuffix(def.Name, unitSuffix(def.Name))
		switch b {
		case 'n':
			return def.Name, true
		case 'N':
			return base, true
		case 'p':
			if at := strings.IndexByte(base, '@'); at >= 0 {
				return base[:at], true
			}
			return base, true
		case 'i', 'I':
			return def.Instance, true
		case 't':
			return "/run", true
		case 'h':
			return c.home, true
		case 'u':
			return c.user, true
		case 'H', 'l':
			return m.host, true
		}
		return "", false
	}
}

// spawn starts one command of a unit in a new session, output to the unit
// log. Callers record the session in u.sessions.
func (m *Manager) spawn(l execLine, c *execCtx, extraEnv []string, cb func(int, exitStatus)) (int, error) {
	p := l.Path
	if !path.IsAbs(p) {
		found := ""
		for _, d := range strings.Split(c.env["PATH"], ":") {
			if fi, err := os.Stat(path.Join(d, p)); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				found = path.Join(d, p)
				break
			}
		}
		if found == "" {
			return 0, fmt.Errorf("%s: executable not found in PATH", p)
		}
		p = found
	}
	logf, err := os.OpenFile(m.fs.p(c.logRel), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	attr := &syscall.ProcAttr{
		Dir:   c.dir,
		Env:   c.envList(extraEnv...),
		Files: []uintptr{m.devnull.Fd(), logf.Fd(), logf.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true, Credential: c.cred},
	}
	return m.procs.start(p, l.Argv, attr, cb)
}

// runSync runs one control command (ExecStartPre, ExecStop, ...) and waits.
func (m *Manager) runSync(u *unit, def *Unit, raw string, c *execCtx, timeout time.Duration, extraEnv ...string) error {
	env := c.env
	if len(extraEnv) > 0 {
		env = map[string]string{}
		for k, v := range c.env {
			env[k] = v
		}
		for _, kv := range extraEnv {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	l, err := parseExecLine(raw, env, m.specifiers(def, c))
	if err != nil {
		return err
	}
	done := make(chan exitStatus, 1)
	pid, err := m.spawn(l, c, extraEnv, func(_ int, st exitStatus) { done <- st })
	if err != nil {
		if l.IgnoreFailure {
			return nil
		}
		return fmt.Errorf("%s: %w", l.Path, err)
	}
	m.mu.Lock()
	u.sessions = append(u.sessions, pid)
	m.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case st := <-done:
		if (!st.Exited || st.Code != 0) && !l.IgnoreFailure {
			m.journal(u.name, "Control process exited, %s", st)
			return fmt.Errorf("%s: %s", l.Path, st)
		}
		return nil
	case <-t.C:
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
		m.journal(u.name, "Control process timed out.")
		return &jobError{kind: "failed", result: "timeout", err: fmt.Errorf("%s: timed out", l.Path)}
	}
}

// journal appends a systemd-like line to the unit's log.
func (m *Manager) journal(unitName, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	line := fmt.Sprintf("%s %s systemd[1]: %s: %s\n", time.Now().Format(time.Stamp), m.host, unitName, msg)
	if f, err := os.OpenFile(m.fs.p(m.LogPath(unitName)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		_, _ = f.WriteString(line)
		f.Close()
	}
	m.logf("%s: %s", unitName, msg)
}

func (s *service) desc(name string) string {
	if s != nil && s.Description != "" {
		return name + " - " + s.Description
	}
	return name
}

var (
	errNotFound = errors.New("not found")
	errMasked   = errors.New("masked")
)

// start runs the start job of u. The job lock is held.
func (m *Manager) start(u *unit) error {
	m.mu.Lock()
	def, svc, svcErr := u.def, u.svc, u.svcErr
	switch {
	case u.active == "active" || u.active == "reloading":
		m.mu.Unlock()
		return nil
	case def.Masked:
		m.mu.Unlock()
		return &jobError{kind: "masked", err: errMasked}
	case !def.Found():
		m.mu.Unlock()
		return &jobError{kind: "not-found", err: errNotFound}
	case svcErr != nil:
		m.mu.Unlock()
		m.journal(u.name, "%v", svcErr)
		return &jobError{kind: "bad-setting", err: svcErr}
	}
	m.stopTimerLocked(u)
	for _, cond := range svc.Conditions {
		if !m.condition(cond) {
			u.active, u.sub, u.condition = "inactive", "dead", cond
			u.since = time.Now()
			m.mu.Unlock()
			m.journal(u.name, "%s was skipped because of an unmet condition check (ConditionPathExists=%s).", svc.desc(u.name), cond)
			return nil
		}
	}
	u.condition = ""
	now := time.Now()
	if svc.StartLimitInterval > 0 && svc.StartLimitBurst > 0 {
		keep := u.starts[:0]
		for _, t := range u.starts {
			if now.Sub(t) < svc.StartLimitInterval {
				keep = append(keep, t)
			}
		}
		u.starts = keep
		if len(u.starts) >= svc.StartLimitBurst {
			u.active, u.sub, u.result, u.since = "failed", "failed", "start-limit-hit", now
			u.gen++
			m.mu.Unlock()
			m.journal(u.name, "Start request repeated too quickly.")
			m.journal(u.name, "Failed with result 'start-limit-hit'.")
			return &jobError{kind: "start-limit-hit", result: "start-limit-hit"}
		}
		u.starts = append(u.starts, now)
	}
	u.gen++
	gen := u.gen
	u.active, u.sub, u.result, u.since = "activating", "start-pre", "success", now
	u.sessions, u.mainPID, u.mainExit, u.mainCmd = nil, 0, nil, ""
	m.mu.Unlock()
	m.journal(u.name, "Starting %s...", svc.desc(u.name))

	c, err := m.execContext(def, svc)
	if err != nil {
		return m.startFailed(u, gen, svc, "resources", err)
	}
	if err := m.makeRuntimeDirs(svc, c); err != nil {
		return m.startFailed(u, gen, svc, "resources", err)
	}
	for _, raw := range svc.ExecStartPre {
		if err := m.runSync(u, def, raw, c, svc.TimeoutStart); err != nil {
			return m.startFailed(u, gen, svc, resultOf(err), err)
		}
	}
	m.setSub(u, gen, "start")
	switch svc.Type {
	case "oneshot":
		for _, raw := range svc.ExecStart {
			if err := m.runSync(u, def, raw, c, svc.TimeoutStart); err != nil {
				return m.startFailed(u, gen, svc, resultOf(err), err)
			}
		}
		for _, raw := range svc.ExecStartPost {
			if err := m.runSync(u, def, raw, c, svc.TimeoutStart); err != nil {
				return m.startFailed(u, gen, svc, resultOf(err), err)
			}
		}
		m.mu.Lock()
		if u.gen == gen {
			if svc.RemainAfterExit {
				u.active, u.sub = "active", "exited"
			} else {
				u.active, u.sub = "inactive", "dead"
			}
			u.since = time.Now()
		}
		m.mu.Unlock()
		m.journal(u.name, "Finished %s.", svc.desc(u.name))
		return nil
	case "forking":
		if err := m.runSync(u, def, svc.ExecStart[0], c, svc.TimeoutStart); err != nil {
			return m.startFailed(u, gen, svc, resultOf(err), err)
		}
		pid := 0
		if svc.PIDFile != "" {
			if pid, err = m.readPIDFile(svc.PIDFile, 5*time.Second); err != nil {
				return m.startFailed(u, gen, svc, "protocol", err)
			}
		}
		m.mu.Lock()
		if u.gen != gen {
			m.mu.Unlock()
			return nil
		}
		if pid > 0 {
			u.mainPID, u.lastMain, u.mainDone = pid, pid, make(chan struct{})
			if st, err := readStat(pid); err == nil {
				u.mainCmd = st.comm
			}
		}
		m.mu.Unlock()
		if pid > 0 {
			m.procs.watch(pid, func(p int, st exitStatus) { m.mainExited(u, gen, p, st) })
		}
	default: // simple, exec, notify, idle, dbus
		l, err := parseExecLine(svc.ExecStart[0], c.env, m.specifiers(def, c))
		if err != nil {
			return m.startFailed(u, gen, svc, "resources", err)
		}
		m.mu.Lock()
		pid, err := m.spawn(l, c, nil, func(p int, st exitStatus) { m.mainExited(u, gen, p, st) })
		if err != nil {
			u.mainExit = &exitStatus{Exited: true, Code: 203}
			m.mu.Unlock()
			m.journal(u.name, "Failed to execute %s: %v", l.Path, err)
			return m.startFailed(u, gen, svc, "exit-code", err)
		}
		u.mainPID, u.lastMain, u.mainDone, u.mainCmd = pid, pid, make(chan struct{}), path.Base(l.Argv[0])
		u.sessions = append(u.sessions, pid)
		m.mu.Unlock()
	}
	m.setSub(u, gen, "start-post")
	for _, raw := range svc.ExecStartPost {
		if err := m.runSync(u, def, raw, c, svc.TimeoutStart); err != nil {
			return m.startFailed(u, gen, svc, resultOf(err), err)
		}
	}
	m.mu.Lock()
	if u.gen == gen && u.active == "activating" && u.sub == "start-post" {
		u.active, u.sub, u.since = "active", "running", time.Now()
	}
	m.mu.Unlock()
	m.journal(u.name, "Started %s.", svc.desc(u.name))
	return nil
}

func resultOf(err error) string {
	var je *jobError
	if errors.As(err, &je) && je.result != "" {
		return je.result
	}
	return "exit-code"
}

// setSub moves a start job to its next phase, unless the main process
// ended meanwhile (mainExited has settled the state then).
func (m *Manager) setSub(u *unit, gen int, sub string) {
	m.mu.Lock()
	if u.gen == gen && u.active == "activating" && u.sub != "auto-restart" {
		u.sub = sub
	}
	m.mu.Unlock()
}

func (m *Manager) startFailed(u *unit, gen int, svc *service, result string, err error) error {
	m.mu.Lock()
	pid := u.mainPID
	if u.gen == gen {
		u.active, u.sub, u.result, u.since = "failed", "failed", result, time.Now()
		u.mainPID = 0
	}
	sessions := append([]int(nil), u.sessions...)
	m.mu.Unlock()
	m.killUnit(svc, sessions, pid, true)
	m.removeRuntimeDirs(svc)
	m.journal(u.name, "Failed with result '%s'.", result)
	m.journal(u.name, "Failed to start %s.", svc.desc(u.name))
	return &jobError{kind: "failed", result: result, err: err}
}

// mainExited is called (by the reaper) when the main process of generation
// gen ends. It settles the state at once, so a crash is visible to the next
// query, and clears out the rest of the unit in the background.
func (m *Manager) mainExited(u *unit, gen, pid int, st exitStatus) {
	m.mu.Lock()
	if u.gen != gen || u.mainPID != pid {
		m.mu.Unlock()
		return
	}
	u.mainPID = 0
	u.mainExit = &st
	close(u.mainDone)
	if u.stopping {
		m.mu.Unlock()
		return
	}
	svc := u.svc
	clean := st.clean(svc.SuccessExitStatus)
	u.result = "success"
	if !clean {
		u.result = st.result()
	}
	u.since = time.Now()
	restart := restartWanted(svc, st, clean)
	switch {
	case restart:
		u.active, u.sub = "activating", "auto-restart"
		u.timer = time.AfterFunc(svc.RestartSec, func() { m.autoRestart(u, gen) })
	case clean:
		u.active, u.sub = "inactive", "dead"
	default:
		u.active, u.sub = "failed", "failed"
	}
	sessions := append([]int(nil), u.sessions...)
	result := u.result
	m.background(func() {
		m.journal(u.name, "Main process exited, %s", st)
		if !clean {
			m.journal(u.name, "Failed with result '%s'.", result)
		}
		// Like systemd, clear out what is left of the unit.
		m.killUnit(svc, sessions, 0, false)
		if !restart {
			m.removeRuntimeDirs(svc)
		}
	})
	m.mu.Unlock()
}

func restartWanted(svc *service, st exitStatus, clean bool) bool {
	for _, s := range svc.RestartPreventExitStatus {
		if st.Exited && s == strconv.Itoa(st.Code) {
			return false
		}
		if sig, err := parseSignal(s); !st.Exited && err == nil && sig == st.Signal {
			return false
		}
	}
	switch svc.Restart {
	case "always":
		return true
	case "on-success":
		return clean
	case "on-failure":
		return !clean
	case "on-abnormal":
		return !st.Exited && !clean
	case "on-abort":
		return !st.Exited && !clean
	}
	return false
}

func (m *Manager) autoRestart(u *unit, gen int) {
	u.jobMu.Lock()
	defer u.jobMu.Unlock()
	m.mu.Lock()
	if u.gen != gen || u.sub != "auto-restart" {
		m.mu.Unlock()
		return
	}
	u.timer = nil
	u.nRestarts++
	n := u.nRestarts
	u.jobs++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		u.jobs--
		m.mu.Unlock()
	}()
	m.journal(u.name, "Scheduled restart job, restart counter is at %d.", n)
	if err := m.start(u); err != nil {
		m.logf("%s: restart: %v", u.name, err)
	}
}

// stopTimerLocked cancels a pending automatic restart. Caller holds m.mu.
func (m *Manager) stopTimerLocked(u *unit) bool {
	if u.timer == nil {
		return false
	}
	u.timer.Stop()
	u.timer = nil
	return true
}

// stop runs the stop job of u. The job lock is held.
func (m *Manager) stop(u *unit) error {
	m.mu.Lock()
	if m.stopTimerLocked(u) {
		u.active, u.sub = "inactive", "dead"
		u.gen++
		svc := u.svc
		m.mu.Unlock()
		m.removeRuntimeDirs(svc)
		return nil
	}
	if u.active == "inactive" || u.active == "failed" {
		found := u.def.Found()
		m.mu.Unlock()
		if !found {
			return &jobError{kind: "not-found", err: errNotFound}
		}
		return nil
	}
	def, svc := u.def, u.svc
	u.active, u.sub, u.stopping = "deactivating", "stop", true
	pid, done := u.mainPID, u.mainDone
	sessions := append([]int(nil), u.sessions...)
	m.mu.Unlock()
	m.journal(u.name, "Stopping %s...", svc.desc(u.name))

	c, err := m.execContext(def, svc)
	if err == nil {
		mainEnv := "MAINPID="
		if pid > 0 {
			mainEnv += strconv.Itoa(pid)
		}
		for _, raw := range svc.ExecStop {
			if err := m.runSync(u, def, raw, c, svc.TimeoutStop, mainEnv); err != nil {
				m.logf("%s: ExecStop: %v", u.name, err)
			}
		}
	}
	if pid > 0 && svc.KillMode != "none" {
		if svc.KillMode == "control-group" {
			signalGroup(sessions, pid, svc.KillSignal)
		} else {
			_ = syscall.Kill(pid, svc.KillSignal)
		}
		_ = syscall.Kill(pid, syscall.SIGCONT)
		t := time.NewTimer(svc.TimeoutStop)
		select {
		case <-done:
		case <-t.C:
			m.journal(u.name, "State 'stop-sigterm' timed out. Killing.")
			_ = syscall.Kill(pid, syscall.SIGKILL)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
		}
		t.Stop()
	}
	if svc.KillMode == "control-group" || svc.KillMode == "mixed" {
		m.mu.Lock()
		sessions = append([]int(nil), u.sessions...)
		m.mu.Unlock()
		m.killUnit(svc, sessions, 0, false)
	}
	if c != nil {
		for _, raw := range svc.ExecStopPost {
			if err := m.runSync(u, def, raw, c, svc.TimeoutStop); err != nil {
				m.logf("%s: ExecStopPost: %v", u.name, err)
			}
		}
	}
	m.removeRuntimeDirs(svc)
	m.mu.Lock()
	u.stopping = false
	u.gen++
	u.mainPID = 0
	u.active, u.sub, u.result, u.since = "inactive", "dead", "success", time.Now()
	m.mu.Unlock()
	m.journal(u.name, "Stopped %s.", svc.desc(u.name))
	return nil
}

// signalGroup sends sig to every process of a unit (see groupOf).
func signalGroup(sessions []int, mainPID int, sig syscall.Signal) int {
	pids := groupOf(sessions, mainPID)
	for _, p := range pids {
		_ = syscall.Kill(p, sig)
	}
	return len(pids)
}

// killUnit terminates what is left of a unit's processes (except with
// KillMode=process or none, unless force): KillSignal, then SIGKILL after
// two seconds.
func (m *Manager) killUnit(svc *service, sessions []int, mainPID int, force bool) {
	if svc == nil || !force && (svc.KillMode == "process" || svc.KillMode == "none") {
		return
	}
	if signalGroup(sessions, mainPID, svc.KillSignal) == 0 {
		return
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		m.procs.reap()
		if len(groupOf(sessions, mainPID)) == 0 {
			return
		}
	}
	signalGroup(sessions, mainPID, syscall.SIGKILL)
}

func (m *Manager) makeRuntimeDirs(svc *service, c *execCtx) error {
	for _, d := range svc.RuntimeDirectory {
		p := m.fs.p(path.Join("/run", d))
		if err := os.MkdirAll(p, svc.RuntimeDirectoryMode); err != nil {
			return err
		}
		if err := os.Chmod(p, svc.RuntimeDirectoryMode); err != nil {
			return err
		}
		if c.cred != nil {
			if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) removeRuntimeDirs(svc *service) {
	if svc == nil {
		return
	}
	for _, d := range svc.RuntimeDirectory {
		_ = os.RemoveAll(m.fs.p(path.Join("/run", d)))
	}
}

// condition evaluates one ConditionPathExists= value.
func (m *Manager) condition(c string) bool {
	c = strings.TrimPrefix(c, "|")
	neg := strings.HasPrefix(c, "!")
	c = strings.TrimPrefix(c, "!")
	_, err := os.Stat(m.fs.p(c))
	return (err == nil) != neg
}

func (m *Manager) readPIDFile(p string, wait time.Duration) (int, error) {
	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile(m.fs.p(p))
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("PID file %s not readable (yet?) after start", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reload runs ExecReload. The job lock is held.
func (m *Manager) reload(u *unit) error {
	m.mu.Lock()
	def, svc := u.def, u.svc
	if u.active != "active" {
		m.mu.Unlock()
		return &jobError{kind: "not-active"}
	}
	if len(svc.ExecReload) == 0 {
		m.mu.Unlock()
		return &jobError{kind: "no-reload"}
	}
	u.active, u.sub = "reloading", "reload"
	pid := u.mainPID
	m.mu.Unlock()
	m.journal(u.name, "Reloading %s...", svc.desc(u.name))
	c, err := m.execContext(def, svc)
	if err == nil {
		for _, raw := range svc.ExecReload {
			if err = m.runSync(u, def, raw, c, svc.TimeoutStart, "MAINPID="+strconv.Itoa(pid)); err != nil {
				break
			}
		}
	}
	m.mu.Lock()
	if u.active == "reloading" {
		u.active, u.sub = "active", "running"
	}
	m.mu.Unlock()
	if err != nil {
		return &jobError{kind: "failed", result: "exit-code", err: err}
	}
	m.journal(u.name, "Reloaded %s.", svc.desc(u.name))
	return nil
}

// daemonReload reloads every loaded unit definition from disk.
func (m *Manager) daemonReload() {
	m.mu.Lock()
	names := make([]string, 0, len(m.units))
	for n := range m.units {
		names = append(names, n)
	}
	m.mu.Unlock()
	for _, n := range names {
		fresh, err := m.fs.load(n)
		if err != nil {
			continue
		}
		m.mu.Lock()
		if u := m.units[n]; u != nil && u.def != nil {
			u.setDef(fresh)
		}
		m.mu.Unlock()
	}
}

// Boot starts units at VM start, logging failures.
func (m *Manager) Boot(units ...string) {
	for _, n := range units {
		res := m.Command([]string{"start", n})
		if res.Code != 0 {
			m.logf("boot: start %s: %s%s", n, res.Stdout, res.Stderr)
		}
	}
}
