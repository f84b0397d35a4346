package config

import (
	"fmt"
	"math/big"
	"regexp"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/meshx-dev/meshx/plans"
)

// Repetition is how a cluster, vm or service block makes its instances,
// as Terraform's resources do: one, one per for_each key, or count.
type Repetition uint8

const (
	// Single is a block without for_each or count: one instance, named by
	// the block's label alone.
	Single Repetition = iota
	// ForEach is a block with for_each: one instance per key of a map or
	// element of a set of strings, named label["key"]; its body sees
	// each.key and each.value.
	ForEach
	// Count is a block with count: instances label[0] … label[count-1];
	// its body sees count.index.
	Count
)

// MaxInstances bounds the instances of one block. A fleet of VMs is
// hundreds; a count of a billion from a typo would exhaust memory long
// before it was refused anywhere else.
const MaxInstances = 10000

// instance is one instance of a block, with what its body may reference.
type instance struct {
	key plans.InstanceKey
	// name is the instance's name, plans.InstanceName(label, key).
	name string
	// where names it in diagnostics: `vm "ecs1"` or `vm.web["a"]`.
	where string
	// ctx is the scope with the instance's each or count.
	ctx *hcl.EvalContext
	// failed is set when decoding the instance reported an error.
	failed bool
}

// forEachKeyRe matches the for_each keys meshx accepts. Keys are part of
// instance addresses, which people type in -target flags and read in
// plans and messages, so they keep to characters that need no escaping
// inside a quoted index.
var forEachKeyRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,253}$`)

// what names the instance called name of a block of kind in diagnostics:
// `vm "ecs1"` for a block of one instance, `vm.web["a"]` for an instance
// of a block with for_each or count, followed by where its key is written
// when that is known: `vm.web["a"] (key at meshx.vars:3)`. The diagnostic
// points at the attribute in the block all instances share; the key's
// place says which entry of the map to fix.
func (l *loader) what(kind, name string) string {
	if _, key := plans.SplitName(name); !key.IsNone() {
		if at := l.keyAt[kind+"."+name]; at != "" {
			return kind + "." + name + " (key at " + at + ")"
		}
		return kind + "." + name
	}
	return fmt.Sprintf("%s %q", kind, name)
}

// repetition returns how n's block repeats, from the attributes written.
func (n *node) repetition() Repetition {
	switch {
	case n.body == nil:
		return Single
	case n.body.attrs["for_each"] != nil:
		return ForEach
	case n.body.attrs["count"] != nil:
		return Count
	}
	return Single
}

// instances evaluates n's for_each or count and returns the instances to
// decode, each with its evaluation context. ok is false when there are
// none to decode because the argument is wrong (reported, and n failed)
// or, under LoadOptions.UnsetUnknown, derives from a variable without a
// value: then the block's instances are unknown, like the variable.
func (l *loader) instances(n *node) (insts []*instance, ok bool) {
	base := l.scope.ctx()
	newInstance := func(key plans.InstanceKey, vars map[string]cty.Value) *instance {
		ctx := base
		if vars != nil {
			ctx = &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: base.Functions}
			for k, v := range base.Variables {
				ctx.Variables[k] = v
			}
			for k, v := range vars {
				ctx.Variables[k] = v
			}
		}
		name := plans.InstanceName(n.name, key)
		return &instance{key: key, name: name, where: l.what(n.kind, name), ctx: ctx}
	}
	fe, cnt := n.body.attrs["for_each"], n.body.attrs["count"]
	switch {
	case fe != nil && cnt != nil:
		l.errorf(hcl.RangeBetween(cnt.NameRange, cnt.Expr.Range()), "Both for_each and count",
			"The %s block %q has both for_each and count, but a block makes its instances one way. Keep for_each to key them by name, or count to number them.", n.kind, n.name)
		n.failed = true
		return nil, false
	case fe != nil:
		keys, vals, ok := l.forEach(n, fe, base)
		if !ok {
			return nil, false
		}
		at := l.forEachKeyRanges(fe)
		for i, k := range keys {
			if r, ok := at[k]; ok {
				l.keyAt[n.kind+"."+plans.InstanceName(n.name, plans.StringKey(k))] = posString(r)
			}
			insts = append(insts, newInstance(plans.StringKey(k), map[string]cty.Value{
				"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(k), "value": vals[i]}),
			}))
		}
		return insts, true
	case cnt != nil:
		count, ok := l.count(n, cnt, base)
		if !ok {
			return nil, false
		}
		for i := 0; i < count; i++ {
			insts = append(insts, newInstance(plans.IntKey(i), map[string]cty.Value{
				"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))}),
			}))
		}
		return insts, true
	}
	return []*instance{newInstance(plans.NoKey, nil)}, true
}

// forEach evaluates a for_each argument: a map (or object) whose keys name
// the instances and whose values are each.value, or a set of strings that
// are both. Keys are returned sorted.
func (l *loader) forEach(n *node, a *hcl.Attribute, ctx *hcl.EvalContext) ([]string, []cty.Value, bool) {
	fail := func(rng hcl.Range, summary, detail string, args ...any) ([]string, []cty.Value, bool) {
		l.errorf(rng, summary, detail, args...)
		n.failed = true
		return nil, nil, false
	}
	rng := a.Expr.Range()
	v, diags := a.Expr.Value(ctx)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		n.failed = true
		return nil, nil, false
	}
	if l.dependsOnUnset(a.Expr, map[string]bool{}) && !v.IsWhollyKnown() {
		l.unexpanded[n.key] = true // validate without a value: the keys are unknown
		return nil, nil, false
	}
	ty := v.Type()
	if v.IsMarked() || (ty.IsSetType() && v.ContainsMarked()) {
		return fail(rng, "Invalid for_each argument",
			"The for_each of %s %q derives from a sensitive value, but its keys name the instances, which plans and messages show. Use keys that are not sensitive; a map's values may be.", n.kind, n.name)
	}
	if !v.IsKnown() {
		return fail(rng, "Invalid for_each argument",
			"The for_each of %s %q depends on a value meshx learns only while applying, but its keys must be known when planning: they name the instances. Use a map or set built from variables, locals or other blocks' known attributes.", n.kind, n.name)
	}
	if v.IsNull() {
		return fail(rng, "Invalid for_each argument", "The for_each of %s %q is null. Give a map, like for_each = var.vms, or a set of strings, like for_each = toset([\"a\", \"b\"]).", n.kind, n.name)
	}
	var keys []string
	vals := map[string]cty.Value{}
	switch {
	case ty.IsMapType() || ty.IsObjectType():
		keyRng := keyRanges(a.Expr, rng)
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			keys = append(keys, k.AsString())
			vals[k.AsString()] = e
		}
		for _, k := range keys {
			if !forEachKeyRe.MatchString(k) {
				return fail(rangeOr(keyRng, k, rng), "Invalid for_each key",
					"The for_each of %s %q has the key %q, which cannot name an instance: keys are 1 to 253 letters, digits, '-', '_', '.' or ':', so that addresses like %s.%s[\"web-1\"] can be typed and read. Rename the key.", n.kind, n.name, k, n.kind, n.name)
			}
		}
	case ty.IsSetType():
		if !ty.ElementType().Equals(cty.String) && ty.ElementType() != cty.DynamicPseudoType {
			return fail(rng, "Invalid for_each argument",
				"The for_each of %s %q is a set of %s, but a set's elements name the instances, so they must be strings. Convert them, like for_each = toset([for x in var.list : tostring(x)]).", n.kind, n.name, ty.ElementType().FriendlyName())
		}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsKnown() || e.IsNull() {
				return fail(rng, "Invalid for_each argument",
					"The for_each of %s %q has an element that is null or known only after apply; every element names an instance, so each must be a known string.", n.kind, n.name)
			}
			s := e.AsString()
			if !forEachKeyRe.MatchString(s) {
				return fail(rng, "Invalid for_each key",
					"The for_each of %s %q has the element %q, which cannot name an instance: keys are 1 to 253 letters, digits, '-', '_', '.' or ':', so that addresses like %s.%s[\"web-1\"] can be typed and read. Change the element.", n.kind, n.name, s, n.kind, n.name)
			}
			keys = append(keys, s)
			vals[s] = e
		}
	case ty.IsListType() || ty.IsTupleType():
		hint := ""
		if dup := firstDuplicate(v); dup != "" {
			hint = fmt.Sprintf(" The list has %q twice, and a set keeps it once: check that is what you mean.", dup)
		}
		return fail(rng, "Invalid for_each argument",
			"The for_each of %s %q is a list, but instances are keyed by name, and a list's order is not a name: removing an element would renumber the others. Convert it to a set, like for_each = toset(%s), or use count to number the instances.%s",
			n.kind, n.name, exprText(a.Expr, "var.names"), hint)
	default:
		return fail(rng, "Invalid for_each argument",
			"The for_each of %s %q is a %s; it must be a map, like for_each = var.vms, or a set of strings, like for_each = toset([\"a\", \"b\"]).", n.kind, n.name, ty.FriendlyName())
	}
	if len(keys) > MaxInstances {
		return fail(rng, "Too many instances", "The for_each of %s %q has %d keys; meshx plans at most %d instances of one block. Split the block.", n.kind, n.name, len(keys), MaxInstances)
	}
	sort.Strings(keys)
	out := make([]cty.Value, len(keys))
	for i, k := range keys {
		out[i] = vals[k]
	}
	return keys, out, true
}

// forEachKeyRanges returns where each key of a for_each map is written:
// in the argument itself when it is a literal map, or in the value of the
// variable it names (var.web) when that value is a literal map in a file
// and the variable is not sensitive (the line would show the value).
func (l *loader) forEachKeyRanges(a *hcl.Attribute) map[string]hcl.Range {
	if r := keyRanges(a.Expr, a.Expr.Range()); len(r) > 0 {
		return r
	}
	t, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() || t.RootName() != "var" || len(t) != 2 {
		return nil
	}
	d := l.varDecls[attrStep(t, 1)]
	if d == nil || d.valueExpr == nil || d.v.Sensitive {
		return nil
	}
	return keyRanges(d.valueExpr, d.valueExpr.Range())
}

// firstDuplicate returns the first string that a list of strings holds
// twice, or "".
func firstDuplicate(v cty.Value) string {
	seen := map[string]bool{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsKnown() || e.IsNull() || e.Type() != cty.String || e.IsMarked() {
			continue
		}
		if seen[e.AsString()] {
			return e.AsString()
		}
		seen[e.AsString()] = true
	}
	return ""
}

// exprText returns the source of a traversal expression, like var.names,
// or fallback for anything else.
func exprText(expr hcl.Expression, fallback string) string {
	if t, diags := hcl.AbsTraversalForExpr(expr); !diags.HasErrors() {
		return traversalString(t)
	}
	return fallback
}

// count evaluates a count argument: a whole number from 0 to MaxInstances.
func (l *loader) count(n *node, a *hcl.Attribute, ctx *hcl.EvalContext) (int, bool) {
	fail := func(detail string, args ...any) (int, bool) {
		l.errorf(a.Expr.Range(), "Invalid count argument", detail, args...)
		n.failed = true
		return 0, false
	}
	v, diags := a.Expr.Value(ctx)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		n.failed = true
		return 0, false
	}
	if l.dependsOnUnset(a.Expr, map[string]bool{}) && !v.IsKnown() {
		l.unexpanded[n.key] = true // validate without a value: the count is unknown
		return 0, false
	}
	if v.IsMarked() {
		return fail("The count of %s %q derives from a sensitive value, but it decides which instances exist, which plans show. Use a value that is not sensitive.", n.kind, n.name)
	}
	if !v.IsKnown() {
		return fail("The count of %s %q depends on a value meshx learns only while applying, but it must be known when planning. Use a number, a variable or a local.", n.kind, n.name)
	}
	nv, err := convert.Convert(v, cty.Number)
	if err != nil || nv.IsNull() {
		return fail("The count of %s %q must be a whole number, like count = 3; it is %s.", n.kind, n.name, friendlyValue(v))
	}
	bf := nv.AsBigFloat()
	if !bf.IsInt() || bf.Sign() < 0 || bf.Cmp(big.NewFloat(MaxInstances)) > 0 {
		return fail("The count of %s %q is %s; it must be a whole number from 0 to %d.", n.kind, n.name, bf.Text('f', -1), MaxInstances)
	}
	i, _ := bf.Int64()
	return int(i), true
}

// decodeInstances decodes every instance of the block of node n with
// decode, which returns the value references to that instance evaluate
// to, and returns what references to the block evaluate to: the one
// instance's value; for for_each an object of them by key (vm.web["a"]);
// for count a tuple (vm.web[0], vm.web[*].mesh_ip). A block whose
// instances are unknown (validate without a value for its for_each)
// evaluates as unknown.
func (l *loader) decodeInstances(n *node, decode func(*node, *instance) cty.Value) cty.Value {
	insts, ok := l.instances(n)
	if !ok {
		return cty.DynamicVal
	}
	vals := make([]cty.Value, len(insts))
	for i, inst := range insts {
		vals[i] = decode(n, inst)
		n.failed = n.failed || inst.failed
	}
	keys := make([]plans.InstanceKey, len(insts))
	for i, inst := range insts {
		keys[i] = inst.key
	}
	return collection(n.repetition(), keys, vals)
}

// collection builds the value of a block from its instances' keys and
// values.
func collection(rep Repetition, keys []plans.InstanceKey, vals []cty.Value) cty.Value {
	switch rep {
	case ForEach:
		m := make(map[string]cty.Value, len(keys))
		for i, k := range keys {
			m[k.Value().(string)] = vals[i]
		}
		return cty.ObjectVal(m)
	case Count:
		return cty.TupleVal(vals)
	}
	if len(vals) != 1 {
		return cty.DynamicVal
	}
	return vals[0]
}

// instanceDecoder returns a decoder for the body of one instance of n's
// block: it evaluates in the instance's context, names the instance in
// diagnostics and records failures on it.
func (l *loader) instanceDecoder(n *node, inst *instance, ranges map[string]hcl.Range) *decoder {
	return &decoder{l: l, ctx: inst.ctx, body: n.body, where: inst.where, ranges: ranges, failed: &inst.failed}
}

// register records the value references to the instance name of a block of
// kind evaluate to, so that instanceRefs can tell a reference to it from
// a look-alike object; it returns obj.
func (l *loader) register(kind, name string, obj cty.Value) cty.Value {
	if l.objects[kind] == nil {
		l.objects[kind] = map[string]cty.Value{}
	}
	l.objects[kind][name] = obj
	return obj
}

// repetitionArg names the argument that repeats n's block.
func repetitionArg(n *node) string {
	if n.repetition() == Count {
		return "count"
	}
	return "for_each"
}

// keyExpr is how n's body refers to an instance's key.
func keyExpr(n *node) string {
	if n.repetition() == Count {
		return "count.index"
	}
	return "each.key"
}

// clusterRef decodes the cluster attribute of a vm or service: a
// reference to one cluster instance, returning its name, or "".
func (d *decoder) clusterRef() string {
	names, _, _ := d.instanceRefs("cluster", "cluster", false)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// keyValue is what the key attribute of an instance's object holds:
// each.key, count.index, or null.
func keyValue(key plans.InstanceKey) cty.Value {
	switch k := key.Value().(type) {
	case string:
		return cty.StringVal(k)
	case int:
		return cty.NumberIntVal(int64(k))
	}
	return cty.NullVal(cty.String)
}

// instanceKey is the inverse of keyValue.
func instanceKey(v cty.Value) (plans.InstanceKey, bool) {
	switch {
	case !v.IsKnown():
		return plans.NoKey, false
	case v.IsNull():
		return plans.NoKey, true
	case v.Type() == cty.String:
		return plans.StringKey(v.AsString()), true
	case v.Type() == cty.Number:
		if i, acc := v.AsBigFloat().Int64(); acc == big.Exact {
			return plans.IntKey(int(i)), true
		}
	}
	return plans.NoKey, false
}

// instanceRefs evaluates an attribute that refers to instances of blocks
// of kind ("vm" or "cluster"): one instance (vm.ecs1, vm.web["a"],
// each.value), every instance of a block (vm.web), or, when many is set,
// a list of those, like [vm.db, vm.web]. It returns the instances' names
// in order, each with the range of the list element it came from.
// unknown is set when some element is not known (a block that failed, or
// validate without a value for a for_each): the list is then incomplete.
func (d *decoder) instanceRefs(name, kind string, many bool) (names []string, ranges []hcl.Range, unknown bool) {
	a := d.attr(name)
	if a == nil {
		return nil, nil, false
	}
	d.ranges[d.prefix+name] = a.Expr.Range()
	exprs := []hcl.Expression{a.Expr}
	if list, diags := hcl.ExprList(a.Expr); many && !diags.HasErrors() {
		exprs = list
		if len(list) == 0 {
			d.l.errorf(a.Expr.Range(), "Missing "+kind+" reference", "The %s of %s must name at least one %s, like %s = %s.%s.", name, d.where, kind, name, kind, exampleName[kind])
			*d.failed = true
		}
	}
	example := fmt.Sprintf("like %s = %s.%s, or %s.web[\"a\"] for one instance of a block with for_each", name, kind, exampleName[kind], kind)
	if many {
		example = fmt.Sprintf("one (%s.%s, %s.web[\"a\"]), every instance of a block with for_each or count (%s.web), or a list of them, like [%s.a, %s.b]", kind, exampleName[kind], kind, kind, kind, kind)
	}
	for _, e := range exprs {
		v, diags := e.Value(d.ctx)
		d.l.diags = append(d.l.diags, diags...)
		if diags.HasErrors() {
			*d.failed = true
			continue
		}
		depth := 0
		if many {
			depth = 2 // a list of blocks' collections of instances
		}
		found, unk, ok := d.l.refsIn(kind, v, depth)
		if !ok {
			d.l.errorf(e.Range(), "Invalid "+kind+" reference", "The %s of %s must refer to %s blocks: %s.", name, d.where, kind, example)
			*d.failed = true
			continue
		}
		unknown = unknown || unk
		for _, f := range found {
			names = append(names, f)
			ranges = append(ranges, e.Range())
		}
	}
	return names, ranges, unknown
}

// refsIn returns the names of the instances of blocks of kind that v is
// or holds: an instance's object, or, depth levels deep, collections of
// them (a block with for_each or count is an object or tuple of its
// instances; a list of blocks is one more level). ok is false when v is
// something else.
func (l *loader) refsIn(kind string, v cty.Value, depth int) (names []string, unknown, ok bool) {
	if !v.IsKnown() {
		return nil, true, true
	}
	if v.IsNull() || v.IsMarked() {
		return nil, false, false
	}
	ty := v.Type()
	if ty.IsObjectType() && ty.HasAttribute("name") && ty.HasAttribute("key") {
		label, key := v.GetAttr("name"), v.GetAttr("key")
		k, kok := instanceKey(key)
		if label.Type() != cty.String || !label.IsKnown() || label.IsNull() || !kok {
			return nil, false, false
		}
		name := plans.InstanceName(label.AsString(), k)
		obj, found := l.objects[kind][name]
		if !found || !obj.RawEquals(v) {
			return nil, false, false
		}
		return []string{name}, false, true
	}
	if depth == 0 || !(ty.IsObjectType() || ty.IsTupleType() || ty.IsListType() || ty.IsSetType() || ty.IsMapType()) {
		return nil, false, false
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		n, u, eok := l.refsIn(kind, e, depth-1)
		if !eok {
			return nil, false, false
		}
		names = append(names, n...)
		unknown = unknown || u
	}
	return names, unknown, true
}

// checkInstanceRef reports a reference to a block that uses its instance
// key the wrong way: an attribute of a block with for_each or count
// without saying which instance, or an index on a block of one instance.
// rest is the traversal after kind.name.
func (l *loader) checkInstanceRef(kind, name string, t hcl.Traversal) bool {
	n := l.nodes[kind+"."+name]
	if n == nil || len(t) < 3 {
		return true
	}
	rep := n.repetition()
	_, isAttr := t[2].(hcl.TraverseAttr)
	_, isIndex := t[2].(hcl.TraverseIndex)
	switch {
	case rep == ForEach && isAttr:
		l.errorf(t.SourceRange(), "Missing instance key",
			"%s.%s has for_each, so it is a map of its instances by key. Refer to one, like %s.%s[\"a\"]%s, or to all of them, like values(%s.%s)[*]%s.",
			kind, name, kind, name, traversalString(t[2:]), kind, name, traversalString(t[2:]))
		return false
	case rep == Count && isAttr:
		l.errorf(t.SourceRange(), "Missing instance key",
			"%s.%s has count, so it is a list of its instances. Refer to one, like %s.%s[0]%s, or to all of them, like %s.%s[*]%s.",
			kind, name, kind, name, traversalString(t[2:]), kind, name, traversalString(t[2:]))
		return false
	case rep == Single && isIndex:
		l.errorf(t.SourceRange(), "Unexpected instance key",
			"%s.%s has neither for_each nor count, so it has one instance and no key: refer to it as %s.%s.", kind, name, kind, name)
		return false
	}
	return true
}

// checkSplats reports a splat over a block with for_each, like
// vm.web[*].mesh_ip: the block is an object of its instances by key, and
// HCL applies a splat to lists only, so it would fail with a message about
// a missing attribute that does not say why.
func (l *loader) checkSplats(n *node) bool {
	ok := true
	for _, e := range n.expressions() {
		se, isSyntax := e.(hclsyntax.Expression)
		if !isSyntax {
			continue
		}
		_ = hclsyntax.VisitAll(se, func(node hclsyntax.Node) hcl.Diagnostics {
			splat, isSplat := node.(*hclsyntax.SplatExpr)
			if !isSplat {
				return nil
			}
			src, isTraversal := splat.Source.(*hclsyntax.ScopeTraversalExpr)
			if !isTraversal || len(src.Traversal) != 2 {
				return nil
			}
			root, name := src.Traversal.RootName(), attrStep(src.Traversal, 1)
			if b := l.nodes[root+"."+name]; (root == "vm" || root == "cluster" || root == "service") && b != nil && b.repetition() == ForEach {
				l.errorf(splat.Range(), "Splat of a block with for_each",
					"%s.%s has for_each, so it is an object of its instances by key, and a splat ([*]) applies to lists, as in Terraform. Write values(%s.%s)[*]…, or [for k, v in %s.%s : …].",
					root, name, root, name, root, name)
				ok = false
			}
			return nil
		})
	}
	return ok
}

// checkRepetitionRefs checks references to each and count in n: each.key
// and each.value only in a block with for_each, count.index only in one
// with count, and neither inside the for_each or count argument itself.
func (l *loader) checkRepetitionRefs(n *node, t hcl.Traversal) bool {
	root, attr := t.RootName(), attrStep(t, 1)
	rep := Single
	if n.kind == "vm" || n.kind == "service" || n.kind == "cluster" {
		rep = n.repetition()
	}
	for _, arg := range []string{"for_each", "count"} {
		if a := n.body.attrsOrNil()[arg]; a != nil && rangeContains(a.Expr.Range(), t.SourceRange()) {
			l.errorf(t.SourceRange(), "Invalid reference in "+arg,
				"The %s of a block is evaluated before its instances exist, so it cannot refer to %s. Use variables, locals or other blocks.", arg, root)
			return false
		}
	}
	switch {
	case root == "each" && rep != ForEach:
		l.errorf(t.SourceRange(), "Reference to each without for_each",
			"each.key and each.value exist only in a cluster, vm or service block with for_each; %s has none. Add for_each = <a map or set of strings>, or use another value.", n.key)
		return false
	case root == "count" && rep != Count:
		l.errorf(t.SourceRange(), "Reference to count without count",
			"count.index exists only in a cluster, vm or service block with count; %s has none. Add count = <number>, or use another value.", n.key)
		return false
	case root == "each" && attr != "key" && attr != "value":
		l.errorf(t.SourceRange(), "Invalid reference", "each has two attributes: each.key, the instance's key, and each.value, its value in the for_each map.")
		return false
	case root == "count" && attr != "index":
		l.errorf(t.SourceRange(), "Invalid reference", "count has one attribute: count.index, the instance's number from 0.")
		return false
	}
	return true
}

// attrsOrNil returns the body's attributes; nil for a node without a body
// (a local value).
func (rb *rawBody) attrsOrNil() hcl.Attributes {
	if rb == nil {
		return nil
	}
	return rb.attrs
}

func rangeContains(outer, inner hcl.Range) bool {
	return outer.Filename == inner.Filename && outer.Start.Byte <= inner.Start.Byte && inner.End.Byte <= outer.End.Byte
}

// checkDuplicateKeys reports object constructors in a configuration
// file's body, or a variables file's value, that write the same literal
// key twice: HCL keeps the last silently, and in a for_each map (or the
// variable feeding one) that drops an instance without a word. JSON
// sources are not checked.
func (l *loader) checkDuplicateKeys(body any) {
	sn, ok := body.(hclsyntax.Node)
	if !ok {
		return
	}
	_ = hclsyntax.VisitAll(sn, func(node hclsyntax.Node) hcl.Diagnostics {
		obj, ok := node.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil
		}
		seen := map[string]hcl.Range{}
		for _, item := range obj.Items {
			k, diags := item.KeyExpr.Value(nil)
			if diags.HasErrors() || !k.IsKnown() || k.IsNull() {
				continue
			}
			ks, err := convert.Convert(k, cty.String)
			if err != nil {
				continue
			}
			s := ks.AsString()
			if prev, dup := seen[s]; dup {
				l.errorf(item.KeyExpr.Range(), "Duplicate key",
					"The key %q is written twice in this object (first at %s), and only the last value would count: in a for_each map, one instance would silently disappear. Remove or rename one.", s, posString(prev))
				continue
			}
			seen[s] = item.KeyExpr.Range()
		}
		return nil
	})
}

// sortInstances orders instance names as addresses are ordered: by label,
// then numbers numerically (web[2] before web[10]), then strings.
func sortInstances[T any](list []T, name func(T) string) {
	sort.SliceStable(list, func(i, j int) bool {
		a := plans.Address{Name: name(list[i])}
		b := plans.Address{Name: name(list[j])}
		return a.Less(b)
	})
}
