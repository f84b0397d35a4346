package config

import (
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// Block schemas. Nested block schemas are keyed "<parent>.<type>" in
// nestedSchemas; every nested block may appear at most once except those
// in repeatable.

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "meshx"},
		{Type: "cluster", LabelNames: []string{"name"}},
		{Type: "vm", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "output", LabelNames: []string{"name"}},
	},
}

var blockSchemas = map[string]*hcl.BodySchema{
	"meshx": {
		Attributes: []hcl.AttributeSchema{
			{Name: "environment", Required: true},
			{Name: "adopt"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "istio"}},
	},
	"meshx.istio": {
		Attributes: []hcl.AttributeSchema{
			{Name: "namespace"},
			{Name: "profile"},
			{Name: "control_plane_auth"},
			{Name: "revision"},
			{Name: "mesh_id"},
			{Name: "network"},
			{Name: "trust_domain"},
			{Name: "debug_url"},
		},
	},
	"cluster": {
		Attributes: []hcl.AttributeSchema{
			{Name: "role"},
			{Name: "kubeconfig"},
			{Name: "context"},
			{Name: "request_timeout"},
			{Name: "pod_cidr", Required: true},
			{Name: "service_cidr"},
			{Name: "cluster_id"},
			{Name: "service_account"},
			{Name: "token_lifetime"},
			{Name: "adopt"},
			{Name: "for_each"},
			{Name: "count"},
			{Name: "istiod_exposure"},
			{Name: "eastwest_gateway"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "mesh_expansion"}, {Type: "remote_secret"}},
	},
	"cluster.mesh_expansion": {
		Attributes: []hcl.AttributeSchema{
			// load_balancer is required unless manage = false (decodeCluster).
			{Name: "load_balancer"},
			{Name: "annotations"},
			{Name: "wait_timeout"},
			{Name: "manage"},
		},
	},
	"cluster.remote_secret": {
		Attributes: []hcl.AttributeSchema{
			{Name: "manage"},
			{Name: "server"},
			{Name: "tls_server_name"},
		},
	},
	"vm": {
		Attributes: []hcl.AttributeSchema{
			{Name: "address", Required: true},
			{Name: "mesh_ip"},
			{Name: "namespace"},
			{Name: "service_account"},
			{Name: "sidecar_env"},
			{Name: "cluster_env"},
			{Name: "certs_mode"},
			{Name: "cluster"},
			{Name: "for_each"},
			{Name: "count"},
			{Name: "workload_group"},
			{Name: "labels"},
			{Name: "auto_register"},
			{Name: "token_lifetime"},
			{Name: "network"},
			{Name: "locality"},
			{Name: "weight"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "ssh"}, {Type: "sidecar_package"}, {Type: "package", LabelNames: []string{"name"}}, {Type: "probe"}},
	},
	// vm.probe is the WorkloadGroup's spec.probe (Istio's ReadinessProbe).
	"vm.probe": {
		Attributes: []hcl.AttributeSchema{
			{Name: "initial_delay"},
			{Name: "period"},
			{Name: "timeout"},
			{Name: "success_threshold"},
			{Name: "failure_threshold"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "http_get"}, {Type: "tcp_socket"}, {Type: "exec"}},
	},
	"vm.probe.http_get": {
		Attributes: []hcl.AttributeSchema{{Name: "path"}, {Name: "port", Required: true}},
	},
	"vm.probe.tcp_socket": {
		Attributes: []hcl.AttributeSchema{{Name: "port", Required: true}},
	},
	"vm.probe.exec": {
		Attributes: []hcl.AttributeSchema{{Name: "command", Required: true}},
	},
	"vm.ssh": {
		Attributes: []hcl.AttributeSchema{
			{Name: "user"},
			{Name: "port"},
			{Name: "private_key_file"},
			{Name: "use_agent"},
			{Name: "known_hosts_file"},
			{Name: "bastion"},
			{Name: "sudo"},
			{Name: "trust_on_first_use"},
			{Name: "connect_timeout"},
		},
	},
	"vm.sidecar_package": packageSchema,
	"vm.package":         packageSchema,
	"service": {
		Attributes: []hcl.AttributeSchema{
			{Name: "name"},
			{Name: "namespace"},
			{Name: "vm", Required: true},
			{Name: "ports", Required: true},
			{Name: "service_account"},
			{Name: "labels"},
			{Name: "annotations"},
			{Name: "cluster"},
			{Name: "allow_namespace_mismatch"},
			{Name: "for_each"},
			{Name: "count"},
		},
	},
	"variable": {
		Attributes: []hcl.AttributeSchema{
			{Name: "type"},
			{Name: "default"},
			{Name: "description"},
			{Name: "sensitive"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
	},
	"variable.validation": {
		Attributes: []hcl.AttributeSchema{
			{Name: "condition", Required: true},
			{Name: "error_message", Required: true},
		},
	},
	"output": {
		Attributes: []hcl.AttributeSchema{
			{Name: "value", Required: true},
			{Name: "description"},
			{Name: "sensitive"},
		},
	},
}

// packageSchema is a sidecar package: sidecar_package, or package "<name>"
// for the profiles that ship the sidecar as several packages.
var packageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source", Required: true},
		{Name: "sha256"},
	},
}

// repeatable lists the nested blocks that may appear more than once.
var repeatable = map[string]bool{"variable.validation": true, "vm.package": true}

// rawBody is a block body split by its schema, with nested blocks split
// recursively.
type rawBody struct {
	kind   string // schema key, e.g. "vm.ssh"
	block  *hcl.Block
	attrs  hcl.Attributes
	blocks map[string]*rawBody   // at most one of each, except repeatable
	multi  map[string][]*rawBody // repeatable nested blocks
}

// splitBody applies the schema of kind to block's body.
func (l *loader) splitBody(kind string, block *hcl.Block) *rawBody {
	content, diags := block.Body.Content(blockSchemas[kind])
	l.diags = append(l.diags, diags...)
	rb := &rawBody{kind: kind, block: block, attrs: content.Attributes, blocks: map[string]*rawBody{}, multi: map[string][]*rawBody{}}
	for _, nb := range content.Blocks {
		key := kind + "." + nb.Type
		child := l.splitBody(key, nb)
		if repeatable[key] {
			rb.multi[nb.Type] = append(rb.multi[nb.Type], child)
			continue
		}
		if prev, dup := rb.blocks[nb.Type]; dup {
			l.errorf(nb.DefRange, "Duplicate "+nb.Type+" block",
				"A %s block may appear only once here; the first is at %s. Merge the two blocks.",
				nb.Type, posString(prev.block.DefRange))
			continue
		}
		rb.blocks[nb.Type] = child
	}
	return rb
}

// expressions returns every attribute expression of the body and its nested
// blocks, in a stable order.
func (rb *rawBody) expressions() []hcl.Expression {
	var out []hcl.Expression
	for _, name := range slices.Sorted(maps.Keys(rb.attrs)) {
		out = append(out, rb.attrs[name].Expr)
	}
	for _, name := range slices.Sorted(maps.Keys(rb.blocks)) {
		out = append(out, rb.blocks[name].expressions()...)
	}
	for _, name := range slices.Sorted(maps.Keys(rb.multi)) {
		for _, c := range rb.multi[name] {
			out = append(out, c.expressions()...)
		}
	}
	return out
}
