package views

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/providers"
)

// Graph is the view of meshx graph. It has only the human form, Graphviz
// DOT, which is itself a machine format.
type Graph interface {
	// Graph writes every instance and what it waits for.
	Graph(res []providers.Resource)
	Diagnostics(diags hcl.Diagnostics)
}

// NewGraph returns graph's view.
func NewGraph(v *View) Graph { return graphDOT{v} }

type graphDOT struct{ *View }

// Graph writes a DOT digraph, nodes and edges sorted: an edge "a" -> "b"
// means b is applied before a, and each node is labelled with its
// address and kind.
func (v graphDOT) Graph(res []providers.Resource) {
	res = slices.Clone(res)
	slices.SortFunc(res, func(a, b providers.Resource) int { return a.Addr.Compare(b.Addr) })
	var b strings.Builder
	b.WriteString("digraph meshx {\n  rankdir = \"RL\";\n  node [shape = box];\n")
	for _, r := range res {
		fmt.Fprintf(&b, "  %q [label = %q];\n", r.Addr.String(), r.Addr.String()+"\n"+r.Kind)
	}
	for _, r := range res {
		var deps []string
		for _, d := range r.DependsOn {
			deps = append(deps, d.String())
		}
		slices.Sort(deps)
		for _, d := range slices.Compact(deps) {
			fmt.Fprintf(&b, "  %q -> %q;\n", r.Addr.String(), d)
		}
	}
	b.WriteString("}\n")
	fmt.Fprint(v.stdout, b.String())
}
