package vm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// fileStat is what the observe script says about one path.
type fileStat struct {
	state        string // "f" regular, "-" missing, "d", "l", "o" other, "?" unreadable
	sha256       string
	mode         string // "0644"
	user, group  string
	uid, gid     string
	size         int64
	content      []byte
	contentKnown bool
}

func (f fileStat) exists() bool { return f.state != "-" }

// fingerprint is plans.Fingerprint of the file's bytes, from its hash.
func (f fileStat) fingerprint() string { return plans.FingerprintPrefix + f.sha256[:12] }

type pkgStat struct {
	installed bool
	version   string
	status    string
}

type unitStat struct{ enabled, active string }

func (u unitStat) exists() bool { return u.enabled != "none" && u.enabled != "not-found" }

// isEnabled reports whether the unit needs no `systemctl enable`.
func (u unitStat) isEnabled() bool {
	for _, s := range strings.Split(enabledStates, "|") {
		if u.enabled == s {
			return true
		}
	}
	return false
}

// observation is the parsed output of the observe script.
type observation struct {
	files    map[string]*fileStat // by path
	lines    map[string]string
	packages map[string]pkgStat // by name
	units    map[string]unitStat
	manifest []byte // nil when there is none
	// entries maps a manifest id (m<n>) to its type and name.
	entries map[string][2]string
	// others maps type+"\x00"+name to another environment claiming it.
	others map[string]string
}

// file returns what was observed of path: missing when nothing was said.
func (o *observation) file(path string) *fileStat {
	if f, ok := o.files[path]; ok {
		return f
	}
	return &fileStat{state: "-"}
}

