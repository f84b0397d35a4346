package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/plans"
)

// UIVersion is the version of the JSON event stream. A minor bump adds
// fields or message types (consumers ignore what they do not know); a
// major bump breaks. 1.1 added instance_key to resources.
const UIVersion = "1.1"

// timestampFormat is RFC 3339 with microseconds, as Terraform writes it.
const timestampFormat = "2006-01-02T15:04:05.000000Z07:00"

// JSONOptions configure the event stream.
type JSONOptions struct {
	// Version is meshx's version, sent in the first message.
	Version string
	// Now is the clock for @timestamp; default time.Now.
	Now func() time.Time
}

// JSON writes the machine-readable event stream of plan, apply and destroy
// (-json): one JSON object per line, in Terraform's envelope (@level,
// @message, @module "meshx.ui", @timestamp, type). The first line is a
// "version" message, written by NewJSON.
//
// Message types: version, diagnostic, resource_drift, planned_change,
// change_summary, apply_start, apply_progress, apply_complete,
// apply_errored, apply_skipped (meshx's own: not attempted because a
// dependency failed or the run was interrupted), outputs.
//
// Its methods are not safe for concurrent use; the executor already calls
// Event one event at a time.
type JSON struct {
	w    io.Writer
	now  func() time.Time
	plan *plans.Plan
	err  error
}

// NewJSON returns a JSON view writing to w and writes the version message.
func NewJSON(w io.Writer, opts JSONOptions) *JSON {
	v := &JSON{w: w, now: opts.Now}
	if v.now == nil {
		v.now = time.Now
	}
	v.emit("info", "version", "meshx "+opts.Version, map[string]any{"meshx": opts.Version, "ui": UIVersion})
	return v
}

// Err returns the first error writing to w, if any.
func (v *JSON) Err() error { return v.err }

// emit writes one message. Map keys marshal sorted, which puts the
// envelope's @-fields first, as in Terraform's stream.
func (v *JSON) emit(level, typ, message string, fields map[string]any) {
	if v.err != nil {
		return
	}
	m := map[string]any{
		"@level":     level,
		"@message":   message,
		"@module":    "meshx.ui",
		"@timestamp": v.now().Format(timestampFormat),
		"type":       typ,
	}
	for k, f := range fields {
		m[k] = f
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if v.err = enc.Encode(m); v.err == nil {
		_, v.err = v.w.Write(EscapeJSON(b.Bytes()))
	}
}

// Diagnostics writes one "diagnostic" message per diagnostic. sources
// maps file names to their bytes, for snippets.
func (v *JSON) Diagnostics(diags hcl.Diagnostics, sources map[string][]byte) {
	for _, d := range diags {
		jd := NewDiagnostic(d, sources)
		level, prefix := "error", "Error: "
		if jd.Severity == "warning" {
			level, prefix = "warn", "Warning: "
		}
		v.emit(level, "diagnostic", prefix+jd.Summary, map[string]any{"diagnostic": jd})
	}
}

// jsonResource identifies an instance in stream messages. addr is
// resource_name plus ["resource_key"] when there is a key.
type jsonResource struct {
	Addr         string  `json:"addr"`
	ResourceType string  `json:"resource_type"`
	ResourceName string  `json:"resource_name"`
	ResourceKey  *string `json:"resource_key"`
	// InstanceKey is the key of the block instance, a string (for_each)
	// or a number (count); absent for a block of one instance.
	InstanceKey any    `json:"instance_key,omitempty"`
	Target      string `json:"target"`
}

func (v *JSON) resource(addr plans.Address, c plans.Change) jsonResource {
	return jsonResource{
		Addr:         addr.String(),
		ResourceType: c.Kind,
		ResourceName: resourceName(addr),
		ResourceKey:  resourceKey(addr),
		InstanceKey:  instanceKey(addr),
		Target:       c.Target,
	}
}

// streamAction is the action's name in the stream, which (unlike the plan
// document) spells no-op "noop".
func streamAction(a plans.Action) string {
	if a == plans.NoOp {
		return "noop"
	}
	return a.String()
}

// Plan writes a cluster message naming each cluster's context and server,
// a warning diagnostic per reason the plan is partial
// (PartialNotes), a resource_drift message per drifted instance, a
// planned_change per change that does something, and the change_summary.
// It also remembers p, so later apply events name each instance's kind and
// target: call it before Event.
func (v *JSON) Plan(p *plans.Plan) {
	v.plan = p
	for _, c := range p.Clusters {
		v.emit("info", "cluster", fmt.Sprintf("cluster.%s: context %s, server %s", c.Name, orNone(c.Context), c.Server), map[string]any{
			"cluster": map[string]any{"name": c.Name, "context": c.Context, "server": c.Server},
		})
	}
	for _, n := range PartialNotes(p) {
		v.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: n.Summary, Detail: n.Detail}}, nil)
	}
	for _, c := range p.Drifted() {
		v.emit("info", "resource_drift", c.Addr.String()+": Drift detected (update)", map[string]any{
			"change": map[string]any{"resource": v.resource(c.Addr, c), "action": "update"},
		})
	}
	for _, c := range p.Changes {
		if c.Action == plans.NoOp {
			continue
		}
		var reason any
		if r := c.Reason; r != "" {
			reason = r
		} else if c.Adopt {
			reason = "adopting an existing object"
		}
		v.emit("info", "planned_change", c.Addr.String()+": Plan to "+c.Action.String(), map[string]any{
			"change": map[string]any{"resource": v.resource(c.Addr, c), "action": streamAction(c.Action), "reason": reason},
		})
	}
	add, change, destroy := p.Summary()
	v.emit("info", "change_summary", fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", add, change, destroy), map[string]any{
		"changes": map[string]any{"add": add, "change": change, "remove": destroy, "operation": "plan"},
	})
}

