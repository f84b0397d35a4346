// Package views renders what meshx decided and did: the human plan text,
// apply progress, the newline-delimited JSON event stream (-json), the plan
// document of `meshx show -json`, the markdown PR comment
// (plan -format=markdown), diagnostics in Terraform's box form and the JSON
// shape of HCL diagnostics shared with `validate -json`.
//
// # How a command gets its view
//
// Each command has one view interface here, named after it (Plan, Apply,
// Validate, Show, Output, Version, Graph, ForceUnlock), with a human and,
// where the command has one, a machine implementation, as in Terraform's
// internal/command/views. The command parses its flags, turns them into a
// ViewType (ViewHuman, ViewJSON, ViewMarkdown, ViewRaw) and builds its view
// once, before anything can fail, on the run's base *View (Meta.View in
// package cli: streams, colour, terminal width):
//
//	err := c.Parse(fs, args)
//	base := c.View()
//	view := views.NewValidate(viewType(jsonOut, "", args, err), base)
//	if err != nil {
//		return flagError(view, err) // honours -json
//	}
//	cfg, diags := c.LoadConfig()
//	base.SetSources(Sources(cfg.Files)) // for diagnostics' snippets
//	view.Results(diags)
//
// From then on the command calls only its view's methods and never tests
// the format itself: every interface has Diagnostics, which the JSON views
// write in their own format (stream messages, or a validate -json
// document on stdout for the commands whose output is one document), and
// methods for what the command reports, which a view may leave empty (the
// JSON stream shows no progress lines). A new command adds
// <command>.go here with its interface, New<Command>(vt, base) and the
// implementations, embedding *View (or operationHuman and operationJSON
// when it observes clusters and VMs as plan does). fmt and completion,
// whose output is data for files and shells, use the base *View alone for
// their diagnostics.
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
