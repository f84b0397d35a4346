package svcmgr

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// unitDirs are the directories searched for unit files and drop-ins,
// highest priority first (systemd's system search path on Debian).
var unitDirs = []string{
	"/etc/systemd/system",
	"/run/systemd/system",
	"/usr/local/lib/systemd/system",
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
}

// configDir is where enable, disable and mask create and remove symlinks.
const configDir = "/etc/systemd/system"

var unitSuffixes = []string{".service", ".socket", ".target", ".timer", ".path", ".mount", ".automount", ".swap", ".slice", ".scope", ".device"}

// fsys maps paths as the VM sees them onto the file system the manager runs
// in. In a VM the root is "/"; tests use a temporary directory.
type fsys struct{ root string }

func (f fsys) p(vmPath string) string {
	if f.root == "/" || f.root == "" {
		return vmPath
	}
	return filepath.Join(f.root, vmPath)
}

// Unit is a unit file as systemd merges it: its fragment and drop-ins.
type Unit struct {
	Name      string   // canonical name, e.g. "ssh.service" for "sshd"
	Requested string   // the name asked for, normalised ("sshd.service")
	Instance  string   // instance of a template unit ("bar" for foo@bar.service)
	Path      string   // fragment path inside the VM; "" when not found
	DropIns   []string // drop-in paths in the order applied
	Masked    bool

	entries []entry
	stamp   string // fingerprint of the files read, for NeedDaemonReload
}

type entry struct{ section, key, value string }

// Found reports whether a fragment (or a mask) exists for the unit.
func (u *Unit) Found() bool { return u.Path != "" || u.Masked }

// Values returns the values assigned to section.key in order, applying
// systemd's rule that an empty assignment resets the list.
func (u *Unit) Values(section, key string) []string {
	var vs []string
	for _, e := range u.entries {
		if e.section != section || e.key != key {
			continue
		}
		if e.value == "" {
			vs = nil
			continue
		}
		vs = append(vs, e.value)
	}
	return vs
}

// Value returns the last value assigned to section.key, or "".
func (u *Unit) Value(section, key string) string {
	v := ""
	for _, e := range u.entries {
		if e.section == section && e.key == key {
			v = e.value
		}
	}
	return v
}

// normalizeName appends ".service" to a name without a unit type suffix.
func normalizeName(name string) string {
	name = path.Base(name)
	for _, s := range unitSuffixes {
		if strings.HasSuffix(name, s) {
			return name
		}
	}
	return name + ".service"
}