// change returns the planned change for an event's instance, for its kind
// and target.
func (v *JSON) change(a plans.Address) plans.Change {
	if v.plan != nil {
		if c, ok := v.plan.Change(a); ok {
			return c
		}
	}
	return plans.Change{Addr: a}
}

// Event writes apply_start, apply_progress, apply_complete, apply_errored
// or apply_skipped. A NoOp instance that is not attempted is not reported.
func (v *JSON) Event(e executor.Event) {
	hook := map[string]any{
		"resource": v.resource(e.Addr, v.change(e.Addr)),
		"action":   streamAction(e.Action),
	}
	verb := actionVerbs[e.Action]
	addr := e.Addr.String()
	secs := int64(e.Elapsed / time.Second)
	switch e.Type {
	case executor.Started:
		v.emit("info", "apply_start", progressText(e), map[string]any{"hook": hook})
	case executor.Progress:
		hook["elapsed_seconds"] = secs
		if e.Message != "" {
			hook["message"] = e.Message
		}
		v.emit("info", "apply_progress", progressText(e), map[string]any{"hook": hook})
	case executor.Completed:
		hook["elapsed_seconds"] = secs
		hook["changed"] = e.Changed
		v.emit("info", "apply_complete", fmt.Sprintf("%s: %s after %s", addr, verb.done, e.Elapsed.Round(time.Second)), map[string]any{"hook": hook})
	case executor.Errored:
		hook["elapsed_seconds"] = secs
		hook["error"] = errorText(e)
		v.emit("error", "apply_errored", fmt.Sprintf("%s: %s errored after %s", addr, erroredNoun[e.Action], e.Elapsed.Round(time.Second)), map[string]any{"hook": hook})
	case executor.Skipped:
		if e.Action == plans.NoOp {
			return
		}
		hook["reason"] = e.Message
		v.emit("warn", "apply_skipped", progressText(e), map[string]any{"hook": hook})
	}
}

var erroredNoun = map[plans.Action]string{
	plans.NoOp:    "Read",
	plans.Read:    "Read",
	plans.Create:  "Creation",
	plans.Update:  "Modifications",
	plans.Replace: "Replacement",
	plans.Delete:  "Destruction",
}

// Result writes the change_summary of the run, operation "apply" or
// "destroy", with ResultLine as its message (level error when it failed).
func (v *JSON) Result(res executor.Result, destroy bool) {
	op, level := "apply", "info"
	if destroy {
		op = "destroy"
	}
	if res.Err != nil {
		level = "error"
	}
	v.emit(level, "change_summary", ResultLine(res, destroy), map[string]any{
		"changes": map[string]any{"add": res.Added, "change": res.Changed, "remove": res.Destroyed, "operation": op},
	})
}

// Outputs writes the outputs message. A sensitive output's value is left
// out, as Terraform does; other values are redacted of any stray secret.
func (v *JSON) Outputs(outs []plans.OutputValue) {
	m := make(map[string]any, len(outs))
	for _, o := range outs {
		e := map[string]any{"sensitive": o.Sensitive}
		if !o.Sensitive {
			e["value"] = safeJSON(o.Value, nil)
		}
		m[o.Name] = e
	}
	v.emit("info", "outputs", fmt.Sprintf("Outputs: %d", len(outs)), map[string]any{"outputs": m})
}
