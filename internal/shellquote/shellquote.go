package shellquote

import (
	"regexp"
	"strings"
)

// safeRE matches strings that need no quoting in a shell word, in an
// assignment or elsewhere: no whitespace, no quotes or expansions, no
// glob, comment or tilde characters.
var safeRE = regexp.MustCompile(`^[A-Za-z0-9_./:,@%+=-]*$`)

// Quote returns s as one single-quoted word: inside single quotes nothing
// is special, and each single quote of s is written as a closing quote, a
// backslash-escaped quote and an opening quote.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Word returns s bare when that is safe, else single-quoted, so that
// sourcing KEY=Word(s) sets KEY to s and runs nothing.
func Word(s string) string {
	if safeRE.MatchString(s) {
		return s
	}
	return Quote(s)
}