func parseObservation(out []byte) (*observation, error) {
	o := &observation{
		files: map[string]*fileStat{}, lines: map[string]string{},
		packages: map[string]pkgStat{}, units: map[string]unitStat{},
		entries: map[string][2]string{}, others: map[string]string{},
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	section := ""
	complete := false
	var unitIDs []string // of the #U section, in systemctl's order
	var shown []map[string]string
	for sc.Scan() {
		line := sc.Text()
		switch section {
		case "#U":
			if line == "#E" {
				if err := o.addShown(unitIDs, shown); err != nil {
					return nil, err
				}
				section = ""
				continue
			}
			if line == "" {
				if len(shown) > 0 && len(shown[len(shown)-1]) > 0 {
					shown = append(shown, map[string]string{})
				}
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("bad systemctl show line %q", line)
			}
			if len(shown) == 0 {
				shown = append(shown, map[string]string{})
			}
			shown[len(shown)-1][k] = v
			continue
		case "#S":
			if line == "#H" {
				section = line
				continue
			}
			if strings.HasPrefix(line, "C ") {
				b64, path, _ := strings.Cut(line[2:], " ")
				b, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					return nil, fmt.Errorf("bad content of %q: %w", path, err)
				}
				f := o.files[path]
				if f == nil {
					return nil, fmt.Errorf("content of %q before its stat", path)
				}
				f.content, f.contentKnown = b, true
				continue
			}
			f := strings.SplitN(line, " ", 8)
			if len(f) != 8 {
				return nil, fmt.Errorf("bad stat line %q", line)
			}
			raw, err1 := strconv.ParseUint(f[0], 16, 32)
			perm, err2 := strconv.ParseUint(f[1], 8, 32)
			size, err3 := strconv.ParseInt(f[6], 10, 64)
			if err := firstErr(err1, err2, err3); err != nil {
				return nil, fmt.Errorf("bad stat line %q", line)
			}
			st := &fileStat{state: "o", mode: modeString(uint32(perm)), user: f[2], group: f[3], uid: f[4], gid: f[5], size: size}
			switch raw & 0o170000 {
			case 0o100000:
				st.state = "?" // regular, until its hash arrives
			case 0o040000:
				st.state = "d"
			case 0o120000:
				st.state = "l"
			}
			o.files[f[7]] = st
			continue
		case "#H":
			if line == "Z" {
				complete = true
				section = ""
				continue
			}
			sum, path, ok := strings.Cut(line, "  ")
			f := o.files[path]
			if !ok || !sha256RE.MatchString(sum) || f == nil {
				return nil, fmt.Errorf("bad sha256sum line %q", line)
			}
			if f.state == "?" {
				f.state, f.sha256 = "f", sum
			}
			continue
		}
		tag, rest, _ := strings.Cut(line, " ")
		switch tag {
		case "#S":
			section = tag
		case "#U":
			section, unitIDs, shown = tag, strings.Fields(rest), nil
		case "L":
			id, v, _ := strings.Cut(rest, " ")
			o.lines[id] = v
		case "P":
			f := strings.Split(rest, "\t")
			if len(f) != 3 {
				return nil, fmt.Errorf("bad record %q", line)
			}
			ps := pkgStat{installed: strings.HasSuffix(f[1], " installed"), version: f[2], status: f[1]}
			// With several architectures, the installed one counts.
			if prev, ok := o.packages[f[0]]; !ok || !prev.installed {
				o.packages[f[0]] = ps
			}
		case "U":
			f := strings.Fields(rest)
			if len(f) != 3 {
				return nil, fmt.Errorf("bad record %q", line)
			}
			o.units[f[0]] = unitStat{enabled: f[1], active: f[2]}
		case "M":
			if rest != "-" {
				b, err := base64.StdEncoding.DecodeString(rest)
				if err != nil {
					return nil, fmt.Errorf("bad manifest record: %w", err)
				}
				o.manifest = b
			}
		case "K":
			f := strings.SplitN(rest, " ", 3)
			if len(f) != 3 {
				return nil, fmt.Errorf("bad record %q", line)
			}
			o.entries[f[0]] = [2]string{f[1], f[2]}
		case "X":
			f := strings.SplitN(rest, " ", 3)
			if len(f) == 3 {
				o.others[f[1]+"\x00"+f[2]] = f[0]
			}
		default:
			return nil, fmt.Errorf("unexpected output %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !complete {
		return nil, errors.New("output ended early")
	}
	return o, nil
}

// addShown records the units of a #U section: blocks are the KEY=VALUE
// blocks systemctl show printed, one per unit of ids in order. Keys are
// looked up by name, in whatever order systemctl printed them (real
// systemctl prints its own order, not the -p order). A unit without a unit
// file (systemd prints LoadState=not-found and an empty UnitFileState) has
// the state "none", as when is-enabled cannot answer. No output at all (no
// systemctl on the VM) means no unit exists.
func (o *observation) addShown(ids []string, blocks []map[string]string) error {
	if n := len(blocks); n > 0 && len(blocks[n-1]) == 0 {
		blocks = blocks[:n-1]
	}
	if len(blocks) == 0 {
		for _, id := range ids {
			o.units[id] = unitStat{enabled: "none", active: "none"}
		}
		return nil
	}
	if len(blocks) != len(ids) {
		return fmt.Errorf("systemctl show answered for %d units, asked for %d", len(blocks), len(ids))
	}
	for i, id := range ids {
		b := blocks[i]
		us := unitStat{enabled: b["UnitFileState"], active: b["ActiveState"]}
		if us.enabled == "" {
			us.enabled = "none"
		}
		if us.active == "" {
			us.active = "none"
		}
		o.units[id] = us
	}
	return nil
}

// unknownOutputs answers every Output with Unknown, so Render reveals the
// shape of a resource (an env file's key names) without its inputs.
type unknownOutputs struct{}

func (unknownOutputs) Output(plans.Address, string) (any, bool) { return plans.Unknown, true }

// observeItem is one requested resource and how it is read: an
// operation (lines, packages, units) or a file path.
type observeItem struct {
	res  *providers.Resource
	op   []string // "l PATH LINE", "p NAME", "u NAME"; nil for files
	path string   // files and env files
	text bool     // send the file's text back
	name string   // the object on the VM, as the manifest names it
	keys []string // env files: the managed keys
	// sensitive are the env-file keys whose desired values are
	// plans.Sensitive.
	sensitive map[string]bool
}

// planObserve validates the resources and turns them into operations.
func (p *Provider) planObserve(rs []providers.Resource) ([]observeItem, error) {
	items := make([]observeItem, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		if r.Addr.Block != "vm" || r.Addr.Name != p.host.Name || kindOfType[r.Addr.Type] != r.Kind {
			return nil, fmt.Errorf("%s: not a %s instance of vm.%s", r.Addr, r.Kind, p.host.Name)
		}
		in, ok := r.Private.(instance)
		if !ok {
			return nil, fmt.Errorf("%s: not built by package vm (Resource.Private is %T)", r.Addr, r.Private)
		}
		if err := in.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Addr, err)
		}
		it := observeItem{res: r}
		in.reading(&it)
		items = append(items, it)
	}
	return items, nil
}

// observeArgs are the observe script's arguments for items.
func (p *Provider) observeArgs(env string, items []observeItem) []string {
	var ops, files []string
	var want strings.Builder
	for _, it := range items {
		ops = append(ops, it.op...)
		if it.op == nil {
			files = append(files, it.path)
			want.WriteString(map[bool]string{false: "0", true: "1"}[it.text])
		}
	}
	args := append([]string{env, p.stateDir, want.String()}, ops...)
	return append(append(args, "--files"), files...)
}

