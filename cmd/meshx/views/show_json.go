package views

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/plans"
)

// ShowFormatVersion is the version of the show -json plan document. 1.1
// added instance_key.
const ShowFormatVersion = "1.1"

// showPlan is the document `meshx show -json FILE` prints, modelled on
// Terraform's plan representation. Unlike Terraform's, sensitive values
// are redacted in before/after too: they hold fingerprints.
type showPlan struct {
	FormatVersion   string                  `json:"format_version"`
	MeshxVersion    string                  `json:"meshx_version"`
	Timestamp       string                  `json:"timestamp"`
	Environment     string                  `json:"environment"`
	ConfigDigest    string                  `json:"config_digest"`
	Destroy         bool                    `json:"destroy"`
	Targets         []string                `json:"targets,omitempty"`
	Applyable       bool                    `json:"applyable"`
	Complete        bool                    `json:"complete"`
	Errored         bool                    `json:"errored"`
	Variables       map[string]showVariable `json:"variables"`
	ResourceDrift   []showResourceChange    `json:"resource_drift"`
	ResourceChanges []showResourceChange    `json:"resource_changes"`
	OutputChanges   map[string]showChange   `json:"output_changes"`
}

type showVariable struct {
	Value     any  `json:"value,omitempty"`
	Sensitive bool `json:"sensitive"`
}

type showResourceChange struct {
	Address string  `json:"address"`
	Type    string  `json:"type"`
	Name    string  `json:"name"`
	Index   *string `json:"index,omitempty"`
	// InstanceKey is the key of the block instance (vm.web["a"] is "a",
	// vm.web[0] is 0); absent for a block without for_each or count.
	InstanceKey   any               `json:"instance_key,omitempty"`
	Target        string            `json:"target"`
	ActionReason  string            `json:"action_reason,omitempty"`
	Adopt         bool              `json:"adopt,omitempty"`
	Change        showChange        `json:"change"`
	Preconditions *showPrecondition `json:"preconditions,omitempty"`
	DependsOn     []string          `json:"depends_on,omitempty"`
}

type showChange struct {
	Actions         []string `json:"actions"`
	Before          any      `json:"before"`
	After           any      `json:"after"`
	AfterUnknown    any      `json:"after_unknown"`
	BeforeSensitive any      `json:"before_sensitive"`
	AfterSensitive  any      `json:"after_sensitive"`
}

