package views

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/meshx-dev/meshx/verify"
)

// verifyText writes a verify report as one table, one row a check, then
// the failing checks grouped by what to do, then the skipped ones with how
// to make them, then a summary line; color marks results green, red and
// yellow.
func verifyText(w io.Writer, r *verify.Report, color bool) error {
	bw := NewTerminalWriter(w, color)
	rows := [][4]string{{"SUBJECT", "CHECK", "RESULT", "OBSERVED"}}
	for _, c := range r.Checks {
		rows = append(rows, [4]string{c.Subject, c.Name, resultWord(c.Status), observedText(c)})
	}
	var width [3]int
	for _, row := range rows {
		for i := range width {
			width[i] = max(width[i], utf8.RuneCountInString(Escape(row[i])))
		}
	}
	fmt.Fprintf(bw, "Verifying environment %q (Istio profile %s)\n\n", r.Environment, r.Profile)
	for i, row := range rows {
		result := pad(row[2], width[2])
		if i > 0 && color {
			col := ansiGreen
			switch row[2] {
			case resultWord(verify.Fail):
				col = ansiRed
			case resultWord(verify.Skip):
				col = ansiYellow
			}
			result = col + row[2] + ansiReset + strings.Repeat(" ", width[2]-len(row[2]))
		}
		line := pad(row[0], width[0]) + "  " + pad(row[1], width[1]) + "  " + result + "  " + row[3]
		fmt.Fprintln(bw, strings.TrimRight(line, " "))
	}
	for _, sec := range []struct {
		title  string
		checks []verify.Check
	}{{"Failed checks, and what to do:", r.Failed()}, {"Skipped checks, and how to make them:", r.Skipped()}} {
		if groups := fixGroups(sec.checks); len(groups) > 0 {
			fmt.Fprintln(bw, "\n"+sec.title)
			for _, g := range groups {
				fmt.Fprintf(bw, "\n  %s: %s\n", g.subject, strings.Join(g.names, ", "))
				fmt.Fprintf(bw, "    %s\n", oneLine(g.fix))
			}
		}
	}
	_, err := fmt.Fprintf(bw, "\n%s\n", verifySummary(r))
	return err
}

// verifySummary is the last line of the text report and the markdown
// title's tail. Skipped checks are counted apart: they neither passed nor
// failed.
func verifySummary(r *verify.Report) string {
	s, f := len(r.Skipped()), len(r.Failed())
	n := len(r.Checks) - s
	var line string
	if f == 0 {
		line = fmt.Sprintf("Verify: all %d checks passed", n)
	} else {
		line = fmt.Sprintf("Verify: %d of %d checks failed", f, n)
	}
	if s > 0 {
		line += fmt.Sprintf("; %d skipped", s)
	}
	return line + "."
}

func resultWord(s verify.Status) string {
	switch s {
	case verify.Pass:
		return "ok"
	case verify.Skip:
		return "skip"
	}
	return "FAIL"
}

// observedText is a check's Observed, with what was expected when it
// failed.
func observedText(c verify.Check) string {
	s := oneLine(c.Observed)
	if c.Status == verify.Fail && c.Expected != "" {
		s += " (expected " + oneLine(c.Expected) + ")"
	}
	return s
}

// oneLine keeps a cell on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(Escape(s))))
}

// fixGroup is the failing (or skipped) checks of one subject that share
// what to do.
type fixGroup struct {
	subject, fix string
	names        []string
}

// fixGroups groups failed (or skipped) checks by subject and fix, in report order, so
// one cause (dnsmasq stopped) is explained once, not once per name.
func fixGroups(failed []verify.Check) []fixGroup {
	var out []fixGroup
	at := map[[2]string]int{}
	for _, c := range failed {
		k := [2]string{c.Subject, c.Fix}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, fixGroup{subject: c.Subject, fix: c.Fix})
		}
		out[i].names = append(out[i].names, c.Name)
	}
	return out
}
