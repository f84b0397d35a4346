package kube

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/meshx-dev/meshx/plans"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations meshx writes on every object it owns.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	LabelEnvironment  = "meshx.dev/environment"
	ManagedByValue    = "meshx"
	AnnotationAddress = "meshx.dev/address"
	AnnotationKind    = "meshx.dev/kind"
	AnnotationDigest  = "meshx.dev/applied-digest"
	// AnnotationTokenExpires records when a token stops working, on a
	// reader's service account and on the remote secret.
	AnnotationTokenExpires = "meshx.dev/token-expires"

	// FieldManager is the server-side apply field manager of every write.
	FieldManager = "meshx"

	meshxAnnotationKeyPrefix = "meshx.dev/"
)

// ownedBy reports whether m carries env's ownership labels.
func ownedBy(m metav1.Object, env string) bool {
	l := m.GetLabels()
	return l[LabelManagedBy] == ManagedByValue && l[LabelEnvironment] == env
}

// ownerOf names who has m when env does not: another meshx environment,
// the tool in app.kubernetes.io/managed-by, the field managers that wrote
// it, or "unmanaged".
func ownerOf(m metav1.Object, env string) string {
	l := m.GetLabels()
	switch by := l[LabelManagedBy]; {
	case by == ManagedByValue && l[LabelEnvironment] != env:
		if l[LabelEnvironment] == "" {
			return "meshx without an environment label"
		}
		return fmt.Sprintf("meshx environment %q", l[LabelEnvironment])
	case by != "" && by != ManagedByValue:
		return fmt.Sprintf("%s (%s)", by, LabelManagedBy)
	}
	seen := map[string]bool{}
	var managers []string
	for _, f := range m.GetManagedFields() {
		if f.Manager == FieldManager || f.Manager == "" || seen[f.Manager] {
			continue
		}
		seen[f.Manager] = true
		managers = append(managers, fmt.Sprintf("%q", f.Manager))
	}
	sort.Strings(managers)
	switch len(managers) {
	case 0:
		return "unmanaged"
	case 1:
		return "field manager " + managers[0]
	}
	return "field managers " + strings.Join(managers, ", ")
}

// ownedFields is the union of the field sets meshx's field manager holds
// on an object, parsed from metadata.managedFields (fieldsV1 JSON: keys
// "f:<field>", "k:<list-map key as JSON>", "v:<value>").
type ownedFields struct {
	found bool
	root  map[string]any
}

func meshxFields(m metav1.Object) ownedFields {
	var of ownedFields
	for _, f := range m.GetManagedFields() {
		if f.Manager != FieldManager || f.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if json.Unmarshal(f.FieldsV1.Raw, &set) != nil {
			continue
		}
		of.found = true
		of.root = mergeFieldSets(of.root, set)
	}
	return of
}

func mergeFieldSets(a, b map[string]any) map[string]any {
	if a == nil {
		return b
	}
	for k, v := range b {
		av, ok := a[k].(map[string]any)
		bv, ok2 := v.(map[string]any)
		if ok && ok2 {
			a[k] = mergeFieldSets(av, bv)
		} else if _, exists := a[k]; !exists {
			a[k] = v
		}
	}
	return a
}

// at walks the field set along path ("f:metadata", "f:annotations").
func (of ownedFields) at(path ...string) map[string]any {
	cur := of.root
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// mapKeys returns the keys of the string map at path that meshx owns, or
// nil when meshx has never written the object.
func (of ownedFields) mapKeys(path ...string) map[string]bool {
	if !of.found {
		return nil
	}
	out := map[string]bool{}
	for k := range of.at(path...) {
		if strings.HasPrefix(k, "f:") {
			out[k[2:]] = true
		}
	}
	return out
}

// portKeys returns the (port, protocol) keys of the list-map at path that
// meshx owns.
func (of ownedFields) portKeys(path ...string) map[portKey]bool {
	out := map[portKey]bool{}
	for k := range of.at(path...) {
		if !strings.HasPrefix(k, "k:") {
			continue
		}
		var key struct {
			Port     int32  `json:"port"`
			Protocol string `json:"protocol"`
		}
		if json.Unmarshal([]byte(k[2:]), &key) == nil {
			out[portKey{key.Port, key.Protocol}] = true
		}
	}
	return out
}

// projectMap keeps the entries of live that the configuration sets or
// meshx owns (every entry when owned is nil: meshx never wrote the
// object), minus meshx's own marks.
func projectMap(live map[string]string, desired map[string]string, owned map[string]bool, ownership bool) map[string]any {
	out := map[string]any{}
	for k, v := range live {
		if ownership && (k == LabelManagedBy || k == LabelEnvironment) {
			continue
		}
		if strings.HasPrefix(k, meshxAnnotationKeyPrefix) {
			continue
		}
		if _, want := desired[k]; want || owned == nil || owned[k] {
			out[k] = v
		}
	}
	return out
}

// marks returns the labels and annotations meshx adds to every object it
// writes for the instance at addr.
func marks(env string, addr plans.Address, kind string, digest string) (labels, annotations map[string]string) {
	labels = map[string]string{LabelManagedBy: ManagedByValue, LabelEnvironment: env}
	annotations = map[string]string{AnnotationAddress: addr.String(), AnnotationKind: kind}
	if digest != "" {
		annotations[AnnotationDigest] = digest
	}
	return labels, annotations
}

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// appliedDigest is the digest Apply records and Observe compares, of the
// instance's Object without what changes with time (driftViewer).
func appliedDigest(in instance, o plans.Object) string {
	if v, ok := in.(driftViewer); ok {
		o = v.driftView(o)
	}
	return plans.Digest(o)
}

// drifted reports whether m was changed since meshx applied it: its
// recorded digest no longer matches the projection.
func drifted(m metav1.Object, in instance, projection plans.Object) bool {
	rec := m.GetAnnotations()[AnnotationDigest]
	return rec != "" && rec != appliedDigest(in, projection)
}
