package plans

import "sort"

// Plan is everything one plan decided: a change per instance (NoOp
// included), ordered by the dependencies recorded on each change.
//
// Changes, Outputs and the identity fields are what a plan file stores and
// what views render. Resources, Observed and Providers live only in memory:
// the executor needs them to render real values (secrets included) and to
// act; a saved plan gets them back by planning again and checking every
// change's Precondition.
type Plan struct {
	Environment string
	// Destroy is set for a plan that removes everything the environment owns.
	Destroy bool
	// Changes holds one entry per instance, sorted by address.
	Changes []Change
	// Outputs are the configuration's output values as known at plan time.
	Outputs []OutputValue
	// Targets are the -target addresses the plan was limited to. A
	// targeted plan is partial: it may not hold every change the
	// configuration asks for.
	Targets []string
	// Unobserved are the targets (cluster.x, vm.y) that could not be
	// observed, sorted: nothing on them, nor anything depending on them,
	// is planned, so the plan is partial. A plan file never has any.
	Unobserved []string
	// Clusters names the Kubernetes API each cluster block reached, in
	// configuration order: views print them above the plan, so nobody
	// applies to the wrong cluster. A plan file keeps none.
	Clusters []ClusterEndpoint `json:"-"`
}

// ClusterEndpoint is where one cluster block's requests go: its
// kubeconfig context ("" for none) and API server URL.
type ClusterEndpoint struct {
	Name, Context, Server string
}

// OutputValue is one output block's value. Value is JSON-shaped, or
// Unknown until apply; a sensitive value is never stored, only its
// Fingerprint.
type OutputValue struct {
	Name      string
	Value     any
	Sensitive bool
}

// Change returns the change for addr.
func (p *Plan) Change(addr Address) (Change, bool) {
	i := sort.Search(len(p.Changes), func(i int) bool { return !p.Changes[i].Addr.Less(addr) })
	if i < len(p.Changes) && p.Changes[i].Addr == addr {
		return p.Changes[i], true
	}
	return Change{}, false
}

// Summary counts changes the way Terraform's summary line does: a replace
// counts as one add and one destroy.
func (p *Plan) Summary() (add, change, destroy int) {
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			add++
		case Update:
			change++
		case Delete:
			destroy++
		case Replace:
			add++
			destroy++
		}
	}
	return
}

// HasChanges reports whether applying the plan would change anything.
// Reads alone change nothing.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != NoOp && c.Action != Read {
			return true
		}
	}
	return false
}

// Drifted returns the changes whose instance was changed outside meshx.
func (p *Plan) Drifted() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Drift {
			out = append(out, c)
		}
	}
	return out
}
