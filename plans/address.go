package plans

import (
	"fmt"
	"strconv"
	"strings"
)

// Address names one resource instance, such as
// cluster.control.ilb["istio-pilot-ilb"] or vm.ecs1.file["/etc/certs/key.pem"].
//
// It is a small comparable value: use it as a map key, compare with ==, and
// sort with Compare so every listing is deterministic.
type Address struct {
	// Block is the configuration block kind the instance comes from:
	// "cluster", "vm" or "service".
	Block string
	// Name is the block's label, e.g. "control", "ecs1", "details".
	Name string
	// Type is the kind of instance within the block, e.g. "ilb", "file",
	// "unit", "service", "endpoints", "namespace", "reader", "secret".
	Type string
	// Key distinguishes instances of one Type; empty when there is only one.
	Key string
}

// String renders the address as users write it: block.name.type["key"].
func (a Address) String() string {
	var b strings.Builder
	b.WriteString(a.Block)
	b.WriteByte('.')
	b.WriteString(a.Name)
	if a.Type != "" {
		b.WriteByte('.')
		b.WriteString(a.Type)
	}
	if a.Key != "" {
		b.WriteByte('[')
		b.WriteString(strconv.Quote(a.Key))
		b.WriteByte(']')
	}
	return b.String()
}

// Target is the address prefix naming the system the instance lives on,
// e.g. "cluster.control" or "vm.ecs1". Instances of a service block live on
// clusters, so their target is chosen by the planner, not derived here.
func (a Address) Target() string { return a.Block + "." + a.Name }

// Compare orders addresses by block, name, type and key. It returns -1, 0 or 1.
func (a Address) Compare(b Address) int {
	for _, p := range [...][2]string{{a.Block, b.Block}, {a.Name, b.Name}, {a.Type, b.Type}, {a.Key, b.Key}} {
		if c := strings.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	return 0
}

// Less reports whether a sorts before b.
func (a Address) Less(b Address) bool { return a.Compare(b) < 0 }

// ParseAddress parses the String form. It accepts partial addresses
// ("vm.ecs1", "vm.ecs1.file") so that -target can name a whole block.
func ParseAddress(s string) (Address, error) {
	var a Address
	rest := s
	if i := strings.IndexByte(rest, '['); i >= 0 {
		if !strings.HasSuffix(rest, "]") {
			return a, fmt.Errorf("address %q: index must end with ]", s)
		}
		key, err := strconv.Unquote(rest[i+1 : len(rest)-1])
		if err != nil {
			return a, fmt.Errorf("address %q: index must be a quoted string, like [\"name\"]", s)
		}
		a.Key = key
		rest = rest[:i]
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return a, fmt.Errorf("address %q: want block.name or block.name.type[\"key\"]", s)
	}
	for _, p := range parts {
		if p == "" {
			return a, fmt.Errorf("address %q: empty part", s)
		}
	}
	a.Block, a.Name = parts[0], parts[1]
	if len(parts) == 3 {
		a.Type = parts[2]
	} else if a.Key != "" {
		return a, fmt.Errorf("address %q: an index needs a type, like vm.ecs1.file[\"/etc/x\"]", s)
	}
	switch a.Block {
	case "cluster", "vm", "service":
	default:
		return a, fmt.Errorf("address %q: block must be cluster, vm or service", s)
	}
	return a, nil
}

// Contains reports whether b is a, or an instance within the partial
// address a (as -target uses it).
func (a Address) Contains(b Address) bool {
	if a.Block != b.Block || a.Name != b.Name {
		return false
	}
	if a.Type == "" {
		return true
	}
	if a.Type != b.Type {
		return false
	}
	return a.Key == "" || a.Key == b.Key
}
