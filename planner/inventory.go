package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
	"github.com/meshx-dev/meshx/providers/vm"
)

// The inventory is meshx's answer to "what did this environment manage
// that the configuration no longer names?" without a state file: a
// ConfigMap in the control cluster (kube.Inventory) listing every VM and
// remote cluster the environment manages and how to reach it. A plan reads
// it before observing anything, connects to each recorded target that the
// configuration no longer declares through the recorded connection, and so
// finds what meshx left there (the VM's manifest, the remote's labelled
// objects) as orphans to delete. As kubernetes-sigs/cli-utils does with
// its inventory object, apply first records every target it is about to
// act on besides those recorded already (Plan.Record), so that a run that
// fails partway still lists every VM it touched; after the targets are
// done, the inventory's own change prunes it to what the configuration
// declares, dropping a removed target only with (after) the deletes of
// what meshx left on it.

// connection is how meshx reaches one VM or remote cluster, as the
// inventory records it: addresses, ports, users and paths, never a key, a
// token or a kubeconfig's content.
type connection struct {
	// A VM: what its ssh block sets (unset fields come from ~/.ssh/config
	// again when the recorded connection is used).
	Address        string `json:"address,omitempty"`
	MeshIP         string `json:"mesh_ip,omitempty"`
	Port           int    `json:"port,omitempty"`
	User           string `json:"user,omitempty"`
	PrivateKeyFile string `json:"private_key_file,omitempty"`
	UseAgent       bool   `json:"use_agent,omitempty"`
	KnownHostsFile string `json:"known_hosts_file,omitempty"`
	Bastion        string `json:"bastion,omitempty"`
	Sudo           bool   `json:"sudo,omitempty"`
	// A remote cluster: the kubeconfig path(s) and the context in use,
	// and the API server it reached, so a context that now points
	// elsewhere is refused.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
	Server     string `json:"server,omitempty"`
}

