package kube

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindInventory is the environment's inventory: the record, in the control
// cluster, of the VMs and remote clusters it manages and how to reach
// them, so that a plan made after one was removed from the configuration
// can still undo what meshx did there (kubernetes-sigs/cli-utils keeps its
// inventory object for the same reason).
const KindInventory = "kube_inventory"

// InventoryDataKey is the ConfigMap key holding the targets, as JSON.
const InventoryDataKey = "targets.json"

// InventoryName is the name of environment env's inventory ConfigMap.
func InventoryName(env string) string { return "meshx-inventory-" + env }

// InventoryAddress is the address Inventory gives the inventory.
func InventoryAddress(cluster string) plans.Address {
	return plans.Address{Block: "cluster", Name: cluster, Type: "inventory"}
}

// inventory is a kube_inventory instance.
type inventory struct {
	namespace, name string
	targets         func(providers.Outputs) (map[string]any, error)
}

// Inventory declares environment env's inventory at
// cluster.<cluster>.inventory: the ConfigMap InventoryName(env) in
// namespace, whose InventoryDataKey holds targets (target address to a
// JSON object of how to reach it; the planner decides what). Attributes:
// namespace, name, targets.
func Inventory(cluster, namespace, env string, targets func(providers.Outputs) (map[string]any, error)) providers.Resource {
	in := &inventory{namespace: namespace, name: InventoryName(env), targets: targets}
	return providers.Resource{
		Addr:     InventoryAddress(cluster),
		Target:   clusterTarget(cluster),
		Kind:     KindInventory,
		Render:   in.render,
		ForceNew: []string{"namespace", "name"},
		Private:  in,
	}
}

func (in *inventory) kind() string { return KindInventory }

func (in *inventory) render(out providers.Outputs) (plans.Object, error) {
	if err := checkNamespacedName(in.namespace, in.name); err != nil {
		return nil, err
	}
	t, err := in.targets(out)
	if err != nil {
		return nil, err
	}
	return plans.Object{"namespace": in.namespace, "name": in.name, "targets": plans.Normalize(t)}, nil
}

func (in *inventory) identities() []ref {
	return []ref{{res: resConfigMaps, namespace: in.namespace, name: in.name}}
}

func (in *inventory) observe(_ context.Context, o *observation, addr plans.Address) (providers.Observed, error) {
	return o.single(addr, in, in.identities()[0], projectInventory), nil
}

// projectInventory is the live inventory; unreadable targets project as
// the raw text, so the plan shows what is there and rewrites it.
func projectInventory(live metav1.Object) plans.Object {
	cm := live.(*corev1.ConfigMap)
	var targets any = cm.Data[InventoryDataKey]
	if t, err := decodeInventory(cm); err == nil {
		targets = plans.Normalize(t)
	}
	return plans.Object{"namespace": cm.Namespace, "name": cm.Name, "targets": targets}
}

func decodeInventory(cm *corev1.ConfigMap) (map[string]any, error) {
	t := map[string]any{}
	if s, ok := cm.Data[InventoryDataKey]; ok {
		if err := json.Unmarshal([]byte(s), &t); err != nil {
			return nil, fmt.Errorf("ConfigMap %s/%s: %s is not a JSON object: %w", cm.Namespace, cm.Name, InventoryDataKey, err)
		}
	}
	return t, nil
}

func (in *inventory) apply(ctx context.Context, a *applier) (plans.Object, error) {
	id := in.identities()[0]
	live, err := a.claim(ctx, id)
	if err != nil {
		return nil, err
	}
	targets, _ := a.req.Desired["targets"].(map[string]any)
	b, err := marshalSorted(targets)
	if err != nil {
		return nil, fmt.Errorf("encode the inventory: %w", err)
	}
	labels, annotations := a.marks(in)
	cfg := corev1ac.ConfigMap(id.name, id.namespace).WithLabels(labels).WithAnnotations(annotations).
		WithData(map[string]string{InventoryDataKey: string(b)})
	got, err := a.p.client.CoreV1().ConfigMaps(id.namespace).Apply(ctx, cfg, a.opts())
	if err != nil {
		return nil, applyError(id, err)
	}
	a.wrote(live, got)
	return nil, nil
}

// marshalSorted writes targets as indented JSON, one target a block,
// in address order (encoding/json sorts map keys), for kubectl readers.
func marshalSorted(targets map[string]any) ([]byte, error) {
	if targets == nil {
		targets = map[string]any{}
	}
	return json.MarshalIndent(targets, "", "  ")
}

// InventoryError is an inventory meshx will not use, as opposed to one it
// could not read (the cluster did not answer).
type InventoryError struct{ msg string }

func (e *InventoryError) Error() string { return e.msg }

// ReadInventory returns the targets recorded in environment env's
// inventory in namespace, nil when there is none yet. An inventory that
// another environment or nobody owns, or that is not JSON, is an
// *InventoryError: meshx connects to nothing it names.
func (p *Provider) ReadInventory(ctx context.Context, namespace, env string) (map[string]json.RawMessage, error) {
	id := ref{res: resConfigMaps, namespace: namespace, name: InventoryName(env)}
	m, err := p.get(ctx, id)
	if err != nil {
		return nil, p.explain(fmt.Errorf("%s: get %s: %w", p.target(), id.human(), err))
	}
	if m == nil {
		return nil, nil
	}
	if !ownedBy(m, env) {
		return nil, &InventoryError{fmt.Sprintf("%s: %s is not environment %q's (owner: %s), so meshx does not trust what it records; remove it or give it back its labels", p.target(), id.human(), env, ownerOf(m, env))}
	}
	var out map[string]json.RawMessage
	cm := m.(*corev1.ConfigMap)
	if s, ok := cm.Data[InventoryDataKey]; ok {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, &InventoryError{fmt.Sprintf("%s: %s: %s is not a JSON object (%v); fix it, or delete it and plan again", p.target(), id.human(), InventoryDataKey, err)}
		}
	}
	if out == nil {
		out = map[string]json.RawMessage{}
	}
	return out, nil
}
