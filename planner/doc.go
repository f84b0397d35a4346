// Package planner turns a configuration into a plan: it expands the
// configuration into resource instances with stable addresses, observes
// them on every cluster and VM in parallel, renders each instance's desired
// state in dependency order (values not known until apply stay Unknown),
// diffs desired against observed attribute by attribute, and records the
// order changes must run in.
//
// A plan may be partial: limited by -target (checked against the declared
// clusters and VMs before anything is contacted), or missing the targets
// that could not be observed. It records both, so every view can say so.
// Outputs observes only what output blocks read, never a VM.
//
// It never changes anything: applying a plan is package executor's job.
// It never prints: problems come back as hcl.Diagnostics, each naming the
// configuration block it concerns where there is one.
package planner