// object is c as an attribute value, the shape the kube provider reads
// back from the ConfigMap's JSON.
func (c connection) object() any {
	b, _ := json.Marshal(c)
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// String says where c leads, for messages: "root@10.0.0.7:22 (key
// /root/.ssh/id_ed25519)" or "context remote1 of /root/.kube/remote1
// (https://10.0.0.2:6443)".
func (c connection) String() string {
	if c.Address == "" {
		kc := c.Kubeconfig
		if kc == "" {
			kc = "the default kubeconfig"
		}
		return fmt.Sprintf("context %q of %s (%s)", c.Context, kc, c.Server)
	}
	s := c.Address
	if c.User != "" {
		s = c.User + "@" + s
	}
	if c.Port != 0 {
		s = fmt.Sprintf("%s:%d", s, c.Port)
	}
	var via []string
	if c.Bastion != "" {
		via = append(via, "via "+c.Bastion)
	}
	if c.PrivateKeyFile != "" {
		via = append(via, "key "+c.PrivateKeyFile)
	}
	if c.KnownHostsFile != "" {
		via = append(via, "known_hosts "+c.KnownHostsFile)
	}
	if len(via) > 0 {
		s += " (" + strings.Join(via, ", ") + ")"
	}
	return s
}

// check refuses a recorded connection that the configuration could not
// have produced: anyone who can edit the ConfigMap can write one, and it
// decides where meshx connects.
func (c connection) check(target plans.Address) error {
	texts := map[string]string{"address": c.Address, "mesh_ip": c.MeshIP, "user": c.User, "bastion": c.Bastion, "context": c.Context, "server": c.Server}
	paths := map[string]string{"private_key_file": c.PrivateKeyFile, "known_hosts_file": c.KnownHostsFile}
	for _, p := range filepath.SplitList(c.Kubeconfig) {
		paths["kubeconfig"] = p
	}
	for _, k := range slices.Sorted(maps.Keys(texts)) {
		if strings.IndexFunc(texts[k], func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return fmt.Errorf("its %s %q holds spaces or control characters", k, texts[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(paths)) {
		if p := paths[k]; p != "" && (!filepath.IsAbs(p) || strings.ContainsFunc(p, unicode.IsControl)) {
			return fmt.Errorf("its %s %q is not an absolute path", k, p)
		}
	}
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("its port %d is out of range", c.Port)
	case target.Block == "vm" && c.Address == "":
		return fmt.Errorf("it has no address")
	case target.Block == "cluster" && (c.Address != "" || c.Server == ""):
		return fmt.Errorf("it is not a cluster's connection")
	}
	return nil
}

// vmConnection is what the inventory records of VM v.
func vmConnection(v *config.VM) connection {
	h := vmHost(v, Options{})
	return connection{Address: h.Address, MeshIP: v.MeshIP, Port: h.Port, User: h.User, PrivateKeyFile: h.PrivateKeyFile,
		UseAgent: h.UseAgent, KnownHostsFile: h.KnownHostsFile, Bastion: h.Bastion, Sudo: h.Sudo}
}

// inventory keeps the environment's inventory right during one plan.
type inventory struct {
	addr plans.Address
	// declared are the configuration's VMs and remote clusters, by target
	// ("vm.ecs1", "cluster.remote1").
	declared map[string]connection
	// recorded is what the inventory held when planning began.
	recorded map[string]connection
	// removed are the recorded targets the configuration no longer
	// declares, sorted; kept are those among them that could not be
	// observed: the inventory keeps them until they are.
	removed []string
	kept    map[string]bool
	// forget, when set, is the plan of meshx forget: the inventory drops
	// these targets and nothing else changes.
	forget map[string]bool
	// record is the inventory resource that renders union, and
	// namespace the address of its namespace (Plan.Record).
	record    providers.Resource
	namespace plans.Address
}

// union renders the recorded targets together with the declared ones
// (as the configuration declares them now): what the inventory holds
// while an apply acts on them.
func (inv *inventory) union(providers.Outputs) (map[string]any, error) {
	out := map[string]any{}
	for t, c := range inv.recorded {
		out[t] = c.object()
	}
	for t, c := range inv.declared {
		out[t] = c.object()
	}
	return out, nil
}

// Record is the inventory write an apply makes before it acts on any VM
// or remote cluster: the targets recorded so far and every declared one
// (inventory.union). Its Change, at the inventory's address, comes after
// the inventory's namespace; the changes in Before, every change on a VM
// or remote cluster, wait for it and are not started when it fails.
type Record struct {
	Resource providers.Resource
	Change   plans.Change
	Before   map[plans.Address]bool
}

// recordFirst returns the Record of plan p, or nil when p needs none: it
// does not change the inventory, or only prunes it (every declared target
// is recorded as it is declared), or it destroys the environment.
func (inv *inventory) recordFirst(p *Plan) *Record {
	c, ok := p.Change(inv.addr)
	if !ok || p.Destroy || inv.forget != nil || (c.Action != plans.Create && c.Action != plans.Update) {
		return nil
	}
	recorded := true
	for t, d := range inv.declared {
		if r, ok := inv.recorded[t]; !ok || r != d {
			recorded = false
		}
	}
	if recorded {
		return nil
	}
	rec := &Record{Resource: inv.record, Change: plans.Change{Addr: inv.addr, Action: c.Action, Kind: c.Kind, Target: c.Target}, Before: map[plans.Address]bool{}}
	if _, ok := p.Change(inv.namespace); ok {
		rec.Change.DependsOn = []plans.Address{inv.namespace}
	}
	for _, d := range p.Changes {
		if d.Target != c.Target && (strings.HasPrefix(d.Target, "vm.") || strings.HasPrefix(d.Target, "cluster.")) {
			rec.Before[d.Addr] = true
		}
	}
	return rec
}

// targets renders the inventory's targets attribute.
func (inv *inventory) targets(providers.Outputs) (map[string]any, error) {
	out := map[string]any{}
	if inv.forget != nil {
		for t, c := range inv.recorded {
			if !inv.forget[t] {
				out[t] = c.object()
			}
		}
		return out, nil
	}
	for t, c := range inv.declared {
		out[t] = c.object()
	}
	for t := range inv.kept {
		out[t] = inv.recorded[t].object()
	}
	return out, nil
}

// expandInventory declares the inventory, depending on every instance of
// every VM and remote cluster, so apply writes it once they are done.
func (e *expander) expandInventory() {
	inv := &inventory{addr: kube.InventoryAddress(e.control.Name), declared: map[string]connection{}, kept: map[string]bool{}}
	for _, v := range e.cfg.VMs {
		inv.declared["vm."+v.Name] = vmConnection(v)
	}
	ns := e.namespace(e.control.Name, e.cfg.Meshx.Istio.Namespace, e.control.DeclRange)
	r := kube.Inventory(e.control.Name, e.cfg.Meshx.Istio.Namespace, e.cfg.Meshx.Environment, inv.targets)
	r.DependsOn = append(r.DependsOn, ns)
	inv.record = kube.Inventory(e.control.Name, e.cfg.Meshx.Istio.Namespace, e.cfg.Meshx.Environment, inv.union)
	inv.record.Settings.Adopt = e.control.Adopt
	inv.namespace = ns
	for _, res := range e.out.Resources {
		if a := res.Addr; a.Block == "vm" || (a.Block == "cluster" && a.Name != e.control.Name) {
			r.DependsOn = append(r.DependsOn, a)
		}
	}
	r.Settings.Adopt = e.control.Adopt
	e.add(r, e.control.DeclRange)
	e.out.inventory = inv
}

// inventoryReader is implemented by the control cluster's provider
// (kube.Provider): it reads the inventory before anything is observed.
type inventoryReader interface {
	ReadInventory(ctx context.Context, namespace, env string) (map[string]json.RawMessage, error)
}

// openInventory reads the inventory and adds to provs a provider for each
// recorded target the configuration no longer declares, connected as
// recorded. A control provider that keeps no inventory (a test's) leaves
// the inventory out of the plan; so does one that cannot be read, since
// writing it then would forget the removed targets it records: the error
// is returned, and it is the caller's to report unless observing the
// control cluster fails too.
func openInventory(ctx context.Context, cfg *config.Config, exp *Expansion, provs map[string]providers.Provider, opts Options) (unread error, diags hcl.Diagnostics) {
	inv := exp.inventory
	control := cfg.Control()
	leaveOut := func() {
		exp.Resources = slices.DeleteFunc(exp.Resources, func(r providers.Resource) bool { return r.Addr == inv.addr })
		exp.inventory = nil
	}
	reader, ok := provs["cluster."+control.Name].(inventoryReader)
	if !ok {
		leaveOut()
		return nil, nil
	}
	for _, c := range cfg.Clusters {
		if kp, ok := provs["cluster."+c.Name].(*kube.Provider); ok && !c.IsControl() {
			inv.declared["cluster."+c.Name] = connection{Kubeconfig: c.Kubeconfig, Context: kp.Context(), Server: kp.Server()}
		}
	}
	raw, err := reader.ReadInventory(ctx, cfg.Meshx.Istio.Namespace, cfg.Meshx.Environment)
	var bad *kube.InventoryError
	switch {
	case errors.As(err, &bad):
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid inventory", Detail: err.Error(), Subject: &control.DeclRange}}
	case err != nil:
		leaveOut()
		return err, nil
	}
	inv.recorded = map[string]connection{}
	for _, t := range slices.Sorted(maps.Keys(raw)) {
		var c connection
		a, err := plans.ParseAddress(t)
		if err == nil && (a.Type != "" || (a.Block != "vm" && a.Block != "cluster") || a.Target() != t) {
			err = fmt.Errorf("not a VM or cluster")
		}
		if err == nil {
			dec := json.NewDecoder(strings.NewReader(string(raw[t])))
			dec.DisallowUnknownFields()
			err = dec.Decode(&c)
		}
		if err == nil {
			err = c.check(a)
		}
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid inventory entry",
				Detail: fmt.Sprintf("The inventory %s/%s records %q, which meshx cannot use: %v. Fix or remove that entry (kubectl edit configmap), then plan again.",
					cfg.Meshx.Istio.Namespace, kube.InventoryName(cfg.Meshx.Environment), t, err)})
			continue
		}
		inv.recorded[t] = c
		if _, declared := inv.declared[t]; declared || a == (plans.Address{Block: "cluster", Name: control.Name}) {
			continue
		}
		inv.removed = append(inv.removed, t)
		provs[t] = removedProvider(ctx, a, c, opts)
	}
	return nil, diags
}

