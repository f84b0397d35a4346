package svcmgr

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meshx-dev/meshx/lab/vmlab/systemctl"
)

// Response is what a systemctl invocation prints and exits with.
type Response = systemctl.Response

// Exit codes of systemctl (LSB).
const (
	codeOK           = 0
	codeFailed       = 1
	codeNotRunning   = 3
	codeNoSuchUnit   = 4
	codeNotInstalled = 5
)

type cmdOpts struct {
	quiet, now, noBlock, value, all bool
	props                           []string
	signal                          syscall.Signal
	killWhom                        string
	lines                           int
}

// Command runs one systemctl command line (without "systemctl") as root.
func (m *Manager) Command(args []string) Response { return m.CommandAs(0, args) }

// CommandAs runs a systemctl command line for the user uid: like systemd
// without a polkit agent, only root may change anything.
func (m *Manager) CommandAs(uid int, args []string) Response {
	var out, errb bytes.Buffer
	code := m.command(uid, args, &out, &errb)
	return Response{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// mutating lists the verbs that need root.
var mutating = map[string]bool{
	"start": true, "stop": true, "restart": true, "try-restart": true, "condrestart": true, "reload": true,
	"reload-or-restart": true, "try-reload-or-restart": true, "force-reload": true, "reload-or-try-restart": true,
	"enable": true, "disable": true, "reenable": true, "mask": true, "unmask": true,
	"daemon-reload": true, "daemon-reexec": true, "reset-failed": true, "kill": true,
}

func (m *Manager) command(uid int, args []string, out, errw *bytes.Buffer) int {
	o := cmdOpts{signal: syscall.SIGTERM, killWhom: "all", lines: 10}
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			words = append(words, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			words = append(words, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		next := func() (string, bool) {
			if hasVal {
				return val, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		switch {
		case name == "-q" || name == "--quiet":
			o.quiet = true
		case name == "--now":
			o.now = true
		case name == "--no-block":
			o.noBlock = true
		case name == "--value":
			o.value = true
		case name == "-a" || name == "--all":
			o.all = true
		case name == "--system", name == "--no-pager", name == "--no-legend", name == "--plain",
			name == "--no-ask-password", name == "--no-reload", name == "-l", name == "--full",
			name == "-f", name == "--force", name == "--show-types", name == "--no-warn":
		case name == "-p" || name == "--property":
			v, ok := next()
			if !ok {
				fmt.Fprintf(errw, "systemctl: option '%s' requires an argument\n", name)
				return codeFailed
			}
			o.props = append(o.props, strings.Split(v, ",")...)
		case strings.HasPrefix(a, "-p") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			o.props = append(o.props, strings.Split(a[2:], ",")...)
		case name == "-s" || name == "--signal":
			v, ok := next()
			sig, err := parseSignal(v)
			if !ok || err != nil {
				fmt.Fprintf(errw, "Failed to parse signal string %s.\n", v)
				return codeFailed
			}
			o.signal = sig
		case name == "--kill-whom" || name == "--kill-who":
			v, _ := next()
			o.killWhom = v
		case name == "-n" || name == "--lines":
			v, _ := next()
			n, err := strconv.Atoi(v)
			if err != nil {
				fmt.Fprintf(errw, "Failed to parse lines '%s'\n", v)
				return codeFailed
			}
			o.lines = n
		case name == "-t" || name == "--type" || name == "--state" || name == "-o" || name == "--output":
			_, _ = next()
		case name == "--version":
			fmt.Fprintln(out, "systemd 252 (252-meshx-lab)")
			fmt.Fprintln(out, "meshx lab service-manager stand-in")
			return codeOK
		case name == "-h" || name == "--help":
			fmt.Fprintln(out, usage)
			return codeOK
		case name == "--user" || name == "--global":
			fmt.Fprintln(errw, "Failed to connect to bus: No medium found")
			return codeFailed
		default:
			fmt.Fprintf(errw, "systemctl: unrecognized option '%s'\n", a)
			return codeFailed
		}
	}
	if len(words) == 0 {
		words = []string{"list-units"}
	}
	verb, names := words[0], words[1:]
	if uid != 0 && mutating[verb] {
		what := verb
		if len(names) > 0 {
			what += " " + normalizeName(names[0])
		}
		fmt.Fprintf(errw, "Failed to %s: Interactive authentication required.\nSee system logs and 'systemctl status' for details.\n", what)
		return codeNoSuchUnit
	}
	needUnits := func() bool {
		if len(names) == 0 {
			fmt.Fprintln(errw, "Too few arguments.")
			return false
		}
		return true
	}
	m.procs.reap()
	switch verb {
	case "start", "stop", "restart", "try-restart", "condrestart", "reload",
		"reload-or-restart", "try-reload-or-restart", "force-reload", "reload-or-try-restart":
		if !needUnits() {
			return codeFailed
		}
		return m.jobs(verb, names, o, errw)
	case "enable", "disable", "reenable":
		if !needUnits() {
			return codeFailed
		}
		return m.enableCmd(verb, names, o, errw)
	case "mask", "unmask":
		if !needUnits() {
			return codeFailed
		}
		return m.maskCmd(verb, names, o, errw)
	case "is-active", "is-failed":
		if !needUnits() {
			return codeFailed
		}
		return m.isActive(verb, names, o, out)
	case "is-enabled":
		if !needUnits() {
			return codeFailed
		}
		return m.isEnabled(names, o, out, errw)
	case "status":
		return m.status(names, o, out, errw)
	case "show":
		return m.show(names, o, out, errw)
	case "cat":
		if !needUnits() {
			return codeFailed
		}
		return m.cat(names, out, errw)
	case "daemon-reload", "daemon-reexec":
		m.daemonReload()
		return codeOK
	case "reset-failed":
		return m.resetFailed(names)
	case "kill":
		if !needUnits() {
			return codeFailed
		}
		return m.kill(names, o, errw)
	case "list-units":
		return m.listUnits(o, out)
	case "list-unit-files":
		return m.listUnitFiles(out)
	case "is-system-running":
		if !o.quiet {
			fmt.Fprintln(out, "running")
		}
		return codeOK
	case "help":
		fmt.Fprintln(out, usage)
		return codeOK
	}
	fmt.Fprintf(errw, "Unknown command verb '%s'.\n", verb)
	return codeFailed
}

const usage = `systemctl [OPTIONS...] COMMAND ...

meshx lab stand-in for systemd's systemctl. Supported commands:
  start|stop|restart|try-restart|reload|reload-or-restart UNIT...
  enable|disable|reenable [--now] UNIT...   mask|unmask UNIT...
  is-active|is-failed|is-enabled UNIT...     status [UNIT...]
  show [-p PROP,...] [--value] UNIT...        cat UNIT...
  kill [-s SIGNAL] UNIT...   reset-failed [UNIT...]   daemon-reload
  list-units [--all]   list-unit-files   is-system-running`

func (m *Manager) warnReload(u *unit, fresh *Unit, errw *bytes.Buffer) {
	m.mu.Lock()
	need := u.needsReload(fresh)
	m.mu.Unlock()
	if need {
		fmt.Fprintf(errw, "Warning: The unit file, source configuration file or drop-ins of %s changed on disk. Run 'systemctl daemon-reload' to reload units.\n", u.name)
	}
}

// jobs runs start/stop/restart/reload-like verbs for each unit in turn.
func (m *Manager) jobs(verb string, names []string, o cmdOpts, errw *bytes.Buffer) int {
	code := codeOK
	for _, n := range names {
		u, fresh, err := m.get(n)
		if err != nil {
			fmt.Fprintf(errw, "Failed to %s %s: %v\n", verbWord(verb), normalizeName(n), err)
			code = codeFailed
			continue
		}
		m.warnReload(u, fresh, errw)
		run := func() error {
			return m.job(u, fresh, func() error {
				m.mu.Lock()
				active := u.active == "active" || u.active == "reloading" || u.active == "activating"
				m.mu.Unlock()
				switch verb {
				case "start":
					return m.start(u)
				case "stop":
					return m.stop(u)
				case "restart":
					if err := m.stop(u); err != nil {
						return err
					}
					return m.start(u)
				case "try-restart", "condrestart":
					if !active {
						return nil
					}
					if err := m.stop(u); err != nil {
						return err
					}
					return m.start(u)
				case "reload":
					return m.reload(u)
				case "force-reload", "reload-or-restart", "try-reload-or-restart", "reload-or-try-restart":
					m.mu.Lock()
					canReload := u.svc != nil && len(u.svc.ExecReload) > 0
					m.mu.Unlock()
					if !active {
						if verb == "reload-or-restart" {
							return m.start(u)
						}
						return nil
					}
					if canReload {
						return m.reload(u)
					}
					if err := m.stop(u); err != nil {
						return err
					}
					return m.start(u)
				}
				return nil
			})
		}
		if o.noBlock {
			m.mu.Lock()
			m.background(func() {
				if err := run(); err != nil {
					m.logf("%s %s: %v", verb, u.name, err)
				}
			})
			m.mu.Unlock()
			continue
		}
		if err := run(); err != nil {
			if c := m.jobErrorMessage(verb, u.name, fresh, err, errw); c > code {
				code = c
			}
		}
	}
	return code
}

func verbWord(verb string) string {
	switch verb {
	case "condrestart", "try-restart":
		return "try-restart"
	case "force-reload", "reload-or-restart", "try-reload-or-restart", "reload-or-try-restart":
		return "reload-or-restart"
	}
	return verb
}

func (m *Manager) jobErrorMessage(verb, name string, fresh *Unit, err error, errw *bytes.Buffer) int {
	var je *jobError
	if !errors.As(err, &je) {
		fmt.Fprintf(errw, "Failed to %s %s: %v\n", verbWord(verb), name, err)
		return codeFailed
	}
	switch je.kind {
	case "not-found":
		if verb == "stop" {
			fmt.Fprintf(errw, "Failed to stop %s: Unit %s not loaded.\n", name, name)
		} else {
			fmt.Fprintf(errw, "Failed to %s %s: Unit %s not found.\n", verbWord(verb), name, name)
		}
		return codeNotInstalled
	case "masked":
		fmt.Fprintf(errw, "Failed to %s %s: Unit %s is masked.\n", verbWord(verb), name, name)
		return codeFailed
	case "bad-setting":
		fmt.Fprintf(errw, "Failed to %s %s: Unit %s has a bad unit file setting.\nSee system logs and 'systemctl status %s' for details.\n", verbWord(verb), name, name, name)
		return codeFailed
	case "not-active":
		fmt.Fprintf(errw, "%s is not active, cannot reload.\n", name)
		return codeFailed
	case "no-reload":
		fmt.Fprintf(errw, "Failed to reload %s: Job type reload is not applicable for unit %s.\n", name, name)
		return codeFailed
	case "start-limit-hit":
		fmt.Fprintf(errw, "Job for %s failed because start of the service was attempted too often.\nSee \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\nTo force a start use \"systemctl reset-failed %s\"\nfollowed by \"systemctl start %s\" again.\n", name, name, name, name, name)
		return codeFailed
	}
	why := "the control process exited with error code"
	switch je.result {
	case "timeout":
		why = "a timeout was exceeded"
	case "resources":
		why = "of unavailable resources or another system error"
	case "protocol":
		why = "the service did not take the steps required by its unit configuration"
	case "signal":
		why = "a fatal signal was delivered to the control process"
	}
	fmt.Fprintf(errw, "Job for %s failed because %s.\nSee \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n", name, why, name, name)
	return codeFailed
}

func (m *Manager) enableCmd(verb string, names []string, o cmdOpts, errw *bytes.Buffer) int {
	code := codeOK
	var loaded []*Unit
	for _, n := range names {
		u, err := m.fs.load(n)
		if err != nil {
			fmt.Fprintf(errw, "Failed to %s unit: %v\n", verb, err)
			return codeFailed
		}
		if !u.Found() {
			fmt.Fprintf(errw, "Failed to %s unit: Unit file %s does not exist.\n", verb, u.Requested)
			return codeFailed
		}
		loaded = append(loaded, u)
		// Also= units are enabled and disabled along with this one.
		for _, also := range install(u).Also {
			if a, err := m.fs.load(also); err == nil && a.Found() {
				loaded = append(loaded, a)
			}
		}
	}
	noInstall := false
	for _, u := range loaded {
		if verb == "disable" || verb == "reenable" {
			msgs, err := m.fs.disable(u)
			for _, s := range msgs {
				fmt.Fprintln(errw, s)
			}
			if err != nil {
				fmt.Fprintf(errw, "Failed to disable unit: %v\n", err)
				return codeFailed
			}
		}
		if verb == "enable" || verb == "reenable" {
			msgs, err := m.fs.enable(u)
			for _, s := range msgs {
				fmt.Fprintln(errw, s)
			}
			if errors.Is(err, errNoInstall) {
				noInstall = true
			} else if err != nil {
				fmt.Fprintf(errw, "Failed to enable unit: %v\n", err)
				return codeFailed
			}
		}
	}
	if noInstall {
		fmt.Fprint(errw, noInstallWarning)
	}
	m.daemonReload() // systemctl enable/disable reload the manager
	if o.now {
		jobVerb := "start"
		if verb == "disable" {
			jobVerb = "stop"
		} else if verb == "reenable" {
			jobVerb = "restart"
		}
		code = m.jobs(jobVerb, names, cmdOpts{noBlock: o.noBlock}, errw)
	}
	return code
}

const noInstallWarning = `The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled or disabled using systemctl.
 
Possible reasons for having this kind of units are:
• A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
• A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
• A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
• In case of template units, the unit is meant to be enabled with some
  instance name specified.
`

func (m *Manager) maskCmd(verb string, names []string, o cmdOpts, errw *bytes.Buffer) int {
	for _, n := range names {
		var msg string
		var err error
		if verb == "mask" {
			msg, err = m.fs.mask(n)
		} else {
			msg, err = m.fs.unmask(n)
		}
		if msg != "" {
			fmt.Fprintln(errw, msg)
		}
		if err != nil {
			fmt.Fprintf(errw, "Failed to %s unit: %v\n", verb, err)
			return codeFailed
		}
	}
	m.daemonReload()
	if o.now && verb == "mask" {
		return m.jobs("stop", names, cmdOpts{}, errw)
	}
	return codeOK
}

// state returns the runtime view of a unit without changing it.
func (m *Manager) state(name string) (*unit, *Unit, error) {
	fresh, err := m.fs.load(name)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.units[fresh.Name]
	if u == nil {
		u = &unit{name: fresh.Name, active: "inactive", sub: "dead", result: "success"}
	}
	return u, fresh, nil
}

func (m *Manager) isActive(verb string, names []string, o cmdOpts, out *bytes.Buffer) int {
	code := codeNotRunning
	if verb == "is-failed" {
		code = codeFailed
	}
	for _, n := range names {
		u, _, err := m.state(n)
		active := "inactive"
		if err == nil {
			m.mu.Lock()
			active = u.active
			m.mu.Unlock()
		}
		if !o.quiet {
			fmt.Fprintln(out, active)
		}
		if verb == "is-active" && (active == "active" || active == "reloading") || verb == "is-failed" && active == "failed" {
			code = codeOK
		}
	}
	return code
}

func (m *Manager) isEnabled(names []string, o cmdOpts, out, errw *bytes.Buffer) int {
	code := codeFailed
	for _, n := range names {
		u, err := m.fs.load(n)
		if err != nil || !u.Found() {
			fmt.Fprintf(errw, "Failed to get unit file state for %s: No such file or directory\n", normalizeName(n))
			return codeFailed
		}
		st := m.fs.unitFileState(u)
		if !o.quiet {
			fmt.Fprintln(out, st)
		}
		switch st {
		case "enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient":
			code = codeOK
		}
	}
	return code
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("Mon 2006-01-02 15:04:05 MST")
}

func ago(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < time.Second {
		return "now"
	}
	return strings.TrimSuffix(strings.Replace(d.String(), "m", "min ", 1), " ") + " ago"
}

func (m *Manager) status(names []string, o cmdOpts, out, errw *bytes.Buffer) int {
	if len(names) == 0 {
		m.mu.Lock()
		n := len(m.units)
		m.mu.Unlock()
		fmt.Fprintf(out, "● %s\n    State: running\n    Units: %d loaded (meshx lab stand-in for systemd)\n", m.host, n)
		return codeOK
	}
	code := codeOK
	for i, n := range names {
		if i > 0 {
			fmt.Fprintln(out)
		}
		u, fresh, err := m.state(n)
		if err != nil {
			fmt.Fprintf(errw, "Failed to get properties: %v\n", err)
			return codeFailed
		}
		m.mu.Lock()
		known := m.units[u.name] != nil && u.active != "inactive"
		def := u.effective(fresh)
		need := u.needsReload(fresh)
		s := u.snap()
		m.mu.Unlock()
		if !def.Found() && !known {
			fmt.Fprintf(errw, "Unit %s could not be found.\n", normalizeName(n))
			code = codeNoSuchUnit
			continue
		}
		desc := def.Value("Unit", "Description")
		bullet := "○"
		switch s.active {
		case "active", "reloading", "activating", "deactivating":
			bullet = "●"
		case "failed":
			bullet = "×"
		}
		if desc != "" {
			fmt.Fprintf(out, "%s %s - %s\n", bullet, s.name, desc)
		} else {
			fmt.Fprintf(out, "%s %s\n", bullet, s.name)
		}
		switch {
		case def.Masked:
			fmt.Fprintf(out, "     Loaded: masked (Reason: Unit %s is masked.)\n", s.name)
		case !def.Found():
			fmt.Fprintf(out, "     Loaded: not-found (Reason: Unit %s not found.)\n", s.name)
		default:
			fmt.Fprintf(out, "     Loaded: loaded (%s; %s; preset: enabled)\n", def.Path, m.fs.unitFileState(def))
		}
		if len(def.DropIns) > 0 {
			fmt.Fprintf(out, "    Drop-In: %s\n", strings.Join(def.DropIns, ", "))
		}
		active := s.active
		if s.active != "failed" {
			active += " (" + s.sub + ")"
		}
		if s.result != "success" && s.result != "" && (s.active == "failed" || s.sub == "auto-restart") {
			active += " (Result: " + s.result + ")"
		}
		if !s.since.IsZero() {
			active += " since " + fmtTime(s.since) + "; " + ago(s.since)
		}
		fmt.Fprintf(out, "     Active: %s\n", active)
		if s.condition != "" {
			fmt.Fprintf(out, "  Condition: start condition failed\n             └─ ConditionPathExists=%s was not met\n", s.condition)
		}
		switch {
		case s.mainPID > 0:
			comm := s.mainCmd
			if st, err := readStat(s.mainPID); err == nil {
				comm = st.comm
			}
			fmt.Fprintf(out, "   Main PID: %d (%s)\n", s.mainPID, comm)
		case s.mainExit != nil && s.lastMain > 0:
			fmt.Fprintf(out, "   Main PID: %d (%s)\n", s.lastMain, s.mainExit)
		}
		if need {
			fmt.Fprintf(out, "\nWarning: The unit file, source configuration file or drop-ins of %s changed on disk. Run 'systemctl daemon-reload' to reload units.\n", s.name)
		}
		if tail := tailLines(m.fs.p(m.LogPath(s.name)), o.lines); tail != "" {
			fmt.Fprintf(out, "\n%s", tail)
		}
		if s.active != "active" && s.active != "reloading" && code == codeOK {
			code = codeNotRunning
		}
	}
	return code
}

func tailLines(file string, n int) string {
	if n <= 0 {
		return ""
	}
	b, err := os.ReadFile(file)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "") + "\n"
}

var showOrder = []string{
	"Type", "Restart", "MainPID", "ExecMainPID", "ExecMainCode", "ExecMainStatus", "Result", "NRestarts",
	"Id", "Names", "Description", "LoadState", "ActiveState", "SubState", "FragmentPath", "DropInPaths",
	"UnitFileState", "NeedDaemonReload", "StateChangeTimestamp", "User", "Group",
}

func (m *Manager) show(names []string, o cmdOpts, out, errw *bytes.Buffer) int {
	if len(names) == 0 {
		props := map[string]string{"Version": "252 (252-meshx-lab)", "SystemState": "running"}
		m.printProps(props, []string{"Version", "SystemState"}, o, out)
		return codeOK
	}
	for i, n := range names {
		if i > 0 && !o.value {
			fmt.Fprintln(out)
		}
		u, fresh, err := m.state(n)
		if err != nil {
			fmt.Fprintf(errw, "Failed to get properties: %v\n", err)
			return codeFailed
		}
		m.mu.Lock()
		def := u.effective(fresh)
		need := u.needsReload(fresh)
		s := u.snap()
		svc := u.svc
		m.mu.Unlock()
		if svc == nil || def != s.def {
			svc, _ = def.service()
		}
		load := "loaded"
		switch {
		case def.Masked:
			load = "masked"
		case !def.Found():
			load = "not-found"
		}
		p := map[string]string{
			"Id": s.name, "Names": s.name, "Description": def.Value("Unit", "Description"),
			"LoadState": load, "ActiveState": s.active, "SubState": s.sub,
			"FragmentPath": def.Path, "DropInPaths": strings.Join(def.DropIns, " "),
			"UnitFileState": m.fs.unitFileState(def), "NeedDaemonReload": yesNo(need),
			"MainPID": strconv.Itoa(s.mainPID), "ExecMainPID": strconv.Itoa(s.lastMain),
			"Result": s.result, "NRestarts": strconv.Itoa(s.nRestarts),
			"StateChangeTimestamp": fmtTime(s.since), "ExecMainCode": "0", "ExecMainStatus": "0",
		}
		if def.Masked {
			p["FragmentPath"] = ""
		}
		if s.mainExit != nil {
			if s.mainExit.Exited {
				p["ExecMainCode"], p["ExecMainStatus"] = "1", strconv.Itoa(s.mainExit.Code)
			} else {
				p["ExecMainCode"], p["ExecMainStatus"] = "2", strconv.Itoa(int(s.mainExit.Signal))
			}
		}
		if svc != nil {
			p["Type"], p["Restart"], p["User"], p["Group"] = svc.Type, svc.Restart, svc.User, svc.Group
		}
		order := showOrder
		if len(o.props) > 0 {
			order = o.props
		}
		m.printProps(p, order, o, out)
	}
	return codeOK
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (m *Manager) printProps(p map[string]string, order []string, o cmdOpts, out *bytes.Buffer) {
	for _, k := range order {
		v := p[k]
		if o.value {
			fmt.Fprintln(out, v)
		} else {
			fmt.Fprintf(out, "%s=%s\n", k, v)
		}
	}
}

func (m *Manager) cat(names []string, out, errw *bytes.Buffer) int {
	for i, n := range names {
		u, err := m.fs.load(n)
		if err != nil || !u.Found() {
			fmt.Fprintf(errw, "No files found for %s.\n", normalizeName(n))
			return codeFailed
		}
		if u.Masked {
			fmt.Fprintf(errw, "Unit %s is masked.\n", u.Name)
			return codeFailed
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		for _, p := range append([]string{u.Path}, u.DropIns...) {
			b, err := os.ReadFile(m.fs.p(p))
			if err != nil {
				continue
			}
			fmt.Fprintf(out, "# %s\n%s", p, b)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				fmt.Fprintln(out)
			}
		}
	}
	return codeOK
}

func (m *Manager) resetFailed(names []string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for n, u := range m.units {
		match := len(names) == 0
		for _, want := range names {
			if normalizeName(want) == n {
				match = true
			}
		}
		if match && u.active == "failed" {
			u.active, u.sub, u.result = "inactive", "dead", "success"
			u.starts = nil
		} else if match {
			u.starts = nil
		}
	}
	return codeOK
}

func (m *Manager) kill(names []string, o cmdOpts, errw *bytes.Buffer) int {
	for _, n := range names {
		u, _, err := m.state(n)
		if err != nil {
			fmt.Fprintf(errw, "Failed to kill unit %s: %v\n", normalizeName(n), err)
			return codeFailed
		}
		m.mu.Lock()
		pid := u.mainPID
		sessions := append([]int(nil), u.sessions...)
		active := u.active
		m.mu.Unlock()
		if active == "inactive" || active == "failed" {
			fmt.Fprintf(errw, "Failed to kill unit %s: No main process to kill\n", u.name)
			return codeFailed
		}
		if o.killWhom == "main" {
			if pid == 0 {
				fmt.Fprintf(errw, "Failed to kill unit %s: No main process to kill\n", u.name)
				return codeFailed
			}
			_ = syscall.Kill(pid, o.signal)
			continue
		}
		signalGroup(sessions, pid, o.signal)
	}
	return codeOK
}

func (m *Manager) listUnits(o cmdOpts, out *bytes.Buffer) int {
	m.mu.Lock()
	names := make([]string, 0, len(m.units))
	for n, u := range m.units {
		if o.all || u.active != "inactive" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	fmt.Fprintf(out, "  %-40s %-9s %-10s %-12s %s\n", "UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION")
	for _, n := range names {
		u := m.units[n]
		desc := ""
		if u.def != nil {
			desc = u.def.Value("Unit", "Description")
		}
		fmt.Fprintf(out, "  %-40s %-9s %-10s %-12s %s\n", n, "loaded", u.active, u.sub, desc)
	}
	m.mu.Unlock()
	fmt.Fprintf(out, "\n%d loaded units listed.\n", len(names))
	return codeOK
}

func (m *Manager) listUnitFiles(out *bytes.Buffer) int {
	seen := map[string]bool{}
	var names []string
	for _, d := range unitDirs {
		ents, err := os.ReadDir(m.fs.p(d))
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || seen[n] || unitSuffix(n) == "" || !strings.Contains(".service.socket.target.timer", unitSuffix(n)) {
				continue
			}
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	fmt.Fprintf(out, "%-45s %-15s %s\n", "UNIT FILE", "STATE", "PRESET")
	for _, n := range names {
		u, err := m.fs.load(n)
		if err != nil {
			continue
		}
		st := m.fs.unitFileState(u)
		if u.Requested != u.Name {
			st = "alias"
		}
		fmt.Fprintf(out, "%-45s %-15s %s\n", path.Base(n), st, "enabled")
	}
	fmt.Fprintf(out, "\n%d unit files listed.\n", len(names))
	return codeOK
}
