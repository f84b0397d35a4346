package vm

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/vm/envfile"
)

// Kinds of the instances this provider manages (providers.Resource.Kind).
const (
	KindFile    = "vm_file"
	KindEnv     = "vm_env"
	KindLine    = "vm_line"
	KindPackage = "vm_package"
	KindUnit    = "vm_unit"
)

// Address types of those instances: vm.<vm>.<type>["<key>"].
const (
	TypeFile    = "file"
	TypeEnv     = "env"
	TypeLine    = "line"
	TypePackage = "package"
	TypeUnit    = "unit"
)

// maxTextContent is the largest non-sensitive file whose text Observe
// returns; larger files compare by fingerprint.
const maxTextContent = 64 << 10

// kindOfType maps an address type to its kind.
var kindOfType = map[string]string{
	TypeFile: KindFile, TypeEnv: KindEnv, TypeLine: KindLine, TypePackage: KindPackage, TypeUnit: KindUnit,
}

// FileContent returns a file's content given the outputs of its
// dependencies: a string, a plans.Sensitive, []byte, or
// plans.Unknown while an input is not known yet.
type FileContent func(in providers.Outputs) (any, error)

// fileSpec is what File attaches as Resource.Private.
type fileSpec struct {
	path         string
	content      FileContent
	mode         uint32
	owner, group string
	sensitive    bool
	// token is set for a token file (Token): content is then minted at
	// apply, never rendered.
	token *tokenSpec
	err   error
}

// envSpec is what EnvFile attaches as Resource.Private.
type envSpec struct {
	path         string
	keys         func(in providers.Outputs) (map[string]any, error)
	mode         uint32
	owner, group string
	err          error
}

// lineSpec is what Line attaches as Resource.Private.
type lineSpec struct {
	path, line string
	err        error
}

// PackageSource says where a package comes from: exactly one of Apt (an
// apt package name), URL (a .deb the VM downloads with curl, SHA256
// required) or Path (a local .deb uploaded over the SSH connection,
// SHA256 checked when set).
type PackageSource struct {
	Apt    string
	URL    string
	Path   string
	SHA256 string
}

// packageSpec is what Package attaches as Resource.Private.
type packageSpec struct {
	name string // the dpkg package name
	src  PackageSource
	err  error

	debOnce sync.Once
	deb     debInfo
	debErr  error
}

// unitSpec is what Unit attaches as Resource.Private.
type unitSpec struct {
	name string
	err  error
}

func target(vm string) string { return "vm." + vm }

func addr(vm, typ, key string) plans.Address {
	return plans.Address{Block: "vm", Name: vm, Type: typ, Key: key}
}

func modeString(mode uint32) string { return fmt.Sprintf("%04o", mode) }

// File manages a whole file: vm.<vm>.file["<path>"], kind vm_file.
//
// Its Object has the attributes content (a string, or plans.Sensitive
// when sensitive is set or the text is over 64 KiB or not UTF-8), mode
// ("0644"), owner and group. Observe returns the live content as text for a
// non-sensitive file and as its plans.Fingerprint otherwise, so the two
// compare with plans.Equal. content returning a plans.Sensitive for
// a file not declared sensitive is an error. deps are the instances content
// reads. The parent directory is created (0755) when missing.
func File(vm, path string, content FileContent, mode uint32, owner, group string, sensitive bool, deps []plans.Address) providers.Resource {
	s := &fileSpec{path: path, content: content, mode: mode, owner: owner, group: group, sensitive: sensitive}
	s.err = firstErr(validatePath(path), validateMode(mode), validateAccount("owner", owner), validateAccount("group", group))
	a := addr(vm, TypeFile, path)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindFile,
		DependsOn:   append([]plans.Address(nil), deps...),
		AdoptFreely: true,
		Private:     s,
		Render: func(in providers.Outputs) (plans.Object, error) {
			if s.err != nil {
				return nil, fmt.Errorf("%s: %w", a, s.err)
			}
			if s.content == nil {
				return nil, fmt.Errorf("%s: no content function", a)
			}
			v, err := s.content(in)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			c, err := fileValue(v, s.sensitive)
			if err != nil {
				return nil, fmt.Errorf("%s: content: %w", a, err)
			}
			return plans.Object{"content": c, "mode": modeString(mode), "owner": owner, "group": group}, nil
		},
	}
}

// fileValue normalises a FileContent result: secrets and text that cannot
// be shown as a diff become Sensitive, so they compare by fingerprint.
func fileValue(v any, sensitive bool) (any, error) {
	switch t := v.(type) {
	case plans.Sensitive:
		if !sensitive {
			// Observe would read such a file back as text and never find
			// it equal; and a secret must not be shown as a diff.
			return nil, errors.New("the value is sensitive but the file is not declared sensitive")
		}
		return t, nil
	case string:
		if sensitive || len(t) > maxTextContent || !utf8.ValidString(t) {
			return plans.NewSensitive([]byte(t)), nil
		}
		return t, nil
	case []byte:
		return fileValue(string(t), sensitive)
	}
	if plans.IsUnknown(v) {
		return plans.Unknown, nil
	}
	return nil, fmt.Errorf("want a string, []byte, plans.Sensitive or plans.Unknown, got %T", v)
}

