package views

import (
	"github.com/meshx-dev/meshx/verify"
)

// VerifyFormatVersion is the version of the verify -json document. Minor
// versions add fields (1.1: the "skip" status and summary.skipped); a
// major version changes or removes them.
const VerifyFormatVersion = "1.1"

// verifyJSON is the verify -json document. Its field names are its own:
// renaming a field of verify.Check never changes them.
type verifyJSON struct {
	FormatVersion string            `json:"format_version"`
	Environment   string            `json:"environment"`
	Profile       string            `json:"profile"`
	OK            bool              `json:"ok"`
	Summary       verifySummaryJSON `json:"summary"`
	Checks        []verifyCheckJSON `json:"checks"`
}

type verifySummaryJSON struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

type verifyCheckJSON struct {
	Subject  string `json:"subject"`
	Check    string `json:"check"`
	Status   string `json:"status"`
	Observed string `json:"observed"`
	Expected string `json:"expected,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// verifyDocument is a verify report as the -json document.
func verifyDocument(r *verify.Report) verifyJSON {
	doc := verifyJSON{FormatVersion: VerifyFormatVersion, Environment: r.Environment, Profile: r.Profile,
		OK: r.OK(), Checks: []verifyCheckJSON{}}
	for _, c := range r.Checks {
		doc.Checks = append(doc.Checks, verifyCheckJSON{Subject: c.Subject, Check: c.Name, Status: string(c.Status),
			Observed: c.Observed, Expected: c.Expected, Fix: c.Fix})
		switch c.Status {
		case verify.Pass:
			doc.Summary.Passed++
		case verify.Skip:
			doc.Summary.Skipped++
		default:
			doc.Summary.Failed++
		}
	}
	return doc
}