// Observe reads every requested instance, the manifest and the orphans
// in one SSH session.
func (p *Provider) Observe(ctx context.Context, req providers.ObserveRequest) providers.ObserveResponse {
	fail := func(err error) providers.ObserveResponse { return providers.ObserveResponse{Err: err} }
	if err := validateEnvironment(req.Environment); err != nil {
		return fail(fmt.Errorf("vm.%s: %w", p.host.Name, err))
	}
	items, err := p.planObserve(req.Resources)
	if err != nil {
		return fail(err)
	}
	args := p.observeArgs(req.Environment, items)
	// Observing only reads, so it may run again on a new connection.
	var out []byte
	err = p.againIfCut(func() (err error) {
		out, err = p.runScript(ctx, p.timeout, observeScript, nil, args...)
		return err
	})
	if err != nil {
		return fail(fmt.Errorf("vm.%s: observe: %w", p.host.Name, err))
	}
	obs, err := parseObservation(out)
	if err != nil {
		return fail(fmt.Errorf("vm.%s: observe: %w", p.host.Name, err))
	}
	m := &manifest{Format: manifestFormat, Environment: req.Environment, VM: p.host.Name}
	if obs.manifest != nil {
		if m, err = parseManifest(obs.manifest, req.Environment); err != nil {
			return fail(fmt.Errorf("vm.%s: %s: %w", p.host.Name, p.manifestPath(req.Environment), err))
		}
	}
	p.manMu.Lock()
	p.manifests[req.Environment] = m.clone()
	p.manMu.Unlock()

	resp := providers.ObserveResponse{Objects: make(map[plans.Address]providers.Observed, len(items))}
	requested := map[[2]string]bool{}
	nops := 0
	for _, it := range items {
		id := ""
		if it.op != nil {
			id = "r" + strconv.Itoa(nops)
			nops++
		}
		o, err := p.observed(it, id, obs, m)
		if err != nil {
			return fail(fmt.Errorf("%s: observe: %w", it.res.Addr, err))
		}
		if e := m.find(it.res.Addr.Type, it.res.Addr.Key); e != nil {
			o.Owned = true
		} else if env, ok := obs.others[it.res.Addr.Type+"\x00"+it.name]; ok {
			o.Owner = "meshx environment " + env
		}
		resp.Objects[it.res.Addr] = o
		requested[[2]string{it.res.Addr.Type, it.res.Addr.Key}] = true
	}
	for id, tn := range obs.entries {
		for _, e := range m.Entries {
			if e.Type != tn[0] || e.Name != tn[1] || requested[[2]string{e.Type, e.Key}] {
				continue
			}
			resp.Orphans = append(resp.Orphans, p.orphan(e, id, obs))
		}
	}
	// Entries the script could not list (a hand-edited manifest) are
	// still orphans, reported as meshx last left them.
	listed := map[[2]string]bool{}
	for _, tn := range obs.entries {
		listed[tn] = true
	}
	for _, e := range m.Entries {
		if !requested[[2]string{e.Type, e.Key}] && !listed[[2]string{e.Type, e.Name}] {
			resp.Orphans = append(resp.Orphans, p.orphan(e, "", obs))
		}
	}
	sort.Slice(resp.Orphans, func(i, j int) bool { return resp.Orphans[i].Addr.Less(resp.Orphans[j].Addr) })
	return resp
}

// observed builds the Observed of one requested resource from record id.
func (p *Provider) observed(it observeItem, id string, obs *observation, m *manifest) (providers.Observed, error) {
	r := it.res
	o := providers.Observed{Addr: r.Addr, Kind: r.Kind}
	e := m.find(r.Addr.Type, r.Addr.Key)
	return o, r.Private.(instance).observed(&o, it, id, obs, e)
}

// orphan builds the Observed of a manifest entry no resource requested.
// id is its record, or "" when the script did not observe it.
func (p *Provider) orphan(e *entry, id string, obs *observation) providers.Observed {
	o := providers.Observed{Addr: addr(p.host.Name, e.Type, e.Key), Kind: e.Kind, Owned: true, Exists: true}
	if o.Kind == "" {
		o.Kind = kindOfType[e.Type]
	}
	switch e.Type {
	case TypeFile, TypeEnv:
		o.Object = plans.Object{"mode": e.Mode, "owner": e.Owner, "group": e.Group}
		if e.Type == TypeEnv {
			for k, rec := range e.Keys {
				o.Object[k] = rec.Value
			}
		}
		if id != "" {
			f := obs.file(e.Name)
			o.Exists = f.exists()
			if f.state == "f" {
				if e.Type == TypeFile {
					o.Object["content"] = f.fingerprint()
				}
				o.Object["mode"], o.Object["owner"], o.Object["group"] = f.mode, f.user, f.group
				o.Drift = e.Type == TypeFile && fileDrift(e, f)
			}
		}
	case TypeLine:
		o.Object = plans.Object{"path": e.Name, "line": e.Line, "present": true}
		if id != "" && !obs.file(e.Name).exists() {
			o.Exists = false
		}
	case TypePackage:
		o.Object = plans.Object{"name": e.Name, "version": e.Version}
		if id != "" {
			ps := obs.packages[e.Name]
			o.Exists = ps.installed
			o.Object["version"] = ps.version
		}
	case TypeUnit:
		o.Object = plans.Object{"enabled": true, "active": true}
		if us, ok := obs.units[id]; ok {
			o.Exists = us.exists()
			o.Object = plans.Object{"enabled": us.isEnabled(), "active": us.active == "active"}
		}
	}
	if !o.Exists {
		o.Object = nil
	}
	return o
}
