package vm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/vm/envfile"
)

// EnvFileOptions describe the env file EnvFile manages.
type EnvFileOptions struct {
	// Path is the file's absolute path.
	Path string
	// Keys returns the managed keys and their values given the outputs of
	// DependsOn.
	Keys func(in providers.Outputs) (map[string]any, error)
	// Mode holds the permission bits (0o644); Owner and Group are names or
	// numeric ids.
	Mode         uint32
	Owner, Group string
	// DependsOn are the instances Keys reads.
	DependsOn []plans.Address
}

// envSpec is what EnvFile attaches as Resource.Private.
type envSpec struct {
	path         string
	keys         func(in providers.Outputs) (map[string]any, error)
	mode         uint32
	owner, group string
	err          error
}

// EnvFile manages some keys of a shell-style KEY=value file such as
// /var/lib/istio/envoy/sidecar.env: vm.<vm>.env["<path>"], kind vm_env.
//
// The managed keys are merged into the file: each is set on its first
// assignment line (later duplicates are dropped) or appended; every other
// line, comments included, is kept. The Object has one string attribute per
// managed key, plus mode, owner, group and managed_keys (the sorted key
// names; observed: those the manifest records, so dropping a key from
// configuration is an update that takes it back). Observe returns only the
// managed keys (a key absent from the file is absent from the Object). Key
// names "mode", "owner", "group" and "managed_keys" are refused.
//
// A value may be a plans.Sensitive: Observe then returns that key's
// live value as a Sensitive too (so both compare by fingerprint and a plan
// shows neither), and the manifest records only its fingerprint. A key
// is sensitive when o.Keys returns a Sensitive for it given only Unknown
// inputs, or when the manifest recorded it as sensitive.
func EnvFile(vm string, o EnvFileOptions) providers.Resource {
	s := &envSpec{path: o.Path, keys: o.Keys, mode: o.Mode, owner: o.Owner, group: o.Group}
	s.err = validateFile(o.Path, o.Mode, o.Owner, o.Group)
	a := addr(vm, TypeEnv, o.Path)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindEnv,
		DependsOn:   append([]plans.Address(nil), o.DependsOn...),
		AdoptFreely: true,
		Private:     s,
		Render: func(in providers.Outputs) (plans.Object, error) {
			if s.err != nil {
				return nil, fmt.Errorf("%s: %w", a, s.err)
			}
			if s.keys == nil {
				return nil, fmt.Errorf("%s: no keys function", a)
			}
			m, err := s.keys(in)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			o := plans.Object{"mode": modeString(s.mode), "owner": s.owner, "group": s.group, "managed_keys": anyStrings(slices.Sorted(maps.Keys(m)))}
			for _, k := range slices.Sorted(maps.Keys(m)) {
				v, err := envValue(k, m[k])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", a, err)
				}
				o[k] = v
			}
			return o, nil
		},
	}
}

// envFileAttrs are the attributes of an env file that are not keys.
var envFileAttrs = map[string]bool{"mode": true, "owner": true, "group": true, "managed_keys": true}

// envValue checks one managed key and converts its value to a string.
func envValue(k string, v any) (any, error) {
	if !envfile.ValidKey(k) {
		return nil, fmt.Errorf("key %q is not a shell variable name", k)
	}
	switch k {
	case "mode", "owner", "group", "managed_keys":
		return nil, fmt.Errorf("key %q collides with the file attribute of that name", k)
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case bool, int, int64, float64:
		s = fmt.Sprint(t)
	case plans.Sensitive:
		if err := checkEnvText(k, string(t.Bytes())); err != nil {
			return nil, err
		}
		return t, nil
	default:
		if plans.IsUnknown(v) {
			return plans.Unknown, nil
		}
		return nil, fmt.Errorf("key %s: want a string, got %T", k, v)
	}
	if err := checkEnvText(k, s); err != nil {
		return nil, err
	}
	return s, nil
}

// checkEnvText checks a value an env file can hold. Errors never include it.
func checkEnvText(k, s string) error {
	if strings.ContainsAny(s, "\x00\n\r") {
		return fmt.Errorf("key %s: value must not contain a line break or NUL", k)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("key %s: value must be valid UTF-8", k)
	}
	return nil
}

func (s *envSpec) check() error { return s.err }

func (s *envSpec) reading(it *observeItem) {
	it.path, it.text, it.name = s.path, true, s.path
	if o, err := it.res.Render(unknownOutputs{}); err == nil {
		it.sensitive = map[string]bool{}
		for _, k := range o.Keys() {
			if !envFileAttrs[k] {
				it.keys = append(it.keys, k)
			}
			if _, ok := o[k].(plans.Sensitive); ok {
				it.sensitive[k] = true
			}
		}
	}
}

func (s *envSpec) observed(o *providers.Observed, it observeItem, id string, obs *observation, e *entry) error {
	f := obs.file(s.path)
	if err := fileObject(o, f, false, s.owner, s.group); err != nil {
		return err
	}
	if o.Exists && (len(it.sensitive) > 0 || e.hasSensitiveKey()) {
		// The file's full sha256 would let a weak secret in it be
		// guessed offline; show only the fingerprint.
		o.Outputs = fileOutputs(f.sha256, true)
		o.Details = map[string]string{"sha256": o.Outputs["sha256"].(string)}
	}
	if o.Exists {
		managed := []string{}
		if e != nil {
			managed = slices.Sorted(maps.Keys(e.Keys))
		}
		o.Object["managed_keys"] = anyStrings(managed)
	}
	if !o.Exists || f.state != "f" {
		o.Drift = e != nil && !o.Exists
		return nil
	}
	content := o.Object["content"]
	delete(o.Object, "content")
	keys := it.keys
	if keys == nil && e != nil {
		keys = slices.Sorted(maps.Keys(e.Keys))
	}
	text, ok := content.(string)
	if !ok {
		// Too large to read back: the managed keys are unknown, so the
		// plan rewrites them.
		return nil
	}
	vals := envfile.Values(text)
	for _, k := range keys {
		v, ok := vals[k]
		switch {
		case !ok:
		case it.sensitive[k] || (e != nil && e.Keys[k].Sensitive):
			// Sensitive now or when meshx last wrote it: a plan
			// must show neither the new secret nor the old one.
			o.Object[k] = plans.NewSensitive([]byte(v))
		default:
			o.Object[k] = v
		}
	}
	if e != nil {
		for k, rec := range e.Keys {
			v, ok := vals[k]
			if rec.Sensitive {
				v = plans.Fingerprint([]byte(v))
			}
			if !ok || v != rec.Value {
				o.Drift = true
			}
		}
	}
	return nil
}

func (s *envSpec) apply(ctx context.Context, p *Provider, req providers.ApplyRequest) providers.ApplyResponse {
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
