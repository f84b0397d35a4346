package providers

import (
	"context"
	"time"

	"github.com/meshx-dev/meshx/plans"
)

// Resource is one desired instance, built by the planner from configuration
// and handed to the provider of its target.
type Resource struct {
	Addr plans.Address
	// Target names the system the instance lives on and so the provider
	// that handles it: "cluster.control", "vm.ecs1".
	Target string
	// Kind tells the provider what the instance is, e.g. "kube_service",
	// "kube_endpoints", "kube_namespace", "vm_file", "vm_env",
	// "vm_line", "vm_package", "vm_unit". Each provider documents its kinds
	// and the attributes of their Objects.
	Kind string
	// DependsOn are the instances whose outputs feed Render or that must
	// exist first. The executor applies them before this one.
	DependsOn []plans.Address
	// Triggers are instances whose change in the same run makes this one
	// act even if its own attributes match (a unit restarts when one of its
	// input files changed). Every trigger is also in DependsOn.
	Triggers []plans.Address
	// Render returns the desired Object, given the outputs of DependsOn.
	// While planning, outputs not known yet are Unknown and Render must
	// propagate them (a file whose text uses an unknown address has Unknown
	// content). At apply every output is known. Secret values are Sensitive.
	Render func(in Outputs) (plans.Object, error)
	// ForceNew lists attributes whose change cannot be made in place; a
	// difference there plans Replace.
	ForceNew []string
	// ReadyOutputs are outputs the instance must have to be complete (a
	// load balancer's "address"). An instance that exists and matches its
	// configuration but lacks one is planned as an Update, so that apply
	// waits for it, instead of a no-op whose dependants could never be
	// rendered.
	ReadyOutputs []string
	// OutputsSurviveUpdate says an in-place Update keeps the outputs the
	// instance has now (a load balancer keeps its address when a port
	// changes), so dependants can be planned with known values.
	OutputsSurviveUpdate bool
	// ReadOnly marks an instance meshx only reads (cluster facts, the
	// Citadel secret): always NoOp, never deleted; Apply waits for it to
	// exist and returns its outputs.
	ReadOnly bool
	// Reference, with ReadOnly, marks an instance another environment owns
	// and this one uses by reference (mesh_expansion { manage = false }):
	// nothing this environment applies creates it, so it must exist, with
	// every ReadyOutputs, when planning, or the plan stops. Reference says
	// in full sentences how to make it exist, for that error.
	Reference string
	// AwaitReady, with Reference, lets a referenced object that exists
	// but lacks some of its ReadyOutputs be planned as a Read that apply
	// waits on (an east-west gateway whose cloud load balancer has no
	// address yet), where otherwise the plan stops.
	AwaitReady bool
	// UseExisting marks an instance meshx may use when it already exists
	// without owning it (a namespace someone created): NoOp, and never
	// deleted since meshx did not create it.
	UseExisting bool
	// AdoptFreely lets meshx take over an existing instance it does not own
	// without Settings.Adopt (files and units on a VM, which meshx records in
	// its manifest when it first writes them). Without it, an existing
	// instance owned by nobody or by someone else stops the plan.
	AdoptFreely bool
	// Private is what the provider's own builder attached for the
	// provider's Observe and Apply and that is not an attribute: whether a
	// VM file is secret (so its bytes are never read back), where a package
	// comes from. The planner and executor pass it along untouched and never
	// show or store it.
	Private any
	// Settings tune how the provider acts (timeouts, adoption) and are never
	// diffed or shown as attributes.
	Settings Settings
}

// Settings are per-instance knobs that are not part of the desired state.
type Settings struct {
	// WaitTimeout bounds waits inside Apply, such as a load balancer address.
	WaitTimeout time.Duration
	// Adopt allows taking ownership of an existing object meshx did not create.
	Adopt bool
	// ForceConflicts lets server-side apply take fields owned by others.
	ForceConflicts bool
}

