package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// planOutputs answers Render's questions while planning: outputs of
// instances planned so far, Unknown where an instance will change.
type planOutputs struct {
	values map[plans.Address]plans.Object
}

func (p *planOutputs) Output(addr plans.Address, name string) (any, bool) {
	o, declared := p.values[addr]
	if !declared {
		return nil, false
	}
	if v, ok := o[name]; ok {
		return v, true
	}
	return plans.Unknown, true
}

// plannedOutputs returns the outputs dependants may use at plan time: the
// observed ones when the instance stays as it is (or keeps its outputs
// through an in-place update), none (all Unknown) otherwise.
func plannedOutputs(r *providers.Resource, o providers.Observed, c plans.Change) plans.Object {
	switch {
	case c.Action == plans.NoOp && o.Exists:
		return o.Outputs
	case c.Action == plans.Update && r != nil && r.OutputsSurviveUpdate:
		return o.Outputs
	}
	return plans.Object{}
}

func precondition(o providers.Observed) plans.Precondition {
	p := plans.Precondition{Exists: o.Exists, Details: o.Details}
	if o.Exists {
		p.Digest = plans.Digest(o.Object)
	}
	return p
}

// diffResource renders r with what is known and compares it with what was
// observed.
func diffResource(r *providers.Resource, o providers.Observed, known *planOutputs, changes map[plans.Address]plans.Change) (plans.Change, hcl.Diagnostics) {
	c := plans.Change{Addr: r.Addr, Precondition: precondition(o), Drift: o.Exists && o.Drift}
	before, sensBefore := plans.Redact(o.Object)
	if o.Exists {
		c.Before = before
	}
	if o.Conflict != "" {
		return c, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Conflicting object",
			Detail:   fmt.Sprintf("%s: %s", r.Addr, o.Conflict),
		}}
	}
	if r.ReadOnly {
		c.After = c.Before
		c.Sensitive = sensBefore
		if r.Reference != "" {
			if r.AwaitReady && o.Exists {
				if missing := missingOutput(r, o); missing != "" {
					c.Action = plans.Read
					c.Reason = fmt.Sprintf("it has no %s yet; apply waits for one", missing)
				}
				return c, nil
			}
			return c, referenceDiags(r, o)
		}
		if !o.Exists {
			// It will exist once what it depends on is applied.
			c.Action = plans.Read
			c.Reason = "it does not exist yet; read during apply"
		}
		return c, nil
	}
	desired, err := r.Render(known)
	if err != nil {
		return c, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot render " + r.Addr.String(),
			Detail:   err.Error(),
		}}
	}
	after, sensAfter := plans.Redact(desired)
	c.After = after
	c.Sensitive = unionSorted(sensBefore, sensAfter)

	if !o.Exists {
		c.Action = plans.Create
		return c, nil
	}
	if !o.Owned {
		switch {
		case r.UseExisting:
			c.After = c.Before
			return c, nil
		case r.Settings.Adopt:
			c.Adopt = true
			c.Action = plans.Update
			c.Reason = "adopting an existing object"
		case !r.AdoptFreely:
			owner := o.Owner
			if owner == "" {
				owner = "nobody (created outside meshx)"
			}
			return c, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Object exists and is not managed by this environment",
				Detail: fmt.Sprintf("%s already exists, owned by %s. meshx never modifies an object it does not own. "+
					"Remove or rename the existing object, or set adopt = true on the block (or pass -adopt) to let this environment take it over.",
					r.Addr, owner),
			}}
		}
	}
	var diffs []string
	for _, k := range desiredKeys(desired) {
		if !plans.Equal(desired[k], o.Object[k]) {
			diffs = append(diffs, k)
		}
	}
	if len(diffs) > 0 {
		c.Action = plans.Update
		for _, k := range diffs {
			for _, f := range r.ForceNew {
				if f == k {
					c.Action = plans.Replace
					c.Reason = fmt.Sprintf("%s cannot change in place", k)
				}
			}
		}
	}
	if o.Renew != "" && (c.Action == plans.NoOp || c.Action == plans.Update) {
		c.Action = plans.Update
		c.Reason = o.Renew
	}
	if name := missingOutput(r, o); c.Action == plans.NoOp && name != "" {
		c.Action = plans.Update
		c.Reason = fmt.Sprintf("not ready: it has no %s yet, and apply waits for one", name)
	}
	if c.Action == plans.NoOp {
		var fired []string
		for _, t := range r.Triggers {
			if tc, ok := changes[t]; ok && tc.Action != plans.NoOp && tc.Action != plans.Read {
				fired = append(fired, t.String())
			}
		}
		if len(fired) > 0 {
			c.Action = plans.Update
			c.Reason = "inputs changed: " + strings.Join(fired, ", ")
		}
	}
	return c, nil
}

