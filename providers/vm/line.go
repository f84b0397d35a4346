package vm

import (
	"context"
	"fmt"
	"strings"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// lineSpec is what Line attaches as Resource.Private.
type lineSpec struct {
	path, line string
	err        error
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

func (s *lineSpec) check() error { return s.err }

func (s *lineSpec) reading(it *observeItem) {
	it.op, it.name = []string{"l", s.path, s.line}, s.path
}

func (s *lineSpec) observed(o *providers.Observed, it observeItem, id string, obs *observation, e *entry) error {
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
