package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/vm/envfile"
)

// Apply carries out one change. Create, Update and Replace make the
// instance match req.Desired (a unit is restarted only when req.Triggered
// is not empty); Delete undoes what the manifest says meshx did.
func (p *Provider) Apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	a := req.Change.Addr
	if req.Resource != nil {
		a = req.Resource.Addr
	}
	if err := validateEnvironment(req.Environment); err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("%s: %w", a, err)}
	}
	timeout := defaultApplyTimeout
	if req.Resource != nil && req.Resource.Settings.WaitTimeout > 0 {
		timeout = req.Resource.Settings.WaitTimeout
	}
	ctx = context.WithValue(ctx, applyTimeoutKey{}, timeout)

	var resp providers.ApplyResponse
	switch req.Change.Action {
	case plans.NoOp:
		return providers.ApplyResponse{Outputs: req.Observed.Outputs}
	case plans.Delete:
		resp = p.applyDelete(ctx, req.Environment, a)
	case plans.Create, plans.Update, plans.Replace:
		if req.Resource == nil {
			return providers.ApplyResponse{Err: fmt.Errorf("%s: %s needs the resource", a, req.Change.Action)}
		}
		switch s := req.Resource.Private.(type) {
		case *fileSpec:
			resp = p.applyFile(ctx, req, s)
		case *envSpec:
			resp = p.applyEnv(ctx, req, s)
		case *lineSpec:
			resp = p.applyLine(ctx, req, s)
		case *packageSpec:
			resp = p.applyPackage(ctx, req, s)
		case *unitSpec:
			resp = p.applyUnit(ctx, req, s)
		default:
			return providers.ApplyResponse{Err: fmt.Errorf("%s: not built by package vm (Resource.Private is %T)", a, req.Resource.Private)}
		}
	default:
		return providers.ApplyResponse{Err: fmt.Errorf("%s: unknown action %s", a, req.Change.Action)}
	}
	if resp.Err != nil {
		resp.Err = fmt.Errorf("%s: %w", a, resp.Err)
	}
	return resp
}

// applyTimeoutKey carries the bound of each command of one Apply.
type applyTimeoutKey struct{}

func applyTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(applyTimeoutKey{}).(time.Duration); ok {
		return d
	}
	return defaultApplyTimeout
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// writeFile writes content to path atomically. It reports whether the
// file existed and whether anything changed.
func (p *Provider) writeFile(ctx context.Context, path string, content []byte, mode, owner, group string, dirMode string) (existed, changed bool, err error) {
	args := []string{path, mode, owner, group, sha256Hex(content), dirMode}
	shown := append([]string(nil), args...)
	shown[4] = plans.Fingerprint(content) // the full hash of a secret never shows
	out, err := p.runScriptShown(ctx, applyTimeout(ctx), writeScript, bytes.NewReader(content), shown, args...)
	if err != nil {
		return false, false, err
	}
	res := strings.Fields(string(out))
	switch {
	case len(res) == 1 && res[0] == "unchanged":
		return true, false, nil
	case len(res) == 2 && res[0] == "written":
		return res[1] == "1", true, nil
	}
	return false, false, fmt.Errorf("%s: unexpected output %q", writeScript.name, out)
}

// readFile returns a file's content, or exists false.
func (p *Provider) readFile(ctx context.Context, path string) (content []byte, exists bool, err error) {
	out, err := p.runScript(ctx, applyTimeout(ctx), readScript, nil, path)
	if err != nil {
		return nil, false, err
	}
	if len(out) == 0 {
		return nil, false, fmt.Errorf("%s: no output", readScript.name)
	}
	return out[1:], out[0] == 'y', nil
}

// loadManifest returns the cached manifest of env, reading it when this
// provider has not observed that environment. Call with manMu held.
func (p *Provider) loadManifest(ctx context.Context, env string) (*manifest, error) {
	if m, ok := p.manifests[env]; ok {
		return m, nil
	}
	b, exists, err := p.readFile(ctx, p.manifestPath(env))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m := &manifest{Format: manifestFormat, Environment: env, VM: p.host.Name}
	if exists {
		if m, err = parseManifest(b, env); err != nil {
			return nil, fmt.Errorf("%s: %w", p.manifestPath(env), err)
		}
	}
	p.manifests[env] = m
	return m, nil
}