// removedProvider connects to a removed target as the inventory recorded
// it. A connection that cannot even be set up (a kubeconfig gone, a
// context now leading to another server) is a provider whose every call
// fails with why, so the target is reported unreachable like any other.
func removedProvider(ctx context.Context, a plans.Address, c connection, opts Options) providers.Provider {
	if a.Block == "vm" {
		return vm.New(vm.Host{
			Name: a.Name, Address: c.Address, Port: c.Port, User: c.User, PrivateKeyFile: c.PrivateKeyFile,
			PassphraseEnv: opts.PassphraseEnv, UseAgent: c.UseAgent, KnownHostsFile: c.KnownHostsFile,
			SSHConfigFile: "~/.ssh/config", Bastion: c.Bastion, Sudo: c.Sudo, Log: opts.Log,
		})
	}
	kps, err := kube.Connect(ctx, []kube.Cluster{{Name: a.Name, Kubeconfig: c.Kubeconfig, Context: c.Context}})
	if err != nil {
		return failedProvider{err}
	}
	p := kps[a.Name]
	if p.Server() != c.Server {
		p.Close()
		return failedProvider{fmt.Errorf("context %q now leads to %s, not to %s as recorded; meshx does not act on another cluster than the one it managed", c.Context, p.Server(), c.Server)}
	}
	return p
}