// contentBytes returns the bytes to write for a rendered content value.
func contentBytes(v any) ([]byte, error) {
	switch t := v.(type) {
	case plans.Sensitive:
		return t.Bytes(), nil
	case string:
		return []byte(t), nil
	case []byte:
		return t, nil
	}
	if plans.IsUnknown(v) {
		return nil, errors.New("content is still unknown at apply")
	}
	return nil, fmt.Errorf("content is a %T, want a string or plans.Sensitive", v)
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
// is sensitive when keys returns a Sensitive for it given only Unknown
// inputs, or when the manifest recorded it as sensitive.
func EnvFile(vm, path string, keys func(in providers.Outputs) (map[string]any, error), mode uint32, owner, group string, deps []plans.Address) providers.Resource {
	s := &envSpec{path: path, keys: keys, mode: mode, owner: owner, group: group}
	s.err = firstErr(validatePath(path), validateMode(mode), validateAccount("owner", owner), validateAccount("group", group))
	a := addr(vm, TypeEnv, path)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindEnv,
		DependsOn:   append([]plans.Address(nil), deps...),
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
			o := plans.Object{"mode": modeString(mode), "owner": owner, "group": group, "managed_keys": anyStrings(slices.Sorted(maps.Keys(m)))}
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

// Line makes sure line is present in the file at path, once:
// vm.<vm>.line["<path>"], kind vm_line, with attributes path, line and
// present (true). The file is created (0644 root:root) when missing. A
// line already present is never duplicated and, not being meshx's doing,
// is left in place by a delete.
func Line(vm, path, line string) providers.Resource {
	s := &lineSpec{path: path, line: line}
	s.err = firstErr(validatePath(path), validateLine(line))
	a := addr(vm, TypeLine, path)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindLine,
		AdoptFreely: true,
		Private:     s,
		Render: func(providers.Outputs) (plans.Object, error) {
			if s.err != nil {
				return nil, fmt.Errorf("%s: %w", a, s.err)
			}
			return plans.Object{"path": path, "line": line, "present": true}, nil
		},
	}
}

// Package installs a Debian package: vm.<vm>.package["<name>"], kind
// vm_package. For a .deb (URL or Path) name is the dpkg package name and
// must match the Package field of the .deb.
//
// Attributes by source:
//   - Apt: name, version = "installed" (apt-get install when missing);
//   - Path: name, version = the .deb's Version, read locally; installed
//     with dpkg -i when the installed version differs;
//   - URL: name, sha256 = the .deb's sha256. The VM downloads it with curl
//     to a temp file and checks the sha256 before dpkg -i, which runs only
//     when the .deb's version differs from the installed one. The manifest
//     records the sha256 installed; Observe returns it, and the live
//     dpkg version as "version" for information.
func Package(vm, name string, src PackageSource) providers.Resource {
	s := &packageSpec{name: name, src: src}
	s.err = validatePackageSource(name, &s.src)
	if src.Apt != "" {
		s.name = src.Apt
	}
	a := addr(vm, TypePackage, name)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindPackage,
		AdoptFreely: true,
		Private:     s,
		Render: func(providers.Outputs) (plans.Object, error) {
			if s.err != nil {
				return nil, fmt.Errorf("%s: %w", a, s.err)
			}
			switch {
			case src.Apt != "":
				return plans.Object{"name": s.name, "version": "installed"}, nil
			case src.URL != "":
				return plans.Object{"name": s.name, "sha256": s.src.SHA256}, nil
			}
			d, err := s.localDeb()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			return plans.Object{"name": s.name, "version": d.Version}, nil
		},
	}
}

func validatePackageSource(name string, src *PackageSource) error {
	if err := validatePackage(name); err != nil {
		return err
	}
	src.SHA256 = strings.ToLower(strings.TrimSpace(src.SHA256))
	n := 0
	for _, s := range []string{src.Apt, src.URL, src.Path} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("package source: set exactly one of apt, url and path")
	}
	if src.SHA256 != "" && !sha256RE.MatchString(src.SHA256) {
		return fmt.Errorf("package source: sha256 %q is not 64 hex digits", src.SHA256)
	}
	switch {
	case src.Apt != "":
		return validatePackage(src.Apt)
	case src.URL != "":
		if !strings.HasPrefix(src.URL, "https://") && !strings.HasPrefix(src.URL, "http://") {
			return fmt.Errorf("package source: url %q must start with https:// or http://", src.URL)
		}
		if err := checkText(src.URL, false); err != nil || strings.ContainsAny(src.URL, " \"'\\") {
			return fmt.Errorf("package source: url %q must not contain spaces, quotes, backslashes or control characters", src.URL)
		}
		if src.SHA256 == "" {
			return errors.New("package source: a url needs its sha256, so the VM can check the download")
		}
	}
	return nil
}

// localDeb reads (once) the control fields of a Path source.
func (s *packageSpec) localDeb() (debInfo, error) {
	s.debOnce.Do(func() {
		s.deb, s.debErr = readDebFile(s.src.Path)
		if s.debErr == nil && s.deb.Package != s.name {
			s.debErr = fmt.Errorf("%s contains package %q, not %q", s.src.Path, s.deb.Package, s.name)
		}
	})
	return s.deb, s.debErr
}

// Unit keeps a service unit enabled and active: vm.<vm>.unit["<name>"],
// kind vm_unit, attributes enabled = true and active = true. It is
// restarted only when one of triggers changed in the same apply
// (ApplyRequest.Triggered), and started when it is not active.
func Unit(vm, name string, triggers []plans.Address) providers.Resource {
	s := &unitSpec{name: name, err: validateUnit(name)}
	a := addr(vm, TypeUnit, name)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindUnit,
		DependsOn:   append([]plans.Address(nil), triggers...),
		Triggers:    append([]plans.Address(nil), triggers...),
		AdoptFreely: true,
		Private:     s,
		Render: func(providers.Outputs) (plans.Object, error) {
			if s.err != nil {
				return nil, fmt.Errorf("%s: %w", a, s.err)
			}
			return plans.Object{"enabled": true, "active": true}, nil
		},
	}
}

// anyStrings converts to the JSON shape Objects hold.
func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
