package config

import (
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/meshx-dev/meshx/istio"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// portEntry is one written port before checks.
type portEntry struct {
	key    string // map key, or "" for list elements
	hasKey bool
	val    cty.Value
	rng    hcl.Range
}

// decodePorts decodes a service's ports: a map of name → port (a numeric
// name means "infer it", like a bare port for istioctl register), or a list
// of numbers and "[name:]port" strings. The result is sorted by port.
func (l *loader) decodePorts(d *decoder) []Port {
	a := d.attr("ports")
	if a == nil {
		return nil
	}
	d.ranges["ports"] = a.Expr.Range()
	var entries []portEntry
	if pairs, diags := hcl.ExprMap(a.Expr); !diags.HasErrors() {
		for _, p := range pairs {
			k, diags := p.Key.Value(d.ctx)
			l.diags = append(l.diags, diags...)
			v, vd := p.Value.Value(d.ctx)
			l.diags = append(l.diags, vd...)
			if diags.HasErrors() || vd.HasErrors() {
				*d.failed = true
				continue
			}
			k, _ = k.UnmarkDeep()
			ks, err := convert.Convert(k, cty.String)
			if err != nil || !ks.IsKnown() || ks.IsNull() {
				l.errorf(p.Key.Range(), "Invalid port name", "Port names in %s must be strings, like http = 9080.", d.where)
				continue
			}
			entries = append(entries, portEntry{key: ks.AsString(), hasKey: true, val: v, rng: hcl.RangeBetween(p.Key.Range(), p.Value.Range())})
		}
	} else if list, diags := hcl.ExprList(a.Expr); !diags.HasErrors() {
		for _, e := range list {
			v, diags := e.Value(d.ctx)
			l.diags = append(l.diags, diags...)
			if diags.HasErrors() {
				*d.failed = true
				continue
			}
			entries = append(entries, portEntry{val: v, rng: e.Range()})
		}
	} else {
		v, ok := d.raw("ports")
		if !ok {
			return nil
		}
		if !v.IsWhollyKnown() {
			d.unknown(a)
			return nil
		}
		ty := v.Type()
		switch {
		case ty.IsObjectType() || ty.IsMapType():
			for it := v.ElementIterator(); it.Next(); {
				k, e := it.Element()
				entries = append(entries, portEntry{key: k.AsString(), hasKey: true, val: e, rng: a.Expr.Range()})
			}
		case ty.IsTupleType() || ty.IsListType() || ty.IsSetType():
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				entries = append(entries, portEntry{val: e, rng: a.Expr.Range()})
			}
		default:
			l.errorf(a.Expr.Range(), "Incorrect attribute value type",
				"The ports of %s must be a map of name to port, like { http = 9080 }, or a list, like [3306, \"http:9080\"]; it is a %s.", d.where, ty.FriendlyName())
			*d.failed = true
			return nil
		}
	}
	if len(entries) == 0 && !*d.failed {
		l.errorf(a.Expr.Range(), "No ports", "%s declares no ports; a Service needs at least one, like ports = { http = 9080 }.", d.where)
		return nil
	}
	var ports []Port
	byNum := map[int]Port{}
	byName := map[string]Port{}
	for _, e := range entries {
		p, ok := l.port(d, a, e)
		if !ok {
			continue
		}
		if prev, dup := byNum[p.Port]; dup {
			l.errorf(p.Range, "Duplicate port number", "%s lists port %d twice (also as %q at %s). A Service port number appears once; remove one.", d.where, p.Port, prev.Name, posString(prev.Range))
			continue
		}
		if prev, dup := byName[p.Name]; dup {
			l.errorf(p.Range, "Duplicate port name", "%s names two ports %q (%d and %d, the other at %s). Port names must be unique; name them explicitly, like { http = %d, http-alt = %d }.", d.where, p.Name, prev.Port, p.Port, posString(prev.Range), prev.Port, p.Port)
			continue
		}
		byNum[p.Port], byName[p.Name] = p, p
		ports = append(ports, p)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Port < ports[j].Port })
	return ports
}

// port checks one entry.
func (l *loader) port(d *decoder, a *hcl.Attribute, e portEntry) (Port, bool) {
	sensitive := e.val.ContainsMarked()
	if sensitive {
		l.refuseSensitive(e.rng, "ports", d.where)
	}
	v, _ := e.val.UnmarkDeep()
	shown := func(s string) string {
		if sensitive {
			return sensitiveText
		}
		return s
	}
	if !v.IsWhollyKnown() {
		d.unknown(a)
		return Port{}, false
	}
	if v.IsNull() {
		l.errorf(e.rng, "Invalid port", "A port of %s is null; write a number from 1 to 65535.", d.where)
		return Port{}, false
	}
	var num int
	name := ""
	if !e.hasKey && v.Type() == cty.String {
		// "[name:]port", as istioctl register takes it.
		s := v.AsString()
		portStr := s
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			name, portStr = s[:i], s[i+1:]
			if name == "" {
				l.errorf(e.rng, "Invalid port name", "The port %s of %s has an empty name; write name:port, like \"http:9080\", or just the number.", shown(quote(s)), d.where)
				return Port{}, false
			}
		}
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			l.errorf(e.rng, "Invalid port", "The port %s of %s is not [name:]port with a port from 1 to 65535, like \"http:9080\" or \"3306\".", shown(quote(s)), d.where)
			return Port{}, false
		}
		num = n
	} else {
		nv, err := convert.Convert(v, cty.Number)
		if err != nil {
			l.errorf(e.rng, "Invalid port", "A port of %s is %s, not a number. Write a number from 1 to 65535.", d.where, shown(friendlyValue(v)))
			return Port{}, false
		}
		n, ok := portNumber(nv)
		if !ok {
			l.errorf(e.rng, "Invalid port", "The port %s of %s is outside 1–65535. Write a port number in that range.", shown(nv.AsBigFloat().Text('f', -1)), d.where)
			return Port{}, false
		}
		num = n
		if e.hasKey {
			name = e.key
			if k, err := strconv.Atoi(e.key); err == nil {
				if k != num {
					l.errorf(e.rng, "Numeric port name differs from its port",
						"In %s, the key %q is a number, which means \"infer the name of this port\", but it maps to %d. Name the port, like tcp-%d = %d, or make the key equal the port.", d.where, e.key, num, num, num)
					return Port{}, false
				}
				name = ""
			}
		}
	}
	if name == "" {
		name = istio.PortName(num)
	} else if msg := checkDNS1123Label(name); msg != "" {
		l.errorf(e.rng, "Invalid port name", "%q (port %d of %s) is not a valid port name. %s", name, num, d.where, msg)
		return Port{}, false
	}
	return Port{Name: name, Port: num, Range: e.rng}, true
}