// failedProvider is a target that cannot be reached at all.
type failedProvider struct{ err error }

func (f failedProvider) Observe(context.Context, providers.ObserveRequest) providers.ObserveResponse {
	return providers.ObserveResponse{Err: f.err}
}

func (f failedProvider) Apply(context.Context, providers.ApplyRequest) providers.ApplyResponse {
	return providers.ApplyResponse{Err: f.err}
}

func (failedProvider) Close() error { return nil }

// removedMeshIPs are the mesh IPs of the removed VMs: the plan undoes
// them, or says why it cannot.
func (inv *inventory) removedMeshIPs() map[string]bool {
	out := map[string]bool{}
	for _, t := range inv.removed {
		if ip := inv.recorded[t].MeshIP; ip != "" {
			out[ip] = true
		}
	}
	return out
}

// observed keeps, among the removed targets, those that could not be
// observed: what meshx did there is not undone yet.
func (inv *inventory) observed(unreachable map[string]error) {
	for _, t := range inv.removed {
		if _, failed := unreachable[t]; failed {
			inv.kept[t] = true
		}
	}
}

// order makes the inventory's change wait for what it must come after.
// In a plan, the deletes on removed targets: a target leaves the inventory
// only once what meshx left there is gone. In a destroy, every other
// delete but the namespaces' (orderDeletes puts those after it): the
// inventory goes last, and not at all while a removed target it records
// could not be observed, nor in a targeted destroy, which leaves the rest
// of the environment in place.
func (inv *inventory) order(changes map[plans.Address]plans.Change, destroy, targeted bool) {
	c, ok := changes[inv.addr]
	if !ok {
		return
	}
	if !destroy {
		for a, d := range changes {
			if d.Action == plans.Delete && slices.Contains(inv.removed, d.Target) {
				c.DependsOn = append(c.DependsOn, a)
			}
		}
		c.DependsOn = sortedAddrs(c.DependsOn)
		changes[inv.addr] = c
		return
	}
	if len(inv.kept) > 0 || targeted {
		c.Action, c.After, c.Reason = plans.NoOp, c.Before, ""
	}
	c.DependsOn = nil
	for a, d := range changes {
		if a == inv.addr || d.Action != plans.Delete || d.Kind == kube.KindNamespace {
			continue
		}
		if c.Action == plans.Delete {
			c.DependsOn = append(c.DependsOn, a)
		}
		d.DependsOn = slices.DeleteFunc(d.DependsOn, func(x plans.Address) bool { return x == inv.addr })
		changes[a] = d
	}
	c.DependsOn = sortedAddrs(c.DependsOn)
	changes[inv.addr] = c
}