type showPrecondition struct {
	Exists  bool              `json:"exists"`
	Digest  string            `json:"digest,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// planActions spells an action as the plan document does: a replace is
// ["delete", "create"], so scanning for "delete" finds every destructive
// change.
func planActions(a plans.Action) []string {
	switch a {
	case plans.Create:
		return []string{"create"}
	case plans.Update:
		return []string{"update"}
	case plans.Replace:
		return []string{"delete", "create"}
	case plans.Delete:
		return []string{"delete"}
	case plans.Read:
		return []string{"read"}
	}
	return []string{"no-op"}
}

// ShowJSON writes the plan document of a saved plan: identity,
// variables (values of non-sensitive ones only), resource_drift,
// resource_changes (every instance, no-ops included) and output_changes.
// applyable is whether the plan does anything; complete is false for a
// plan limited by -target. meshx keeps no state, so an output change is
// always ["create"] from null.
func ShowJSON(w io.Writer, f *planfile.File) error {
	p := f.Plan()
	doc := showPlan{
		FormatVersion:   ShowFormatVersion,
		MeshxVersion:    f.MeshxVersion,
		Timestamp:       f.CreatedAt.UTC().Format(time.RFC3339),
		Environment:     f.Environment,
		ConfigDigest:    f.ConfigDigest,
		Destroy:         f.Destroy,
		Targets:         f.Targets,
		Applyable:       p.HasChanges(),
		Complete:        len(f.Targets) == 0,
		Variables:       map[string]showVariable{},
		ResourceDrift:   []showResourceChange{},
		ResourceChanges: []showResourceChange{},
		OutputChanges:   map[string]showChange{},
	}
	for _, v := range f.Variables {
		sv := showVariable{Sensitive: v.Sensitive}
		if !v.Sensitive {
			sv.Value = safeJSON(v.Value, nil)
		}
		doc.Variables[v.Name] = sv
	}
	for _, c := range p.Changes {
		doc.ResourceChanges = append(doc.ResourceChanges, resourceChange(p, c))
		if c.Drift {
			doc.ResourceDrift = append(doc.ResourceDrift, driftChange(p, c))
		}
	}
	for _, o := range f.Outputs {
		sc := showChange{Actions: []string{"create"}, BeforeSensitive: false, AfterSensitive: o.Sensitive}
		if o.Sensitive {
			sc.After = sensitiveValue(o.Value)
		} else {
			sc.After = safeJSON(o.Value, nil)
		}
		sc.AfterUnknown = unknownShape(o.Value)
		if plans.IsUnknown(sc.After) {
			sc.After = nil
		}
		doc.OutputChanges[o.Name] = sc
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("show -json: %w", err)
	}
	_, err = w.Write(append(EscapeJSON(b), '\n'))
	return err
}

// resourceIdentity fills what names the instance of c: address, type,
// name, index, instance key and target.
func resourceIdentity(c plans.Change) showResourceChange {
	return showResourceChange{
		Address:     c.Addr.String(),
		Type:        c.Kind,
		Name:        resourceName(c.Addr),
		Index:       resourceKey(c.Addr),
		InstanceKey: instanceKey(c.Addr),
		Target:      c.Target,
	}
}

func resourceChange(p *plans.Plan, c plans.Change) showResourceChange {
	sens := stringSet(c.Sensitive)
	rc := resourceIdentity(c)
	rc.ActionReason, rc.Adopt = c.Reason, c.Adopt
	rc.Change = showChange{
		Actions:         planActions(c.Action),
		Before:          objectJSON(c.Before, sens),
		After:           objectJSON(c.After, sens),
		AfterUnknown:    unknownShape(objectOrNil(c.After)),
		BeforeSensitive: sensitiveShape(c.Before, sens),
		AfterSensitive:  sensitiveShape(c.After, sens),
	}
	rc.Preconditions = &showPrecondition{
		Exists:  c.Precondition.Exists,
		Digest:  c.Precondition.Digest,
		Details: c.Precondition.Details,
	}
	if rc.ActionReason == "" && c.Adopt {
		rc.ActionReason = "adopting an existing object"
	}
	for _, d := range c.DependsOn {
		rc.DependsOn = append(rc.DependsOn, d.String())
	}
	return rc
}

// driftChange describes an instance changed outside meshx. meshx keeps no
// record of what it last applied, so before is null and after is the live
// object.
func driftChange(p *plans.Plan, c plans.Change) showResourceChange {
	sens := stringSet(c.Sensitive)
	rc := resourceIdentity(c)
	rc.Change = showChange{
		Actions:         []string{"update"},
		Before:          nil,
		After:           objectJSON(c.Before, sens),
		AfterUnknown:    unknownShape(objectOrNil(c.Before)),
		BeforeSensitive: false,
		AfterSensitive:  sensitiveShape(c.Before, sens),
	}
	return rc
}

// objectJSON is o made safe for JSON: sensitive attributes as
// fingerprints, Unknown as null; nil stays nil.
func objectJSON(o plans.Object, sens map[string]bool) any {
	if o == nil {
		return nil
	}
	return safeJSON(map[string]any(o), sens)
}

func objectOrNil(o plans.Object) any {
	if o == nil {
		return nil
	}
	return map[string]any(o)
}

// unknownShape is Terraform's after_unknown: true where v is Unknown;
// an object keeps only entries that are or hold Unknown; a list keeps
// every element (false where known); a known scalar or nil is false.
func unknownShape(v any) any {
	v = plans.Normalize(v)
	if plans.IsUnknown(v) {
		return true
	}
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if s := unknownShape(e); s != false {
				out[k] = s
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = unknownShape(e)
		}
		return out
	}
	return false
}

// sensitiveShape is before_sensitive/after_sensitive: false for a nil
// object, else an object with true at each sensitive attribute present.
func sensitiveShape(o plans.Object, sens map[string]bool) any {
	if o == nil {
		return false
	}
	out := map[string]any{}
	for k := range sens {
		if _, ok := o[k]; ok {
			out[k] = true
		}
	}
	return out
}