// updateManifest applies fn to a copy of env's manifest and writes it
// back (removing the file when no entry is left). The cached manifest
// changes only when the write succeeded.
func (p *Provider) updateManifest(ctx context.Context, env string, fn func(m *manifest)) error {
	p.manMu.Lock()
	defer p.manMu.Unlock()
	cur, err := p.loadManifest(ctx, env)
	if err != nil {
		return err
	}
	m := cur.clone()
	m.VM = p.host.Name
	fn(m)
	if len(m.Entries) == 0 {
		if len(cur.Entries) > 0 {
			if _, err := p.runScript(ctx, applyTimeout(ctx), removeScript, nil, p.manifestPath(env), "1"); err != nil {
				return fmt.Errorf("remove manifest: %w", err)
			}
		}
	} else {
		b, err := m.marshal()
		if err != nil {
			return err
		}
		if _, _, err := p.writeFile(ctx, p.manifestPath(env), b, "0600", "0", "0", "0700"); err != nil {
			return fmt.Errorf("write manifest %s: %w", p.manifestPath(env), err)
		}
	}
	p.manifests[env] = m
	return nil
}

// currentEntry returns a copy of the manifest entry of typ/key, or nil.
func (p *Provider) currentEntry(ctx context.Context, env, typ, key string) (*entry, error) {
	p.manMu.Lock()
	defer p.manMu.Unlock()
	m, err := p.loadManifest(ctx, env)
	if err != nil {
		return nil, err
	}
	if e := m.find(typ, key); e != nil {
		return m.clone().find(typ, key), nil
	}
	return nil, nil
}

// putEntry replaces (or adds) the entry of e.Type/e.Key.
func putEntry(m *manifest, e *entry) {
	m.remove(e.Type, e.Key)
	m.Entries = append(m.Entries, e)
}

func (p *Provider) applyFile(ctx context.Context, req providers.ApplyRequest, s *fileSpec) providers.ApplyResponse {
	if s.token != nil {
		return p.applyToken(ctx, req, s)
	}
	content, err := contentBytes(req.Desired["content"])
	if err != nil {
		return providers.ApplyResponse{Err: err}
	}
	return p.writeFileEntry(ctx, req, s, content)
}

// writeFileEntry writes a file's content and records it in the manifest.
func (p *Provider) writeFileEntry(ctx context.Context, req providers.ApplyRequest, s *fileSpec, content []byte) providers.ApplyResponse {
	mode := modeString(s.mode)
	existed, changed, err := p.writeFile(ctx, s.path, content, mode, s.owner, s.group, "0755")
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("write %s: %w", s.path, err)}
	}
	sum := sha256Hex(content)
	a := req.Resource.Addr
	err = p.updateManifest(ctx, req.Environment, func(m *manifest) {
		e := m.find(a.Type, a.Key)
		if e == nil {
			e = &entry{Type: a.Type, Key: a.Key, Name: s.path, Kind: KindFile, Preexisting: existed}
		}
		e.SHA256, e.Mode, e.Owner, e.Group, e.Sensitive = sum, mode, s.owner, s.group, s.sensitive
		putEntry(m, e)
	})
	return providers.ApplyResponse{Outputs: fileOutputs(sum, s.sensitive), Changed: changed, Err: err}
}