// explainUnreachable rewrites the error of each removed target that could
// not be observed: it says what remains undone and how to finish.
func (inv *inventory) explainUnreachable(p *Plan) {
	for i, t := range p.Unobserved {
		if !inv.kept[t] {
			continue
		}
		d := *p.Unreachable[i]
		d.Summary = "Cannot reach removed " + t
		d.Detail = fmt.Sprintf("%s is no longer in the configuration, so meshx would undo what it did there, but it cannot reach %s through the connection the inventory recorded, %s:\n%s\n\n"+
			"Nothing on %s is planned and the inventory keeps it; the rest of the plan stands and can be applied. To finish, either make the recorded connection work again and plan again, "+
			"or, if the %s is gone or you will clean it by hand, run meshx forget %s: it only drops %s from the inventory, after you approve.",
			t, t, inv.recorded[t], unwrapDetail(p.Unreachable[i].Detail), t, blockNoun(t), t, t)
		p.Unreachable[i] = &d
	}
}

// unwrapDetail is the cause in a "Cannot observe" detail, without the
// advice that follows it.
func unwrapDetail(detail string) string {
	cause, _, _ := strings.Cut(detail, "\n\n")
	return cause
}

func blockNoun(target string) string {
	if strings.HasPrefix(target, "vm.") {
		return "VM"
	}
	return "cluster"
}

// planForget plans meshx forget: the inventory without targets, which must
// be recorded and no longer declared; nothing else is observed or changed.
func planForget(ctx context.Context, cfg *config.Config, exp Expansion, provs map[string]providers.Provider, forget []plans.Address, opts Options) (*Plan, hcl.Diagnostics) {
	inv := exp.inventory
	if inv == nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No inventory", Detail: "The control cluster's provider keeps no inventory."}}
	}
	inv.forget = map[string]bool{}
	var diags hcl.Diagnostics
	for _, a := range forget {
		t := a.String()
		_, declared := inv.declared[t]
		_, recorded := inv.recorded[t]
		switch {
		case a.Type != "" || (a.Block != "vm" && a.Block != "cluster"):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot forget " + t,
				Detail: "meshx forget takes a VM or a remote cluster, like vm.old or cluster.remote2."})
		case declared:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot forget " + t,
				Detail: fmt.Sprintf("%s is still in the configuration. Remove its block first: then plan undoes what meshx did there, and forget is only for a %s that cannot be reached any more.", t, blockNoun(t))})
		case !recorded:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot forget " + t,
				Detail: fmt.Sprintf("The inventory does not record %s.%s", t, recordedSuggestion(t, slices.Sorted(maps.Keys(inv.recorded))))})
		default:
			inv.forget[t] = true
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	var r providers.Resource
	for _, res := range exp.Resources {
		if res.Addr == inv.addr {
			r = res
		}
	}
	r.DependsOn = nil
	control := r.Target
	return Build(ctx, Input{
		Environment: cfg.Meshx.Environment,
		Resources:   []providers.Resource{r},
		Providers:   map[string]providers.Provider{control: provs[control]},
		Ranges:      exp.Ranges,
		Targets:     []plans.Address{inv.addr},
	})
}

// recordedSuggestion ends a message about a target the inventory does not
// record: the closest one it does, or what it records.
func recordedSuggestion(t string, recorded []string) string {
	if s := config.Suggest(t, recorded); s != "" {
		return fmt.Sprintf(" Did you mean %s?", s)
	}
	if len(recorded) == 0 {
		return " It records nothing yet."
	}
	return " It records " + strings.Join(recorded, ", ") + "."
}