func unitSuffix(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// lookup returns the first unit directory holding name.
func (f fsys) lookup(name string) (string, bool) {
	for _, d := range unitDirs {
		if _, err := os.Lstat(f.p(path.Join(d, name))); err == nil {
			return d, true
		}
	}
	return "", false
}

// resolveLinks follows symlinks of a VM path inside the VM root. It returns
// the final VM path.
func (f fsys) resolveLinks(p string) (string, error) {
	for i := 0; i < 32; i++ {
		fi, err := os.Lstat(f.p(p))
		if err != nil {
			return p, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(f.p(p))
		if err != nil {
			return p, err
		}
		if t == "/dev/null" {
			return t, nil
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		p = path.Clean(t)
	}
	return p, fmt.Errorf("%s: too many levels of symbolic links", p)
}

// load reads a unit from disk: fragment, aliases, template and drop-ins.
// A unit that does not exist loads without error and with Found() false.
func (f fsys) load(requested string) (*Unit, error) {
	name := normalizeName(requested)
	u := &Unit{Name: name, Requested: name}
	lookupName := name
	dir, ok := f.lookup(name)
	if !ok {
		// foo@bar.service falls back to the template foo@.service.
		if at := strings.IndexByte(name, '@'); at > 0 {
			suf := unitSuffix(name)
			inst := strings.TrimSuffix(name[at+1:], suf)
			if inst != "" {
				tmpl := name[:at+1] + suf
				if d, ok2 := f.lookup(tmpl); ok2 {
					dir, ok, lookupName, u.Instance = d, true, tmpl, inst
				}
			}
		}
	}
	var stamp strings.Builder
	if ok {
		final, err := f.resolveLinks(path.Join(dir, lookupName))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if final == "/dev/null" {
			u.Masked = true
			u.Path = path.Join(dir, lookupName)
			fmt.Fprintf(&stamp, "masked %s\n", u.Path)
			u.stamp = stamp.String()
			return u, nil
		}
		if b := path.Base(final); b != lookupName && unitSuffix(b) == unitSuffix(name) && u.Instance == "" {
			u.Name = b // name was an alias
		}
		data, err := os.ReadFile(f.p(final))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		u.Path = final
		stampFile(&stamp, f.p(final), final)
		parseInto(u, string(data))
	}
	// Drop-ins of every name the unit goes by; a file name in a higher
	// priority directory hides the same name below it.
	names := []string{u.Name}
	if name != u.Name {
		names = append(names, name)
	}
	if lookupName != name {
		names = append(names, lookupName)
	}
	byBase := map[string]string{}
	for _, d := range unitDirs {
		for _, n := range names {
			ents, err := os.ReadDir(f.p(path.Join(d, n+".d")))
			if err != nil {
				continue
			}
			for _, e := range ents {
				if !strings.HasSuffix(e.Name(), ".conf") {
					continue
				}
				if _, seen := byBase[e.Name()]; !seen {
					byBase[e.Name()] = path.Join(d, n+".d", e.Name())
				}
			}
		}
	}
	bases := make([]string, 0, len(byBase))
	for b := range byBase {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	for _, b := range bases {
		p := byBase[b]
		data, err := os.ReadFile(f.p(p))
		if err != nil {
			continue
		}
		u.DropIns = append(u.DropIns, p)
		stampFile(&stamp, f.p(p), p)
		parseInto(u, string(data))
	}
	u.stamp = stamp.String()
	return u, nil
}

func stampFile(b *strings.Builder, hostPath, vmPath string) {
	fi, err := os.Stat(hostPath)
	if err != nil {
		fmt.Fprintf(b, "%s missing\n", vmPath)
		return
	}
	fmt.Fprintf(b, "%s %d %d\n", vmPath, fi.ModTime().UnixNano(), fi.Size())
}

// parseInto appends the assignments of one unit file to u.
func parseInto(u *Unit, data string) {
	section := ""
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if next != "" && (next[0] == '#' || next[0] == ';') {
				continue
			}
			line = strings.TrimSuffix(line, "\\") + " " + next
		}
		if line[0] == '[' && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		u.entries = append(u.entries, entry{section, strings.TrimSpace(k), strings.TrimSpace(v)})
	}
}

// service is the [Service] section interpreted.
type service struct {
	Type                     string
	ExecStartPre             []string
	ExecStart                []string
	ExecStartPost            []string
	ExecStop                 []string
	ExecStopPost             []string
	ExecReload               []string
	PIDFile                  string
	Restart                  string
	RestartSec               time.Duration
	RestartPreventExitStatus []string
	SuccessExitStatus        []string
	Environment              []string // KEY=VALUE
	EnvironmentFiles         []string // may start with "-"
	User, Group              string
	WorkingDirectory         string
	RuntimeDirectory         []string
	RuntimeDirectoryMode     os.FileMode
	KillMode                 string
	KillSignal               syscall.Signal
	TimeoutStart             time.Duration
	TimeoutStop              time.Duration
	RemainAfterExit          bool
	StartLimitInterval       time.Duration
	StartLimitBurst          int
	Conditions               []string // ConditionPathExists values
	Description              string
}

// forever stands for systemd's "infinity" time span.
const forever = 100 * 365 * 24 * time.Hour

func (u *Unit) service() (*service, error) {
	s := &service{
		Type:                 "simple",
		Restart:              "no",
		RestartSec:           100 * time.Millisecond,
		KillMode:             "control-group",
		KillSignal:           syscall.SIGTERM,
		TimeoutStart:         90 * time.Second,
		TimeoutStop:          90 * time.Second,
		RuntimeDirectoryMode: 0o755,
		StartLimitInterval:   10 * time.Second,
		StartLimitBurst:      5,
		Description:          u.Value("Unit", "Description"),
	}
	const sv = "Service"
	if v := u.Value(sv, "Type"); v != "" {
		s.Type = v
	}
	if s.Type == "oneshot" {
		s.TimeoutStart = forever
	}
	s.ExecStartPre = u.Values(sv, "ExecStartPre")
	s.ExecStart = u.Values(sv, "ExecStart")
	s.ExecStartPost = u.Values(sv, "ExecStartPost")
	s.ExecStop = u.Values(sv, "ExecStop")
	s.ExecStopPost = u.Values(sv, "ExecStopPost")
	s.ExecReload = u.Values(sv, "ExecReload")
	s.PIDFile = u.Value(sv, "PIDFile")
	if v := u.Value(sv, "Restart"); v != "" {
		s.Restart = v
	}
	var err error
	span := func(key string, dst *time.Duration, sections ...string) {
		for _, sec := range sections {
			if v := u.Value(sec, key); v != "" && err == nil {
				var d time.Duration
				d, err = parseSpan(v)
				if err != nil {
					err = fmt.Errorf("%s: %s=%s: %w", u.Name, key, v, err)
					return
				}
				*dst = d
			}
		}
	}
	span("RestartSec", &s.RestartSec, sv)
	span("TimeoutStartSec", &s.TimeoutStart, sv)
	span("TimeoutStopSec", &s.TimeoutStop, sv)
	if v := u.Value(sv, "TimeoutSec"); v != "" {
		span("TimeoutSec", &s.TimeoutStart, sv)
		span("TimeoutSec", &s.TimeoutStop, sv)
	}
	span("StartLimitInterval", &s.StartLimitInterval, sv, "Unit")
	span("StartLimitIntervalSec", &s.StartLimitInterval, "Unit")
	if err != nil {
		return nil, err
	}
	for _, sec := range []string{sv, "Unit"} {
		if v := u.Value(sec, "StartLimitBurst"); v != "" {
			n, e := strconv.Atoi(v)
			if e != nil {
				return nil, fmt.Errorf("%s: StartLimitBurst=%s: %w", u.Name, v, e)
			}
			s.StartLimitBurst = n
		}
	}
	for _, v := range u.Values(sv, "RestartPreventExitStatus") {
		s.RestartPreventExitStatus = append(s.RestartPreventExitStatus, strings.Fields(v)...)
	}
	for _, v := range u.Values(sv, "SuccessExitStatus") {
		s.SuccessExitStatus = append(s.SuccessExitStatus, strings.Fields(v)...)
	}
	for _, v := range u.Values(sv, "Environment") {
		words, e := splitWords(v, nil, false)
		if e != nil {
			return nil, fmt.Errorf("%s: Environment=%s: %w", u.Name, v, e)
		}
		for _, w := range words {
			if strings.Contains(w, "=") {
				s.Environment = append(s.Environment, w)
			}
		}
	}
	s.EnvironmentFiles = u.Values(sv, "EnvironmentFile")
	s.User = u.Value(sv, "User")
	s.Group = u.Value(sv, "Group")
	s.WorkingDirectory = u.Value(sv, "WorkingDirectory")
	for _, v := range u.Values(sv, "RuntimeDirectory") {
		s.RuntimeDirectory = append(s.RuntimeDirectory, strings.Fields(v)...)
	}
	if v := u.Value(sv, "RuntimeDirectoryMode"); v != "" {
		m, e := strconv.ParseUint(v, 8, 32)
		if e != nil {
			return nil, fmt.Errorf("%s: RuntimeDirectoryMode=%s: %w", u.Name, v, e)
		}
		s.RuntimeDirectoryMode = os.FileMode(m)
	}
	if v := u.Value(sv, "KillMode"); v != "" {
		s.KillMode = v
	}
	if v := u.Value(sv, "KillSignal"); v != "" {
		sig, e := parseSignal(v)
		if e != nil {
			return nil, fmt.Errorf("%s: KillSignal=%s: %w", u.Name, v, e)
		}
		s.KillSignal = sig
	}
	s.RemainAfterExit = parseBool(u.Value(sv, "RemainAfterExit"))
	s.Conditions = u.Values("Unit", "ConditionPathExists")
	if len(s.ExecStart) == 0 && s.Type != "oneshot" {
		return nil, fmt.Errorf("%s: service has no ExecStart= setting, refusing", u.Name)
	}
	if s.Type != "oneshot" && len(s.ExecStart) > 1 {
		return nil, fmt.Errorf("%s: service has more than one ExecStart= setting, which is only allowed for Type=oneshot services, refusing", u.Name)
	}
	return s, nil
}

func parseBool(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}

// parseSpan parses a systemd time span ("10", "100ms", "1min 30s", "infinity").
// A bare number is seconds.
func parseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "infinity" {
		return forever, nil
	}
	var total time.Duration
	rest := s
	if rest == "" {
		return 0, fmt.Errorf("empty time span")
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid time span %q", s)
		}
		num, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid time span %q", s)
		}
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		unit := rest[:j]
		rest = rest[j:]
		var mul time.Duration
		switch unit {
		case "", "s", "sec", "second", "seconds":
			mul = time.Second
		case "us", "usec", "µs":
			mul = time.Microsecond
		case "ms", "msec":
			mul = time.Millisecond
		case "m", "min", "minute", "minutes":
			mul = time.Minute
		case "h", "hr", "hour", "hours":
			mul = time.Hour
		case "d", "day", "days":
			mul = 24 * time.Hour
		default:
			return 0, fmt.Errorf("invalid time unit %q in %q", unit, s)
		}
		total += time.Duration(num * float64(mul))
	}
	return total, nil
}

