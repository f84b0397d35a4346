package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
)

// scope holds the values expressions can reference.
type scope struct {
	funcs    map[string]function.Function
	vars     map[string]cty.Value
	locals   map[string]cty.Value
	clusters map[string]cty.Value
	vms      map[string]cty.Value
	services map[string]cty.Value
	meshx    cty.Value
}

func newScope(funcs map[string]function.Function) *scope {
	return &scope{
		funcs:    funcs,
		vars:     map[string]cty.Value{},
		locals:   map[string]cty.Value{},
		clusters: map[string]cty.Value{},
		vms:      map[string]cty.Value{},
		services: map[string]cty.Value{},
		meshx:    cty.EmptyObjectVal,
	}
}

// ctx returns an evaluation context over the scope's current values.
func (s *scope) ctx() *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":     cty.ObjectVal(s.vars),
			"local":   cty.ObjectVal(s.locals),
			"cluster": cty.ObjectVal(s.clusters),
			"vm":      cty.ObjectVal(s.vms),
			"service": cty.ObjectVal(s.services),
			"meshx":   s.meshx,
		},
		Functions: s.funcs,
	}
}

// evalState is what Config keeps to rebuild evaluation contexts with
// apply-time values.
type evalState struct {
	funcs    map[string]function.Function
	vars     map[string]cty.Value
	vms      map[string]cty.Value
	services map[string]cty.Value
	meshx    cty.Value
	clusters []*Cluster
	// clusterVals are the values of cluster blocks at load time, by
	// label, and clusterReps how each block repeats: EvalContext builds
	// them again from clusters with the apply-time values.
	clusterVals map[string]cty.Value
	clusterReps map[string]Repetition
	profile     string
	istioNS     string
	locals      []*hcl.Attribute // in dependency order
}

func (l *loader) evalState() *evalState {
	st := &evalState{
		funcs:       l.scope.funcs,
		vars:        l.scope.vars,
		vms:         l.scope.vms,
		services:    l.scope.services,
		meshx:       l.scope.meshx,
		clusters:    l.cfg.Clusters,
		clusterVals: l.scope.clusters,
		clusterReps: map[string]Repetition{},
		profile:     l.profile,
		istioNS:     l.istioNS,
	}
	for _, n := range l.order {
		switch n.kind {
		case "local":
			st.locals = append(st.locals, n.attr)
		case "cluster":
			st.clusterReps[n.name] = n.repetition()
		}
	}
	return st
}

// EvalContext returns the context expressions of c are evaluated in, with
// the apply-time values in known: ILB addresses and discovered service
// CIDRs. Values not in known stay unknown. Locals are evaluated again, so
// locals derived from known values become known; their diagnostics are
// returned.
func (c *Config) EvalContext(known Known) (*hcl.EvalContext, hcl.Diagnostics) {
	st := c.eval
	if st == nil {
		return newScope(functions(c.Dir, nil)).ctx(), nil
	}
	s := &scope{
		funcs:    st.funcs,
		vars:     st.vars,
		locals:   map[string]cty.Value{},
		clusters: map[string]cty.Value{},
		vms:      st.vms,
		services: st.services,
		meshx:    st.meshx,
	}
	for label, v := range st.clusterVals {
		s.clusters[label] = v
	}
	byLabel := map[string][]*Cluster{}
	for _, cl := range st.clusters {
		label, _ := plans.SplitName(cl.Name)
		byLabel[label] = append(byLabel[label], cl)
	}
	for label, cls := range byLabel {
		keys := make([]plans.InstanceKey, len(cls))
		vals := make([]cty.Value, len(cls))
		for i, cl := range cls {
			keys[i], vals[i] = cl.Key, clusterObject(cl, st.profile, st.istioNS, known)
		}
		s.clusters[label] = collection(st.clusterReps[label], keys, vals)
	}
	var diags hcl.Diagnostics
	for _, a := range st.locals {
		v, d := a.Expr.Value(s.ctx())
		diags = append(diags, d...)
		if d.HasErrors() {
			v = cty.DynamicVal
		}
		s.locals[a.Name] = v
	}
	return s.ctx(), diags
}

// EvalExpr evaluates expr (such as Output.Expr) with the apply-time values
// in known. The result carries no marks; whether it is secret is decided by
// the block it came from (Output.Sensitive, EnvMap.Sensitive).
func (c *Config) EvalExpr(expr hcl.Expression, known Known) (cty.Value, hcl.Diagnostics) {
	ctx, diags := c.EvalContext(known)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, d := expr.Value(ctx)
	diags = append(diags, d...)
	v, _ = v.UnmarkDeep()
	return v, diags
}

// EvalEnv evaluates a VM's sidecar_env or cluster_env with the apply-time
// values in known. It is an error for a value to be still unknown.
func (c *Config) EvalEnv(m EnvMap, known Known) (map[string]string, hcl.Diagnostics) {
	out := map[string]string{}
	for k, v := range m.Values {
		out[k] = v
	}
	if m.Expr == nil || len(m.Unknown) == 0 {
		return out, nil
	}
	v, diags := c.EvalExpr(m.Expr, known)
	if diags.HasErrors() {
		return nil, diags
	}
	for _, k := range m.Unknown {
		e := cty.NullVal(cty.String)
		if ev, ok := element(v, k); ok {
			e = ev
			if ev.IsKnown() && !ev.IsNull() {
				if cv, err := convert.Convert(ev, cty.String); err == nil {
					e = cv
				}
			}
		}
		if !e.IsKnown() || e.IsNull() || e.Type() != cty.String {
			rng := m.Range
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value still unknown",
				Detail:   "The setting " + k + " depends on a value that is still not known. This is a bug in meshx's ordering: the value it depends on should have been applied first.",
				Subject:  &rng,
			})
			continue
		}
		out[k] = e.AsString()
	}
	return out, diags
}

