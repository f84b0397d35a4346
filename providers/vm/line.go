package vm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// lineSpec is what Line and LineFunc attach as Resource.Private.
type lineSpec struct {
	path, line string
	// fn renders the line from outputs (LineFunc); line is then unused.
	fn  func(in providers.Outputs) (any, error)
	err error
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

// LineFunc is Line for a line known only from the outputs of deps (an
// address in /etc/hosts): fn returns the line, or plans.Unknown while an
// input is not known. Observe reads the file and looks for the line meshx
// last wrote, as its manifest records it; attribute line is that line
// while it is present, "" otherwise, so a new address plans an update
// that replaces meshx's old line with the new one.
func LineFunc(vm, path string, fn func(in providers.Outputs) (any, error), deps []plans.Address) providers.Resource {
	r := Line(vm, path, "placeholder")
	s := r.Private.(*lineSpec)
	s.line, s.fn = "", fn
	s.err = validatePath(path)
	r.DependsOn = append([]plans.Address(nil), deps...)
	r.Render = func(in providers.Outputs) (plans.Object, error) {
		if s.err != nil {
			return nil, fmt.Errorf("%s: %w", r.Addr, s.err)
		}
		v, err := fn(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Addr, err)
		}
		if plans.IsUnknown(v) {
			return plans.Object{"path": path, "line": plans.Unknown, "present": true}, nil
		}
		line, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: the line is a %T, want a string", r.Addr, v)
		}
		if err := validateLine(line); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Addr, err)
		}
		return plans.Object{"path": path, "line": line, "present": true}, nil
	}
	return r
}

func (s *lineSpec) check() error { return s.err }

func (s *lineSpec) reading(it *observeItem) {
	if s.fn != nil {
		// The line is known only at render: read the file.
		it.path, it.text, it.name = s.path, true, s.path
		return
	}
	it.op, it.name = []string{"l", s.path, s.line}, s.path
}

func (s *lineSpec) observed(o *providers.Observed, it observeItem, id string, obs *observation, e *entry) error {
	if s.fn != nil {
		// The line meshx last wrote (its manifest entry), while the file
		// still has it.
		f, line := obs.file(s.path), ""
		if e != nil && f.state == "f" && f.contentKnown {
			for _, l := range strings.Split(string(f.content), "\n") {
				if l == e.Line {
					line = e.Line
					break
				}
			}
		}
		o.Exists = line != ""
		o.Object = plans.Object{"path": s.path, "line": line, "present": o.Exists}
		o.Drift = e != nil && !e.Preexisting && !o.Exists
		return nil
	}
	st := obs.lines[id]
	switch st {
	case "-", "0", "1":
	default:
		return fmt.Errorf("cannot read %s", s.path)
	}
	o.Exists = st == "1"
	o.Object = plans.Object{"path": s.path, "line": s.line, "present": o.Exists}
	o.Drift = e != nil && !e.Preexisting && !o.Exists
	return nil
}

func (s *lineSpec) apply(ctx context.Context, p *Provider, req providers.ApplyRequest) providers.ApplyResponse {
	if s.fn != nil {
		line, ok := req.Desired["line"].(string)
		if !ok {
			return providers.ApplyResponse{Err: errors.New("the line is still unknown at apply")}
		}
		ls := *s
		ls.line = line
		s = &ls
	}
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