// Outputs gives Render the outputs of the instances a resource depends on.
type Outputs interface {
	// Output returns the named output of the instance at addr, Unknown if it
	// is not known yet, and false if addr has no such output.
	Output(addr plans.Address, name string) (any, bool)
}

// Observed is the live state of one instance.
type Observed struct {
	Addr plans.Address
	// Target is the target the instance was observed on; the planner sets
	// it.
	Target string
	// Kind is the resource kind (for orphans, which have no Resource).
	Kind string
	// Exists is whether the instance exists on the target.
	Exists bool
	// Owned is whether it carries this environment's ownership marks
	// (labels on Kubernetes objects, the manifest on a VM).
	Owned bool
	// Owner names who owns it when it exists but is not this environment's
	// (another environment, another tool, or "" for nobody).
	Owner string
	// Object is the attribute view of the live instance, projected onto the
	// attributes meshx manages, with Sensitive values for secrets (Redact
	// turns them into fingerprints).
	Object plans.Object
	// Drift is set when the live instance differs from what meshx last
	// applied to it.
	Drift bool
	// Renew, when set, says why the instance must be made anew although
	// its attributes match what is desired: a token in the last third of
	// its life ("expires in 14m; re-minted"). The plan shows it as the
	// reason of an update.
	Renew string
	// Conflict, when set, says in full sentences why another live object
	// that is not the instance keeps it from working as configured (an
	// existing remote secret registering the same Istio cluster ID), and
	// what to do: the plan stops with it as an error at the instance's
	// block, whatever the instance's own state.
	Conflict string
	// Outputs are values other instances can use, e.g. {"address": "…"}
	// for a load balancer; a missing output is unknown.
	Outputs plans.Object
	// Details are provider facts for preconditions, e.g. resourceVersion.
	Details map[string]string
}

// ObserveRequest asks a provider for the live state of resources on its
// target, all at once.
type ObserveRequest struct {
	// Environment is the ownership id of this configuration.
	Environment string
	Resources   []Resource
}

// ObserveResponse answers an ObserveRequest.
type ObserveResponse struct {
	// Objects holds one entry per requested resource.
	Objects map[plans.Address]Observed
	// Orphans are instances on the target that this environment owns but
	// that were not requested: the planner plans their deletion.
	Orphans []Observed
	// Err is set when the target could not be observed at all; its
	// resources then fail to plan, others go on.
	Err error
}

// ApplyRequest asks a provider to carry out one change.
type ApplyRequest struct {
	Environment string
	// Resource is nil for a Delete of an orphan.
	Resource *Resource
	// Change is the planned change (redacted view).
	Change plans.Change
	// Desired is Render's result with every input known and real secrets.
	// Nil for Delete.
	Desired plans.Object
	// Observed is what planning saw.
	Observed Observed
	// Triggered lists the Triggers that changed in this run; empty means
	// none did and a restart-only change can be skipped.
	Triggered []plans.Address
	// Progress reports a long wait, e.g. "waiting for an address".
	Progress func(message string)
}

// ApplyResponse answers an ApplyRequest.
type ApplyResponse struct {
	// Outputs of the instance after the change.
	Outputs plans.Object
	// Changed reports whether anything was actually modified (a change whose
	// rendered value turned out equal to the live one changes nothing).
	Changed bool
	Err     error
}

// Provider observes and changes the instances on one target: one
// Kubernetes cluster or one VM. Implementations must be safe for concurrent
// Apply calls on different instances.
type Provider interface {
	// Observe reads the live state of every requested resource, in as few
	// round trips as the target allows, plus the environment's orphans.
	Observe(ctx context.Context, req ObserveRequest) ObserveResponse
	// Apply carries out one change and returns the instance's outputs.
	Apply(ctx context.Context, req ApplyRequest) ApplyResponse
	// Close releases connections.
	Close() error
}

// Endpointer is implemented by providers that can say where they connect:
// an API server's URL, an SSH host:port. Progress reports and errors name
// it next to the target.
type Endpointer interface {
	Endpoint() string
}
