package config

import (
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// node is something evaluated in dependency order: the meshx block, a
// local value, a cluster, vm, service or output block.
type node struct {
	key  string // "meshx", "local.x", "cluster.control", …
	kind string // "meshx", "local", "cluster", "vm", "service", "output"
	name string
	body *rawBody       // blocks
	attr *hcl.Attribute // locals
	// deps maps the keys of referenced nodes to the first reference's
	// range.
	deps   map[string]hcl.Range
	failed bool
}

func (n *node) declRange() hcl.Range {
	if n.attr != nil {
		return n.attr.NameRange
	}
	return n.body.block.DefRange
}

func (n *node) expressions() []hcl.Expression {
	if n.attr != nil {
		return []hcl.Expression{n.attr.Expr}
	}
	return n.body.expressions()
}

// traversals returns every reference in the node's expressions.
func (n *node) traversals() []hcl.Traversal {
	var out []hcl.Traversal
	for _, e := range n.expressions() {
		out = append(out, e.Variables()...)
	}
	return out
}

// referenceable block kinds, in evaluation-independent order.
var blockKinds = []string{"cluster", "vm", "service", "output"}

// buildNodes creates the nodes, checks every reference and orders the nodes
// so that each comes after what it references.
func (l *loader) buildNodes() {
	if len(l.meshxBlocks) > 0 {
		b := l.meshxBlocks[0]
		l.addNode(&node{key: "meshx", kind: "meshx", body: l.splitBody("meshx", b)})
	}
	for _, name := range slices.Sorted(maps.Keys(l.localAttrs)) {
		l.addNode(&node{key: "local." + name, kind: "local", name: name, attr: l.localAttrs[name]})
	}
	for _, kind := range blockKinds {
		for _, name := range slices.Sorted(maps.Keys(l.blocks[kind])) {
			l.addNode(&node{key: kind + "." + name, kind: kind, name: name, body: l.splitBody(kind, l.blocks[kind][name])})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(l.nodes)) {
		l.collectRefs(l.nodes[key])
		if !l.checkSplats(l.nodes[key]) {
			l.nodes[key].failed = true
		}
	}
	l.sortNodes()
}

func (l *loader) addNode(n *node) {
	n.deps = map[string]hcl.Range{}
	l.nodes[n.key] = n
}

// attrStep returns the attribute name at step i of t, or "".
func attrStep(t hcl.Traversal, i int) string {
	if len(t) <= i {
		return ""
	}
	if a, ok := t[i].(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}

var kindNoun = map[string]string{"cluster": "cluster", "vm": "vm", "service": "service", "local": "local value"}

// collectRefs checks the references of n and records its dependencies.
func (l *loader) collectRefs(n *node) {
	if n.kind == "cluster" {
		if _, ok := l.nodes["meshx"]; ok {
			// Clusters expose the profile's ILBs.
			n.deps["meshx"] = n.declRange()
		}
	}
	for _, t := range n.traversals() {
		root := t.RootName()
		rng := t.SourceRange()
		switch root {
		case "var":
			name := attrStep(t, 1)
			if name == "" {
				l.errorf(rng, "Invalid reference", "A reference to a variable needs its name after a dot, like var.vm_address.")
				n.failed = true
				continue
			}
			d := l.varDecls[name]
			if d == nil {
				l.errorf(rng, "Reference to undeclared input variable",
					"No variable named %q is declared. Declare it with a variable %q {} block, or fix the name%s",
					name, name, suggest(name, slices.Sorted(maps.Keys(l.varDecls))))
				n.failed = true
				continue
			}
			if !d.ok {
				n.failed = true // its own error is already reported
			}
		case "local", "cluster", "vm", "service":
			name := attrStep(t, 1)
			if name == "" {
				l.errorf(rng, "Invalid reference", "A reference to a %s needs its name after a dot, like %s.%s.", kindNoun[root], root, exampleName[root])
				n.failed = true
				continue
			}
			key := root + "." + name
			if _, ok := l.nodes[key]; !ok {
				var names []string
				for k := range l.nodes {
					if rest, ok := strings.CutPrefix(k, root+"."); ok {
						names = append(names, rest)
					}
				}
				what := root + " block"
				hint := "Declare it with a " + root + " \"" + name + "\" {} block, or fix the name"
				if root == "local" {
					what = "local value"
					hint = "Define it in a locals {} block, or fix the name"
				}
				if l.blocks[root][name] != nil {
					// Declared, but dropped for an error already reported.
					n.failed = true
					continue
				}
				l.errorf(rng, "Reference to undeclared "+what, "No %s named %q is declared. %s%s", what, name, hint, suggest(name, names))
				n.failed = true
				continue
			}
			if root != "local" && !l.checkInstanceRef(root, name, t) {
				n.failed = true
				continue
			}
			if _, seen := n.deps[key]; !seen {
				n.deps[key] = rng
			}
		case "each", "count":
			if !l.checkRepetitionRefs(n, t) {
				n.failed = true
			}
		case "meshx":
			if _, ok := l.nodes["meshx"]; !ok {
				n.failed = true // "Missing meshx block" is reported
				continue
			}
			if _, seen := n.deps["meshx"]; !seen {
				n.deps["meshx"] = rng
			}
		case "output":
			l.errorf(rng, "Invalid reference", "Outputs cannot be referenced: they are the results of an environment, not inputs. Reference what the output refers to instead.")
			n.failed = true
		default:
			l.errorf(rng, "Unknown reference",
				"There is no %q to refer to. References start with var., local., meshx., cluster., vm. or service. (and each. or count. in a block with for_each or count).", root)
			n.failed = true
		}
	}
}

var exampleName = map[string]string{"local": "name", "cluster": "control", "vm": "ecs1", "service": "details"}

// suggest ends a sentence: with a question naming the candidate closest
// to name, or with a period.
func suggest(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" {
		return ". Did you mean " + quote(s) + "?"
	}
	return "."
}

// sortNodes orders nodes depth-first so that dependencies come first, and
// reports each reference cycle once, failing the nodes on it.
func (l *loader) sortNodes() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(key string)
	visit = func(key string) {
		color[key] = grey
		stack = append(stack, key)
		n := l.nodes[key]
		for _, dep := range slices.Sorted(maps.Keys(n.deps)) {
			switch color[dep] {
			case white:
				visit(dep)
			case grey:
				// A cycle: the stack from dep to here.
				i := len(stack) - 1
				for stack[i] != dep {
					i--
				}
				cycle := append([]string(nil), stack[i:]...)
				l.reportCycle(cycle)
			}
		}
		stack = stack[:len(stack)-1]
		color[key] = black
		l.order = append(l.order, n)
	}
	for _, key := range slices.Sorted(maps.Keys(l.nodes)) {
		if color[key] == white {
			visit(key)
		}
	}
}

func (l *loader) reportCycle(cycle []string) {
	// The reference from the last node back to the first closes the cycle;
	// point at the first node's reference to the second (or itself).
	from := l.nodes[cycle[0]]
	next := cycle[0]
	if len(cycle) > 1 {
		next = cycle[1]
	}
	path := strings.Join(append(cycle, cycle[0]), " → ")
	l.errorf(from.deps[next], "Cycle in references",
		"These references form a cycle, so none of them can be evaluated: %s. Break the cycle by replacing one reference with a literal value or a variable.", path)
	for _, k := range cycle {
		l.nodes[k].failed = true
	}
}