func parseSignal(v string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", v)
}

// signalName returns "KILL" for SIGKILL.
func signalName(s syscall.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return strings.TrimPrefix(n, "SIG")
	}
	return strconv.Itoa(int(s))
}

// execLine is one parsed Exec*= command.
type execLine struct {
	Path          string
	Argv          []string
	IgnoreFailure bool
	Raw           string
}

// parseExecLine parses an Exec*= value: the "-@:+!" prefixes, specifiers,
// quoting, and environment variables ("$FOO" alone is split at white space,
// "${FOO}" is substituted as is).
func parseExecLine(raw string, env map[string]string, spec func(byte) (string, bool)) (execLine, error) {
	l := execLine{Raw: raw}
	s := strings.TrimSpace(raw)
	argv0 := false
	expand := true
	for s != "" && strings.IndexByte("-@:+!", s[0]) >= 0 {
		switch s[0] {
		case '-':
			l.IgnoreFailure = true
		case '@':
			argv0 = true
		case ':':
			expand = false
		}
		s = s[1:]
	}
	s = expandSpecifiers(s, spec)
	var e map[string]string
	if expand {
		e = env
		if e == nil {
			e = map[string]string{}
		}
	}
	words, err := splitWords(s, e, expand)
	if err != nil {
		return l, err
	}
	if len(words) == 0 {
		return l, fmt.Errorf("empty command line %q", raw)
	}
	l.Path = words[0]
	if argv0 {
		if len(words) < 2 {
			return l, fmt.Errorf("%q: '@' needs an argv[0]", raw)
		}
		l.Argv = words[1:]
	} else {
		l.Argv = words
	}
	return l, nil
}

