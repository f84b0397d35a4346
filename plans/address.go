package plans

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Address names one resource instance, such as
// cluster.control.ilb["istio-pilot-ilb"], vm.ecs1.file["/etc/certs/key.pem"]
// or, for a block with for_each or count, vm.web["a"].unit["istio"] and
// vm.web[0].unit["istio"].
//
// It is a small comparable value: use it as a map key, compare with ==, and
// sort with Compare so every listing is deterministic.
type Address struct {
	// Block is the configuration block kind the instance comes from:
	// "cluster", "vm" or "service".
	Block string
	// Name names the block instance: the block's label ("control",
	// "ecs1", "details"), followed by its instance key when the block has
	// for_each or count (`web["a"]`, "web[0]"; see InstanceName). It is
	// always in that canonical form, so equal instances have equal names.
	Name string
	// Type is the kind of instance within the block, e.g. "ilb", "file",
	// "unit", "service", "endpoints", "namespace", "reader", "secret".
	Type string
	// Key distinguishes instances of one Type; empty when there is only one.
	Key string
}

// InstanceKey is the key of one instance of a block with for_each (a
// string: the map key or set element) or count (a number from 0). The zero
// value is NoKey: the block has neither.
type InstanceKey struct {
	kind keyKind
	str  string
	num  int
}

type keyKind uint8

// Key kinds, in the order instance keys sort: no key, numbers, strings.
const (
	noKey keyKind = iota
	intKey
	stringKey
)

// NoKey is the key of the one instance of a block without for_each or
// count.
var NoKey = InstanceKey{}

// StringKey is the key of a for_each instance.
func StringKey(s string) InstanceKey { return InstanceKey{kind: stringKey, str: s} }

// IntKey is the key of a count instance.
func IntKey(n int) InstanceKey { return InstanceKey{kind: intKey, num: n} }

// IsNone reports whether k is NoKey.
func (k InstanceKey) IsNone() bool { return k.kind == noKey }

// Value returns the key as machine output carries it: a string for
// for_each, an int for count, nil for NoKey.
func (k InstanceKey) Value() any {
	switch k.kind {
	case stringKey:
		return k.str
	case intKey:
		return k.num
	}
	return nil
}

// String renders the key as an index, the way it follows a block's label:
// `["a"]`, "[0]", or "" for NoKey.
func (k InstanceKey) String() string {
	switch k.kind {
	case stringKey:
		return "[" + strconv.Quote(k.str) + "]"
	case intKey:
		return "[" + strconv.Itoa(k.num) + "]"
	}
	return ""
}

// Equal reports whether k and o are the same key (go-cmp uses it too).
func (k InstanceKey) Equal(o InstanceKey) bool { return k == o }

// Compare orders keys: NoKey, then numbers in numeric order (so web[2]
// comes before web[10]), then strings.
func (k InstanceKey) Compare(o InstanceKey) int {
	if c := cmp.Compare(k.kind, o.kind); c != 0 {
		return c
	}
	if c := cmp.Compare(k.num, o.num); c != 0 {
		return c
	}
	return strings.Compare(k.str, o.str)
}

// InstanceName is the Address.Name of the instance key of the block
// labelled label: `web["a"]`, "web[0]", or just "web" for NoKey.
func InstanceName(label string, key InstanceKey) string { return label + key.String() }

// SplitName splits an Address.Name into the block's label and the
// instance key. A name that is not in canonical form comes back whole,
// with NoKey.
func SplitName(name string) (label string, key InstanceKey) {
	i := strings.IndexByte(name, '[')
	if i < 0 {
		return name, NoKey
	}
	k, rest, err := parseIndex(name[i:], true)
	if err != nil || rest != "" || InstanceName(name[:i], k) != name {
		return name, NoKey
	}
	return name[:i], k
}

// Instance returns the label and instance key of a's block.
func (a Address) Instance() (label string, key InstanceKey) { return SplitName(a.Name) }

// String renders the address as users write it:
// block.name[instance key].type["key"].
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
// e.g. "cluster.control", "vm.ecs1" or `vm.web["a"]`. Instances of a
// service block live on clusters, so their target is chosen by the
// planner, not derived here.
func (a Address) Target() string { return a.Block + "." + a.Name }

