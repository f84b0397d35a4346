package vm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// maxTextContent is the largest non-sensitive file whose text Observe
// returns; larger files compare by fingerprint.
const maxTextContent = 64 << 10

// FileContent returns a file's content given the outputs of its
// dependencies: a string, a plans.Sensitive, []byte, or
// plans.Unknown while an input is not known yet.
type FileContent func(in providers.Outputs) (any, error)

// FileOptions describe a file File manages.
type FileOptions struct {
	// Path is the file's absolute path.
	Path string
	// Content returns the file's content given the outputs of DependsOn.
	Content FileContent
	// Mode holds the permission bits (0o644); Owner and Group are names or
	// numeric ids.
	Mode         uint32
	Owner, Group string
	// Sensitive marks a secret: its bytes are never read back or shown,
	// only compared by fingerprint.
	Sensitive bool
	// DependsOn are the instances Content reads.
	DependsOn []plans.Address
}

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

// File manages a whole file: vm.<vm>.file["<path>"], kind vm_file.
//
// Its Object has the attributes content (a string, or plans.Sensitive
// when o.Sensitive is set or the text is over 64 KiB or not UTF-8), mode
// ("0644"), owner and group. Observe returns the live content as text for a
// non-sensitive file and as its plans.Fingerprint otherwise, so the two
// compare with plans.Equal. o.Content returning a plans.Sensitive for a
// file not declared sensitive is an error. The parent directory is
// created (0755) when missing.
func File(vm string, o FileOptions) providers.Resource {
	s := &fileSpec{path: o.Path, content: o.Content, mode: o.Mode, owner: o.Owner, group: o.Group, sensitive: o.Sensitive}
	s.err = validateFile(o.Path, o.Mode, o.Owner, o.Group)
	a := addr(vm, TypeFile, o.Path)
	return providers.Resource{
		Addr:        a,
		Target:      target(vm),
		Kind:        KindFile,
		DependsOn:   append([]plans.Address(nil), o.DependsOn...),
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
			return plans.Object{"content": c, "mode": modeString(s.mode), "owner": s.owner, "group": s.group}, nil
		},
	}
}

// validateFile checks the path, mode and accounts of a file or env file.
func validateFile(path string, mode uint32, owner, group string) error {
	return firstErr(validatePath(path), validateMode(mode), validateAccount("owner", owner), validateAccount("group", group))
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

func (s *fileSpec) check() error { return s.err }

func (s *fileSpec) reading(it *observeItem) {
	// A token's claims are read, never shown: observeToken keeps
	// only what they say.
	it.path, it.text, it.name = s.path, !s.sensitive || s.token != nil, s.path
}

func (s *fileSpec) observed(o *providers.Observed, it observeItem, id string, obs *observation, e *entry) error {
	f := obs.file(s.path)
	if err := fileObject(o, f, s.sensitive, s.owner, s.group); err != nil {
		return err
	}
	if s.token != nil {
		observeToken(o, f, s, time.Now())
	}
	o.Drift = e != nil && fileDrift(e, f)
	return nil
}

func (s *fileSpec) apply(ctx context.Context, p *Provider, req providers.ApplyRequest) providers.ApplyResponse {
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
	existed, wasEmpty, changed, err := p.writeFileEmpty(ctx, s.path, content, mode, s.owner, s.group, "0755")
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("write %s: %w", s.path, err)}
	}
	sum := sha256Hex(content)
	a := req.Resource.Addr
	err = p.updateManifest(ctx, req.Environment, func(m *manifest) {
		e := m.find(a.Type, a.Key)
		if e == nil {
			e = &entry{Type: a.Type, Key: a.Key, Name: s.path, Kind: KindFile, Preexisting: existed, WasEmpty: existed && wasEmpty}
		}
		e.SHA256, e.Mode, e.Owner, e.Group, e.Sensitive = sum, mode, s.owner, s.group, s.sensitive
		putEntry(m, e)
	})
	return providers.ApplyResponse{Outputs: fileOutputs(sum, s.sensitive), Changed: changed, Err: err}
}

// fileObject fills the Object of a file from its record. owner and group
// are the desired ones: a numeric one is compared with the numeric id.
func fileObject(o *providers.Observed, f *fileStat, sensitive bool, owner, group string) error {
	switch f.state {
	case "-":
		return nil
	case "f":
	case "?":
		return errors.New("cannot stat or read the file")
	default:
		kind := map[string]string{"d": "a directory", "l": "a symbolic link", "o": "not a regular file"}[f.state]
		o.Exists = true
		o.Object = plans.Object{"content": "(" + kind + ")", "mode": "", "owner": "", "group": ""}
		return nil
	}
	o.Exists = true
	user, grp := f.user, f.group
	if isNumeric(owner) {
		user = f.uid
	}
	if isNumeric(group) {
		grp = f.gid
	}
	var content any = f.fingerprint()
	if !sensitive && f.contentKnown && utf8.Valid(f.content) && len(f.content) <= maxTextContent {
		content = string(f.content)
	}
	o.Object = plans.Object{"content": content, "mode": f.mode, "owner": user, "group": grp}
	o.Outputs = fileOutputs(f.sha256, sensitive)
	o.Details = map[string]string{"sha256": o.Outputs["sha256"].(string)}
	return nil
}

// fileOutputs are a file's outputs: its sha256, or for a secret only its
// fingerprint (outputs and precondition details are shown and stored).
func fileOutputs(sum string, sensitive bool) plans.Object {
	if sensitive {
		return plans.Object{"sha256": plans.FingerprintPrefix + sum[:12]}
	}
	return plans.Object{"sha256": sum}
}

func fileDrift(e *entry, f *fileStat) bool {
	if f.state != "f" {
		return true
	}
	owner, group := f.user, f.group
	if isNumeric(e.Owner) {
		owner = f.uid
	}
	if isNumeric(e.Group) {
		group = f.gid
	}
	return f.sha256 != e.SHA256 || f.mode != e.Mode || owner != e.Owner || group != e.Group
}

func isNumeric(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}