func (p *Provider) applyEnv(ctx context.Context, req providers.ApplyRequest, s *envSpec) providers.ApplyResponse {
	a := req.Resource.Addr
	set := map[string]string{}
	sensitive := map[string]bool{}
	for k, v := range req.Desired {
		if envFileAttrs[k] {
			continue
		}
		switch t := v.(type) {
		case string:
			set[k] = t
		case plans.Sensitive:
			set[k], sensitive[k] = string(t.Bytes()), true
		default:
			return providers.ApplyResponse{Err: fmt.Errorf("key %s: value is %T at apply, want a string", k, v)}
		}
	}
	prev, err := p.currentEntry(ctx, req.Environment, a.Type, a.Key)
	if err != nil {
		return providers.ApplyResponse{Err: err}
	}
	cur, existed, err := p.readFile(ctx, s.path)
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("read %s: %w", s.path, err)}
	}
	before := envfile.Values(string(cur))
	unset := map[string]*string{}
	if prev != nil {
		for k, rec := range prev.Keys {
			if _, keep := set[k]; !keep {
				unset[k] = rec.Prior
			}
		}
	}
	merged := envfile.Merge(string(cur), set, unset)
	mode := modeString(s.mode)
	_, changed, err := p.writeFile(ctx, s.path, []byte(merged), mode, s.owner, s.group, "0755")
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("write %s: %w", s.path, err)}
	}
	err = p.updateManifest(ctx, req.Environment, func(m *manifest) {
		e := m.find(a.Type, a.Key)
		if e == nil {
			e = &entry{Type: a.Type, Key: a.Key, Name: s.path, Kind: KindEnv, Preexisting: existed}
		}
		keys := map[string]envRecord{}
		for k, v := range set {
			rec := envRecord{Value: v}
			if sensitive[k] {
				rec = envRecord{Value: plans.Fingerprint([]byte(v)), Sensitive: true}
			}
			if old, ok := e.Keys[k]; ok {
				rec.Prior = old.Prior
			} else if b, ok := before[k]; ok {
				rec.Prior = &b
			}
			keys[k] = rec
		}
		e.Keys, e.Mode, e.Owner, e.Group = keys, mode, s.owner, s.group
		e.SHA256 = ""
		putEntry(m, e)
	})
	return providers.ApplyResponse{Outputs: plans.Object{}, Changed: changed, Err: err}
}

func (p *Provider) applyLine(ctx context.Context, req providers.ApplyRequest, s *lineSpec) providers.ApplyResponse {
	prev, err := p.currentEntry(ctx, req.Environment, req.Resource.Addr.Type, req.Resource.Addr.Key)
	if err != nil {
		return providers.ApplyResponse{Err: err}
	}
	if prev != nil && prev.Line != s.line && !prev.Preexisting {
		// The configured line changed: take back the one meshx added.
		if _, err := p.runScript(ctx, applyTimeout(ctx), lineRemoveScript, nil, s.path, prev.Line, "0"); err != nil {
			return providers.ApplyResponse{Err: fmt.Errorf("remove the previous line from %s: %w", s.path, err)}
		}
	}
	out, err := p.runScript(ctx, applyTimeout(ctx), lineAddScript, nil, s.path, s.line)
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("add line to %s: %w", s.path, err)}
	}
	res := strings.Fields(string(out))
	present := len(res) == 1 && res[0] == "present"
	if !present && (len(res) != 2 || res[0] != "appended") {
		return providers.ApplyResponse{Err: fmt.Errorf("%s: unexpected output %q", lineAddScript.name, out)}
	}
	a := req.Resource.Addr
	err = p.updateManifest(ctx, req.Environment, func(m *manifest) {
		e := m.find(a.Type, a.Key)
		if e == nil || e.Line != s.line {
			ne := &entry{Type: a.Type, Key: a.Key, Name: s.path, Kind: KindLine, Line: s.line,
				Preexisting: present, CreatedFile: !present && res[1] == "0"}
			if e != nil {
				ne.CreatedFile = e.CreatedFile
			}
			e = ne
		}
		putEntry(m, e)
	})
	return providers.ApplyResponse{Outputs: plans.Object{}, Changed: !present, Err: err}
}