// Compare orders addresses by block, block label, instance key, type and
// key. It returns -1, 0 or 1.
func (a Address) Compare(b Address) int {
	if c := strings.Compare(a.Block, b.Block); c != 0 {
		return c
	}
	al, ak := a.Instance()
	bl, bk := b.Instance()
	if c := strings.Compare(al, bl); c != 0 {
		return c
	}
	if c := ak.Compare(bk); c != 0 {
		return c
	}
	// Equal labels and keys but different names: a name not in
	// canonical form. Order by the text so the order stays total.
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}

// Less reports whether a sorts before b.
func (a Address) Less(b Address) bool { return a.Compare(b) < 0 }

// ParseAddress parses the String form. It accepts partial addresses
// ("vm.ecs1", "vm.ecs1.file", `vm.web["a"]`, "vm.web") so that -target can
// name a whole block, all instances of one, or one instance.
func ParseAddress(s string) (Address, error) {
	var a Address
	fail := func(format string, args ...any) (Address, error) {
		return Address{}, fmt.Errorf("address %q: %s", s, fmt.Sprintf(format, args...))
	}
	block, rest, ok := strings.Cut(s, ".")
	if !ok {
		return fail("want block.name or block.name.type[\"key\"]")
	}
	switch block {
	case "cluster", "vm", "service":
	default:
		return fail("block must be cluster, vm or service")
	}
	a.Block = block
	label, rest := word(rest)
	if label == "" {
		return fail("empty name")
	}
	key := NoKey
	if strings.HasPrefix(rest, "[") {
		var err error
		if key, rest, err = parseIndex(rest, true); err != nil {
			return fail("%v", err)
		}
	}
	a.Name = InstanceName(label, key)
	if rest == "" {
		return a, nil
	}
	if rest[0] != '.' {
		return fail("unexpected %q after %s", rest, a.Name)
	}
	a.Type, rest = word(rest[1:])
	if a.Type == "" {
		return fail("empty type")
	}
	if rest == "" {
		return a, nil
	}
	if !strings.HasPrefix(rest, "[\"") {
		return fail("index must be a quoted string, like [\"name\"]")
	}
	k, rest, err := parseIndex(rest, false)
	if err != nil {
		return fail("%v", err)
	}
	if rest != "" {
		return fail("unexpected %q after the index", rest)
	}
	a.Key = k.str
	return a, nil
}

// word splits s at the first '.', '[' or ']'.
func word(s string) (string, string) {
	i := strings.IndexAny(s, ".[]")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// parseIndex parses a leading ["quoted string"] or, when numbers is set,
// [digits], returning the key and what follows the bracket.
func parseIndex(s string, numbers bool) (InstanceKey, string, error) {
	if !strings.HasPrefix(s, "[") {
		return NoKey, s, fmt.Errorf("want an index")
	}
	body := s[1:]
	var k InstanceKey
	if strings.HasPrefix(body, `"`) {
		q, err := strconv.QuotedPrefix(body)
		if err != nil {
			return NoKey, s, fmt.Errorf("index must be a quoted string, like [\"name\"]")
		}
		str, _ := strconv.Unquote(q)
		k, body = StringKey(str), body[len(q):]
	} else {
		end := strings.IndexByte(body, ']')
		n, err := strconv.Atoi(body[:max(end, 0)])
		if !numbers || end < 0 || err != nil || n < 0 || strings.HasPrefix(body, "+") {
			return NoKey, s, fmt.Errorf("index must be a quoted string, like [\"name\"], or an instance number, like [0]")
		}
		k, body = IntKey(n), body[end:]
	}
	if !strings.HasPrefix(body, "]") {
		return NoKey, s, fmt.Errorf("index must end with ]")
	}
	return k, body[1:], nil
}

// Contains reports whether b is a, or an instance within the partial
// address a (as -target uses it). An address naming a block without its
// instance key (vm.web) contains every instance of it (vm.web["a"]).
func (a Address) Contains(b Address) bool {
	if a.Block != b.Block {
		return false
	}
	if a.Name != b.Name {
		al, ak := a.Instance()
		bl, _ := b.Instance()
		if !ak.IsNone() || al != bl {
			return false
		}
	}
	if a.Type == "" {
		return true
	}
	if a.Type != b.Type {
		return false
	}
	return a.Key == "" || a.Key == b.Key
}
