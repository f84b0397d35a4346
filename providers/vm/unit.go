package vm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// unitSpec is what Unit attaches as Resource.Private.
type unitSpec struct {
	name string
	err  error
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

func (s *unitSpec) check() error { return s.err }

func (s *unitSpec) reading(it *observeItem) {
	it.op, it.name = []string{"u", s.name}, s.name
}

func (s *unitSpec) observed(o *providers.Observed, it observeItem, id string, obs *observation, e *entry) error {
	us, ok := obs.units[id]
	if !ok {
		return errors.New("no record")
	}
	o.Exists = us.exists()
	if o.Exists {
		o.Object = plans.Object{"enabled": us.isEnabled(), "active": us.active == "active"}
		o.Outputs = plans.Object{"enabled": us.isEnabled(), "active": us.active == "active"}
		o.Details = map[string]string{"enabled": us.enabled, "active": us.active}
	}
	o.Drift = e != nil && !e.Preexisting && !us.isEnabled()
	return nil
}

func (s *unitSpec) apply(ctx context.Context, p *Provider, req providers.ApplyRequest) providers.ApplyResponse {
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