func (p *Provider) applyPackage(ctx context.Context, req providers.ApplyRequest, s *packageSpec) providers.ApplyResponse {
	p.pkgMu.Lock()
	defer p.pkgMu.Unlock()
	var (
		out    []byte
		err    error
		sum    string
		source string
	)
	switch {
	case s.src.Apt != "":
		source = "apt:" + s.src.Apt
		out, err = p.runScript(ctx, applyTimeout(ctx), aptScript, nil, s.name)
	case s.src.URL != "":
		source, sum = s.src.URL, s.src.SHA256
		if req.Progress != nil {
			req.Progress("downloading " + s.src.URL + " on the VM")
		}
		out, err = p.runScript(ctx, applyTimeout(ctx), debURLScript, nil, s.name, s.src.URL, s.src.SHA256)
	default:
		source = "file:" + s.src.Path
		if _, derr := s.localDeb(); derr != nil {
			return providers.ApplyResponse{Err: derr}
		}
		f, ferr := os.Open(s.src.Path)
		if ferr != nil {
			return providers.ApplyResponse{Err: fmt.Errorf("read package: %w", ferr)}
		}
		h := sha256.New()
		if _, ferr = io.Copy(h, f); ferr != nil {
			f.Close()
			return providers.ApplyResponse{Err: fmt.Errorf("read package: %w", ferr)}
		}
		sum = hex.EncodeToString(h.Sum(nil))
		if s.src.SHA256 != "" && s.src.SHA256 != sum {
			f.Close()
			return providers.ApplyResponse{Err: fmt.Errorf("%s has sha256 %s, want %s; not installed", s.src.Path, sum, s.src.SHA256)}
		}
		if _, ferr = f.Seek(0, io.SeekStart); ferr != nil {
			f.Close()
			return providers.ApplyResponse{Err: ferr}
		}
		if req.Progress != nil {
			req.Progress("uploading " + s.src.Path)
		}
		out, err = p.runScript(ctx, applyTimeout(ctx), debUploadScript, f, s.name, sum, s.src.Path)
		f.Close()
	}
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("install %s: %w", s.name, err)}
	}
	res := strings.Fields(string(out))
	var version string
	var installed, hadBefore bool
	switch {
	case len(res) == 2 && res[0] == "unchanged":
		version, hadBefore = res[1], true
	case len(res) == 3 && res[0] == "installed":
		version, installed, hadBefore = res[1], true, res[2] != "-"
	default:
		return providers.ApplyResponse{Err: fmt.Errorf("install %s: unexpected output %q", s.name, out)}
	}
	a := req.Resource.Addr
	err = p.updateManifest(ctx, req.Environment, func(m *manifest) {
		e := m.find(a.Type, a.Key)
		if e == nil {
			e = &entry{Type: a.Type, Key: a.Key, Name: s.name, Kind: KindPackage, Preexisting: hadBefore}
		}
		e.Version, e.SHA256, e.Source = version, sum, source
		putEntry(m, e)
	})
	return providers.ApplyResponse{Outputs: plans.Object{"version": version}, Changed: installed, Err: err}
}

func (p *Provider) applyUnit(ctx context.Context, req providers.ApplyRequest, s *unitSpec) providers.ApplyResponse {
	restart := "0"
	if len(req.Triggered) > 0 {
		restart = "1"
	}
	out, err := p.runScript(ctx, applyTimeout(ctx), unitScript, nil, s.name, restart)
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("unit %s: %w", s.name, err)}
	}
	res := strings.Fields(string(out))
	if len(res) < 3 || res[0] != "was" {
		return providers.ApplyResponse{Err: fmt.Errorf("unit %s: unexpected output %q", s.name, out)}
	}
	wasEnabled, wasActive := unitStat{enabled: res[1]}.isEnabled(), res[2] == "active"
	a := req.Resource.Addr
	err = p.updateManifest(ctx, req.Environment, func(m *manifest) {
		e := m.find(a.Type, a.Key)
		if e == nil {
			e = &entry{Type: a.Type, Key: a.Key, Name: s.name, Kind: KindUnit, Preexisting: wasEnabled, WasActive: wasActive}
		}
		putEntry(m, e)
	})
	return providers.ApplyResponse{
		Outputs: plans.Object{"enabled": true, "active": true},
		Changed: len(res) > 3,
		Err:     err,
	}
}

