package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
		in, ok := req.Resource.Private.(instance)
		if !ok {
			return providers.ApplyResponse{Err: fmt.Errorf("%s: not built by package vm (Resource.Private is %T)", a, req.Resource.Private)}
		}
		resp = in.apply(ctx, p, req)
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
	existed, _, changed, err = p.writeFileEmpty(ctx, path, content, mode, owner, group, dirMode)
	return existed, changed, err
}

// writeFileEmpty is writeFile, saying also whether the file that existed
// was empty.
func (p *Provider) writeFileEmpty(ctx context.Context, path string, content []byte, mode, owner, group string, dirMode string) (existed, wasEmpty, changed bool, err error) {
	args := []string{path, mode, owner, group, sha256Hex(content), dirMode}
	shown := append([]string(nil), args...)
	shown[4] = plans.Fingerprint(content) // the full hash of a secret never shows
	out, err := p.runScriptShown(ctx, applyTimeout(ctx), writeScript, bytes.NewReader(content), shown, args...)
	if err != nil {
		return false, false, false, err
	}
	res := strings.Fields(string(out))
	switch {
	case len(res) == 1 && res[0] == "unchanged":
		return true, false, false, nil
	case len(res) == 3 && res[0] == "written":
		return res[1] == "1", res[2] == "1", true, nil
	}
	return false, false, false, fmt.Errorf("%s: unexpected output %q", writeScript.name, out)
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
	// Writing or removing the whole manifest is idempotent, so a write
	// cut with its connection runs again on a new one: the change it
	// records has happened, and the connection is the likeliest to be cut
	// just after it (the istio unit's first start installs the VM's first
	// netfilter rules, see connectionCut).
	if len(m.Entries) == 0 {
		if len(cur.Entries) > 0 {
			remove := func() error {
				_, err := p.runScript(ctx, applyTimeout(ctx), removeScript, nil, p.manifestPath(env), "1")
				return err
			}
			if err := p.againIfCut(remove); err != nil {
				return fmt.Errorf("remove manifest: %w", err)
			}
		}
	} else {
		b, err := m.marshal()
		if err != nil {
			return err
		}
		write := func() error {
			_, _, err := p.writeFile(ctx, p.manifestPath(env), b, "0600", "0", "0", "0700")
			return err
		}
		if err := p.againIfCut(write); err != nil {
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
		if e.WasEmpty {
			// A placeholder (the sidecar package's postinst touches
			// /var/lib/istio/config/mesh): empty it again.
			if err := validatePath(e.Name); err != nil {
				return providers.ApplyResponse{Err: err}
			}
			_, _, ch, err := p.writeFileEmpty(ctx, e.Name, nil, e.Mode, e.Owner, e.Group, "0755")
			if err != nil {
				return providers.ApplyResponse{Err: fmt.Errorf("empty %s: %w", e.Name, err)}
			}
			changed = ch
		} else if !e.Preexisting {
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
