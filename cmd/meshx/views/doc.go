// Package views renders what meshx decided and did: the human plan text,
// apply progress, the newline-delimited JSON event stream (-json), the plan
// document of `meshx show -json`, the markdown PR comment
// (plan -format=markdown) and the JSON shape of HCL diagnostics shared with
// `validate -json`.
//
// Every renderer reads pure data (*plans.Plan, executor.Event,
// executor.Result, *planfile.File, hcl.Diagnostics) and writes only to the
// io.Writer it is given (Markdown returns strings). Nothing here plans,
// applies, reads files or looks at a terminal: colour is an option the
// caller sets.
//
// Secrets never pass through: Change values are redacted fingerprints
// already, and the renderers defend anyway. An attribute listed in
// Change.Sensitive, or any plans.Sensitive value that slipped into a
// plan, is shown only as its fingerprint ("(sensitive value, sha256:…)");
// nothing in this package calls Sensitive.Bytes.
//
// Terminal escapes never pass through either. Plan files, configurations,
// clusters and VMs are untrusted text: the human views (plan text, apply
// progress, markdown) write their control characters, DEL, C1 controls,
// bidirectional controls and invalid UTF-8 as Go escapes (Escape,
// NewTerminalWriter), keeping only the colour sequences meshx writes
// itself; the JSON views leave no such character raw (EscapeJSON).
//
// Machine formats (the event stream, show -json, diagnostics) keep their
// own versioned field names, modelled on Terraform's, so that renaming a Go
// field never breaks a consumer.
package views