// applyDelete undoes what meshx did to the instance at a, as its manifest
// entry records, then forgets it.
func (p *Provider) applyDelete(ctx context.Context, env string, a plans.Address) providers.ApplyResponse {
	e, err := p.currentEntry(ctx, env, a.Type, a.Key)
	if err != nil {
		return providers.ApplyResponse{Err: err}
	}
	if e == nil {
		return providers.ApplyResponse{Err: fmt.Errorf("not in the manifest of environment %q on this VM; meshx deletes only what it manages", env)}
	}
	changed := false
	switch e.Type {
	case TypeFile:
		if !e.Preexisting {
			if err := validatePath(e.Name); err != nil {
				return providers.ApplyResponse{Err: err}
			}
			out, err := p.runScript(ctx, applyTimeout(ctx), removeScript, nil, e.Name, "0")
			if err != nil {
				return providers.ApplyResponse{Err: fmt.Errorf("remove %s: %w", e.Name, err)}
			}
			changed = strings.TrimSpace(string(out)) == "removed"
		}
	case TypeEnv:
		if err := validatePath(e.Name); err != nil {
			return providers.ApplyResponse{Err: err}
		}
		cur, exists, err := p.readFile(ctx, e.Name)
		if err != nil {
			return providers.ApplyResponse{Err: fmt.Errorf("read %s: %w", e.Name, err)}
		}
		if exists {
			unset := map[string]*string{}
			for k, rec := range e.Keys {
				unset[k] = rec.Prior
			}
			merged := envfile.Merge(string(cur), nil, unset)
			if merged != string(cur) {
				if _, changed, err = p.writeFile(ctx, e.Name, []byte(merged), e.Mode, e.Owner, e.Group, "0755"); err != nil {
					return providers.ApplyResponse{Err: fmt.Errorf("write %s: %w", e.Name, err)}
				}
			}
		}
	case TypeLine:
		if !e.Preexisting {
			if err := validatePath(e.Name); err != nil {
				return providers.ApplyResponse{Err: err}
			}
			rmEmpty := "0"
			if e.CreatedFile {
				rmEmpty = "1"
			}
			out, err := p.runScript(ctx, applyTimeout(ctx), lineRemoveScript, nil, e.Name, e.Line, rmEmpty)
			if err != nil {
				return providers.ApplyResponse{Err: fmt.Errorf("remove line from %s: %w", e.Name, err)}
			}
			changed = strings.TrimSpace(string(out)) != "absent"
		}
	case TypePackage:
		if !e.Preexisting {
			if err := validatePackage(e.Name); err != nil {
				return providers.ApplyResponse{Err: err}
			}
			p.pkgMu.Lock()
			out, err := p.runScript(ctx, applyTimeout(ctx), packageRemoveScript, nil, e.Name)
			p.pkgMu.Unlock()
			if err != nil {
				return providers.ApplyResponse{Err: fmt.Errorf("remove package %s: %w", e.Name, err)}
			}
			changed = strings.TrimSpace(string(out)) == "removed"
		}
	case TypeUnit:
		if err := validateUnit(e.Name); err != nil {
			return providers.ApplyResponse{Err: err}
		}
		stop, disable := "1", "1"
		if e.WasActive {
			stop = "0"
		}
		if e.Preexisting {
			disable = "0"
		}
		if stop == "1" || disable == "1" {
			out, err := p.runScript(ctx, applyTimeout(ctx), unitRemoveScript, nil, e.Name, stop, disable)
			if err != nil {
				return providers.ApplyResponse{Err: fmt.Errorf("unit %s: %w", e.Name, err)}
			}
			changed = strings.TrimSpace(string(out)) == "done"
		}
	default:
		return providers.ApplyResponse{Err: errors.New("unknown manifest entry type " + e.Type)}
	}
	err = p.updateManifest(ctx, env, func(m *manifest) { m.remove(a.Type, a.Key) })
	return providers.ApplyResponse{Changed: changed, Err: err}
}
