package views

import (
	"strings"

	"github.com/meshx-dev/meshx/plans"
)

// PartialNote says why a plan is partial: -target is in effect, or
// targets could not be observed. Text, markdown and JSON show the same
// notes, so plan and apply agree.
type PartialNote struct {
	Summary, Detail string
}

// PartialNotes returns the notes of p, none for a whole plan.
func PartialNotes(p *plans.Plan) []PartialNote {
	var out []PartialNote
	if len(p.Targets) > 0 {
		flags := make([]string, len(p.Targets))
		for i, t := range p.Targets {
			flags[i] = "-target=" + t
		}
		covers := TargetCover(p)
		out = append(out, PartialNote{
			Summary: "Targeting is in effect; this plan is partial",
			Detail: "It covers only " + strings.Join(flags, ", ") + " and " + covers + ", so it may not hold every change the configuration asks for. " +
				"-target is for exceptional use, such as recovering from an error; run meshx plan without it to see everything.",
		})
	}
	if len(p.Unobserved) > 0 {
		list := strings.Join(p.Unobserved, ", ")
		out = append(out, PartialNote{
			Summary: list + " could not be observed; this plan is partial",
			Detail:  "Nothing on " + list + ", nor anything that depends on it, is planned or will be changed (see the errors). Fix the connection and plan again.",
		})
	}
	return out
}

// TargetCover says what a targeted plan holds besides its targets: what
// they depend on, or for destroy what depends on them.
func TargetCover(p *plans.Plan) string {
	switch {
	case p.Destroy && len(p.Targets) == 1:
		return "what depends on it"
	case p.Destroy:
		return "what depends on them"
	case len(p.Targets) == 1:
		return "what it depends on"
	}
	return "what they depend on"
}

// partialText renders the notes above a plan.
func partialText(notes []PartialNote) []string {
	var out []string
	for _, n := range notes {
		out = append(out, "Warning: "+n.Summary, "", "  "+n.Detail, "")
	}
	return out
}

// partialMarkdown renders the notes as GitHub alerts.
func partialMarkdown(notes []PartialNote) []mdBlock {
	var out []mdBlock
	for _, n := range notes {
		out = append(out, mdBlock{lines: []string{
			"> [!WARNING]",
			"> ### :warning: " + htmlText(Escape(n.Summary)),
			"> " + htmlText(Escape(n.Detail)),
		}})
	}
	return out
}

// clusterLines names each cluster's context and server, then a blank
// line; nothing when the plan reached no cluster.
func clusterLines(p *plans.Plan) []string {
	var out []string
	for _, c := range p.Clusters {
		out = append(out, "cluster."+c.Name+": context "+orNone(c.Context)+", server "+c.Server)
	}
	if len(out) > 0 {
		out = append(out, "")
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