// referenceDiags reports an instance used by reference that cannot be
// used: it does not exist, or lacks an output it must have. Nothing this
// environment applies would change that, so it is an error now rather
// than a wait during apply.
func referenceDiags(r *providers.Resource, o providers.Observed) hcl.Diagnostics {
	if !o.Exists {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Referenced object does not exist",
			Detail:   fmt.Sprintf("%s does not exist. %s", r.Addr, r.Reference),
		}}
	}
	if name := missingOutput(r, o); name != "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Referenced object not ready",
			Detail:   fmt.Sprintf("%s exists but has no %s yet: the apply that creates it has not finished. %s", r.Addr, name, r.Reference),
		}}
	}
	return nil
}

// missingOutput returns the first of r's ReadyOutputs that o lacks, or "".
func missingOutput(r *providers.Resource, o providers.Observed) string {
	for _, name := range r.ReadyOutputs {
		if v, ok := o.Outputs[name]; !ok || v == nil || v == "" {
			return name
		}
	}
	return ""
}

func desiredKeys(o plans.Object) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unionSorted(lists ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// destroyChange plans the removal of a declared instance, if this
// environment owns it.
func destroyChange(r *providers.Resource, o providers.Observed) plans.Change {
	c := plans.Change{Addr: r.Addr, Precondition: precondition(o)}
	before, sens := plans.Redact(o.Object)
	if o.Exists {
		c.Before = before
		c.Sensitive = sens
	}
	if r.ReadOnly || !o.Exists || !o.Owned {
		c.After = c.Before
		return c
	}
	c.Action = plans.Delete
	c.Reason = "destroy requested"
	return c
}

// orphanChange plans the removal of an owned instance the configuration no
// longer declares.
func orphanChange(o providers.Observed) plans.Change {
	before, sens := plans.Redact(o.Object)
	return plans.Change{
		Addr:         o.Addr,
		Action:       plans.Delete,
		Before:       before,
		Sensitive:    sens,
		Reason:       "not in configuration",
		Drift:        o.Drift,
		Precondition: precondition(o),
	}
}

// reverseDependencies makes each delete wait for the deletes of everything
// that depended on it, so a destroy runs in the reverse order of creation.
func reverseDependencies(changes map[plans.Address]plans.Change) {
	rev := map[plans.Address][]plans.Address{}
	for a, c := range changes {
		for _, d := range c.DependsOn {
			if changes[d].Action == plans.Delete && c.Action == plans.Delete {
				rev[d] = append(rev[d], a)
			}
		}
	}
	for a, c := range changes {
		c.DependsOn = sortedAddrs(rev[a])
		changes[a] = c
	}
}

// deleteRank orders deletes on one target: higher ranks go first. Units
// stop before the files they read, files go before the package that
// created their directories, and a namespace goes after what is in it.
var deleteRank = map[string]int{
	"kube_namespace": 0,
	"vm_package":     1,
	"vm_file":        2, "vm_env": 2, "vm_line": 2,
	"vm_unit": 3,
}

func kindOf(plan *Plan, a plans.Address) string {
	if r, ok := plan.Resources[a]; ok {
		return r.Kind
	}
	return plan.Observed[a].Kind
}

func rankOf(kind string) int {
	if r, ok := deleteRank[kind]; ok {
		return r
	}
	return 1 // Kubernetes objects other than namespaces
}

// orderDeletes adds the rank edges between deletes on the same target.
func orderDeletes(changes map[plans.Address]plans.Change, plan *Plan) {
	type del struct {
		addr   plans.Address
		target string
		rank   int
	}
	var dels []del
	for a, c := range changes {
		if c.Action != plans.Delete {
			continue
		}
		target := plan.Observed[a].Target
		if r, ok := plan.Resources[a]; ok {
			target = r.Target
		}
		dels = append(dels, del{a, target, rankOf(kindOf(plan, a))})
	}
	for _, x := range dels {
		c := changes[x.addr]
		extra := c.DependsOn
		for _, y := range dels {
			if y.target == x.target && y.rank > x.rank {
				extra = append(extra, y.addr)
			}
		}
		c.DependsOn = sortedAddrs(extra)
		changes[x.addr] = c
	}
}
