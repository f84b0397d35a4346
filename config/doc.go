// Package config reads a meshx environment: every *.hcl file of one
// directory, plus variable values from the environment (MESHX_VAR_<name>),
// meshx.vars, *.auto.vars and the command line. It decodes the meshx,
// cluster, vm, service, variable, locals and output blocks, evaluates
// variables, locals and references between blocks, and checks the result
// (types, names, references, cycles, CIDR overlaps, ports, namespaces, …).
//
// The entry point is Load, which returns a fully evaluated, typed Config and
// hcl.Diagnostics. Every diagnostic carries a Subject range (except those about
// command-line values, which have no source), a short Summary and a Detail that
// says how to fix the problem. Config.Files holds the parsed sources so a
// caller can render diagnostics with snippets.
//
// Files are untrusted input. Before parsing, Load refuses a file larger than
// MaxFileSize and an expression nested deeper than MaxNesting (brackets,
// quotes, interpolations, directives and operators count), with a
// diagnostic at the file and line: HCL's parser and evaluator recurse per
// level, and a stack overflow kills a Go program beyond recovery. The same
// limits hold for variables files, -var values and templatefile templates.
//
// # Many instances from one block
//
// A cluster, vm or service block may have for_each (a map, or a set of
// strings) or count (a whole number), with Terraform's semantics: one
// instance per key, or count instances, each decoded with each.key and
// each.value, or count.index, in scope. Config holds one Cluster, VM or
// Service per instance, named as addresses name it (`web["a"]`, "web[0]";
// plans.InstanceName), and diagnostics about an instance name it the same
// way. vm.web evaluates to an object of instances by key (for_each) or a
// tuple (count), so vm.web["a"].mesh_ip, values(vm.web)[*].mesh_ip and
// vm.web[*].mesh_ip work as in Terraform; a service's vm takes one
// instance, a whole block (all its instances) or a list of either. Keys
// must be known at plan time and not sensitive: they name instances.
//
// # Values known only after apply
//
// Some values exist only once meshx has applied: the addresses of the
// internal load balancers (cluster.<c>.ilb.<key>.address, .ip, .hostname)
// and, when a cluster's service_cidr is not set, the service CIDR meshx
// discovers (cluster.<c>.service_cidr). Load evaluates them as cty unknown
// values. Attributes that must be known while planning (addresses, names,
// CIDRs, ports) are errors when they depend on such values. Three places may
// depend on them: outputs, and the values of a vm's sidecar_env and
// cluster_env. For those the raw hcl.Expression is kept (Output.Expr,
// EnvMap.Expr) and the planner re-evaluates it once the values are known:
//
//	known := config.Known{
//		ILB:         map[string]map[string]config.ILBStatus{"control": {"pilot": {IP: "10.0.0.5"}}},
//		ServiceCIDR: map[string]string{"control": "10.96.0.0/12"},
//	}
//	v, diags := cfg.EvalExpr(out.Expr, known)            // an output
//	env, diags := cfg.EvalEnv(vm.SidecarEnv, known)      // sidecar.env settings
//
// Config.EvalContext(known) returns the complete evaluation context (var,
// local, meshx, cluster, vm, service and the functions) for other uses.
// Locals are re-evaluated against the known values, so a local derived from
// an ILB address becomes known too.
//
// # Sensitive values
//
// Values derived from a sensitive variable, and what file() reads from a
// private key (or from a file a private_key_file attribute names), carry a
// cty mark. Typed configuration holds no marks; instead Output.Sensitive and
// EnvMap.Sensitive say which values are secret, a non-sensitive output of
// a marked value is an error, and so is a marked value in any other
// attribute (plans would show it). No diagnostic quotes a marked value: it
// says "(sensitive value)", leaves out an error_message that refers to one,
// and points diagnostics about a sensitive variable's value at its
// declaration rather than at the line of a variables file that holds it.
//
// # What config does not do
//
// It never contacts a cluster or a VM, never reads a kubeconfig or an SSH key
// (it only resolves their paths; file() may read one, and then marks it),
// and never prints: rendering diagnostics is
// the CLI's job. It reads the Istio profiles (names, ILB keys, cluster.env
// keys) from package istio to check references and settings;
// rendering files for a profile lives there, not here.
package config