func expandSpecifiers(s string, spec func(byte) (string, bool)) string {
	if spec == nil || !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			if s[i+1] == '%' {
				b.WriteByte('%')
				i++
				continue
			}
			if v, ok := spec(s[i+1]); ok {
				b.WriteString(v)
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isVarStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isVarChar(c byte) bool { return isVarStart(c) || c >= '0' && c <= '9' }

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	}
	return c
}

// splitWords splits a command line into words the way systemd does. With
// expand, "$NAME" as a whole unquoted word becomes the variable's value
// split at white space, "${NAME}" anywhere becomes its value, and "$$" a
// dollar sign.
func splitWords(s string, env map[string]string, expand bool) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return words, nil
		}
		if expand && s[i] == '$' && i+1 < len(s) && isVarStart(s[i+1]) {
			j := i + 1
			for j < len(s) && isVarChar(s[j]) {
				j++
			}
			if j == len(s) || isSpace(s[j]) {
				words = append(words, strings.Fields(env[s[i+1:j]])...)
				i = j
				continue
			}
		}
		var b strings.Builder
		for i < len(s) && !isSpace(s[i]) {
			c := s[i]
			switch {
			case c == '"' || c == '\'':
				q := c
				i++
				for i < len(s) && s[i] != q {
					if s[i] == '\\' && i+1 < len(s) {
						b.WriteByte(unescape(s[i+1]))
						i += 2
						continue
					}
					if expand && q == '"' && s[i] == '$' {
						if n := expandVar(s[i:], env, &b); n > 0 {
							i += n
							continue
						}
					}
					b.WriteByte(s[i])
					i++
				}
				if i >= len(s) {
					return nil, fmt.Errorf("unbalanced quotes in %q", s)
				}
				i++
			case c == '\\' && i+1 < len(s):
				b.WriteByte(unescape(s[i+1]))
				i += 2
			case expand && c == '$':
				if n := expandVar(s[i:], env, &b); n > 0 {
					i += n
				} else {
					b.WriteByte(c)
					i++
				}
			default:
				b.WriteByte(c)
				i++
			}
		}
		words = append(words, b.String())
	}
}

// expandVar expands "${NAME}" or "$$" at the start of s into b and returns
// the number of bytes consumed, or 0.
func expandVar(s string, env map[string]string, b *strings.Builder) int {
	if strings.HasPrefix(s, "$$") {
		b.WriteByte('$')
		return 2
	}
	if strings.HasPrefix(s, "${") {
		if end := strings.IndexByte(s, '}'); end > 2 {
			b.WriteString(env[s[2:end]])
			return end + 1
		}
	}
	return 0
}

// parseEnvFile parses an EnvironmentFile: KEY=VALUE lines, comments, and
// single or double quoted values.
func parseEnvFile(data string) []string {
	var out []string
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + strings.TrimSpace(lines[i])
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if k == "" || !isVarStart(k[0]) || strings.IndexFunc(k, func(r rune) bool { return r > 127 || !isVarChar(byte(r)) }) >= 0 {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			q := v[0]
			v = v[1 : len(v)-1]
			if q == '"' {
				var b strings.Builder
				for j := 0; j < len(v); j++ {
					if v[j] == '\\' && j+1 < len(v) {
						j++
					}
					b.WriteByte(v[j])
				}
				v = b.String()
			}
		}
		out = append(out, k+"="+v)
	}
	return out
}