// clusterObject is what cluster.<name> evaluates to.
func clusterObject(c *Cluster, profile, istioNS string, known Known) cty.Value {
	str := func(s string) cty.Value {
		if s == "" {
			return cty.NullVal(cty.String)
		}
		return cty.StringVal(s)
	}
	svc := cty.UnknownVal(cty.String)
	if c.ServiceCIDR != "" {
		svc = cty.StringVal(c.ServiceCIDR)
	} else if s, ok := known.ServiceCIDR[c.Name]; ok && s != "" {
		svc = cty.StringVal(s)
	}
	label, _ := plans.SplitName(c.Name)
	attrs := map[string]cty.Value{
		"name":         cty.StringVal(label),
		"key":          keyValue(c.Key),
		"role":         cty.StringVal(c.Role),
		"cluster_id":   cty.StringVal(c.ClusterID),
		"context":      str(c.Context),
		"kubeconfig":   str(c.Kubeconfig),
		"pod_cidr":     cty.StringVal(c.PodCIDR),
		"service_cidr": svc,
	}
	if c.IsControl() {
		ilbs := map[string]cty.Value{}
		for _, lb := range profileByName(profile).ILBs {
			name := lb.Name
			if lb.Key == istio.IstiodILB.Key && c.IstiodExposure == ExposureEastWest {
				name = c.EastWestGateway // istiod's address is the gateway's
			}
			o := map[string]cty.Value{
				"name":      cty.StringVal(name),
				"namespace": cty.StringVal(lb.Namespace(istioNS)),
				"address":   cty.UnknownVal(cty.String),
				"ip":        cty.UnknownVal(cty.String),
				"hostname":  cty.UnknownVal(cty.String),
			}
			if st, ok := known.ILB[c.Name][lb.Key]; ok {
				o["address"] = str(st.Address())
				o["ip"] = str(st.IP)
				o["hostname"] = str(st.Hostname)
			}
			ilbs[lb.Key] = cty.ObjectVal(o)
		}
		attrs["ilb"] = cty.ObjectVal(ilbs)
	}
	return cty.ObjectVal(attrs)
}

func meshxObject(m Meshx) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"environment": cty.StringVal(m.Environment),
		"adopt":       cty.BoolVal(m.Adopt),
		"istio": cty.ObjectVal(map[string]cty.Value{
			"namespace":          cty.StringVal(m.Istio.Namespace),
			"profile":            cty.StringVal(m.Istio.Profile),
			"control_plane_auth": cty.StringVal(m.Istio.ControlPlaneAuth),
		}),
	})
}

// vmObject is what vm.<name> (or vm.<name>[key]) evaluates to. name is
// the block's label and key the instance's key (null without for_each or
// count): instanceRefs tells VMs by them.
func vmObject(v *VM) cty.Value {
	label, _ := plans.SplitName(v.Name)
	return cty.ObjectVal(map[string]cty.Value{
		"name":            cty.StringVal(label),
		"key":             keyValue(v.Key),
		"address":         cty.StringVal(v.Address),
		"mesh_ip":         cty.StringVal(v.MeshIP),
		"namespace":       cty.StringVal(v.Namespace),
		"service_account": cty.StringVal(v.ServiceAccount),
	})
}

// serviceObject is what service.<name> (or service.<name>[key])
// evaluates to; its name is the Kubernetes Service's.
func serviceObject(s *Service) cty.Value {
	ports := map[string]cty.Value{}
	for _, p := range s.Ports {
		ports[p.Name] = cty.NumberIntVal(int64(p.Port))
	}
	vms := make([]cty.Value, len(s.VMs))
	for i, v := range s.VMs {
		vms[i] = cty.StringVal(v)
	}
	vmList := cty.ListValEmpty(cty.String)
	if len(vms) > 0 {
		vmList = cty.ListVal(vms)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":      cty.StringVal(s.ServiceName),
		"key":       keyValue(s.Key),
		"namespace": cty.StringVal(s.Namespace),
		"fqdn":      cty.StringVal(s.ServiceName + "." + s.Namespace + ".svc.cluster.local"),
		"ports":     cty.ObjectVal(ports),
		"vms":       vmList,
	})
}

// element returns v[k] for a known map or object v.
func element(v cty.Value, k string) (cty.Value, bool) {
	if v.IsNull() || !v.IsKnown() {
		return cty.NilVal, false
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType():
		if !ty.HasAttribute(k) {
			return cty.NilVal, false
		}
		return v.GetAttr(k), true
	case ty.IsMapType():
		kv := cty.StringVal(k)
		if !v.HasIndex(kv).True() {
			return cty.NilVal, false
		}
		return v.Index(kv), true
	}
	return cty.NilVal, false
}
