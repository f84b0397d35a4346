package envfile

import (
	"regexp"
	"sort"
	"strings"

	"github.com/meshx-dev/meshx/internal/shellquote"
)

// keyRE is a shell variable name meshx manages: what ValidKey accepts.
var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// ValidKey reports whether k is a variable name meshx will set.
func ValidKey(k string) bool { return keyRE.MatchString(k) }

var assignRE = regexp.MustCompile(`^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// parseAssign returns the key and value of an assignment line.
func parseAssign(line string) (prefix, key, value string, ok bool) {
	m := assignRE.FindStringSubmatch(line)
	if m == nil {
		return "", "", "", false
	}
	return m[1], m[2], unquoteShell(m[3]), true
}

// unquoteShell reads the first shell word of s the way sh would for the
// forms meshx writes and people commonly write: 'single', "double" with
// backslash escapes, and bare words (up to whitespace; a # after
// whitespace starts a comment).
func unquoteShell(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t':
			return b.String()
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				b.WriteString(s[i+1:])
				return b.String()
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FormatValue returns v as a shell word: bare when safe, else single
// quoted.
func FormatValue(v string) string { return shellquote.Word(v) }

// Values returns the value each key ends up with when the file is
// sourced (the last assignment wins).
func Values(content string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		if _, k, v, ok := parseAssign(line); ok {
			out[k] = v
		}
	}
	return out
}

// Merge sets the keys in set and, for the keys in unset, restores the
// value given or removes the key when it is nil. Each key's first
// assignment line is rewritten in place (keeping an "export " prefix) and
// its later assignments dropped; keys not assigned yet are appended in
// sorted order. Every other line is kept as it is.
func Merge(content string, set map[string]string, unset map[string]*string) string {
	want := map[string]*string{}
	for k, v := range unset {
		want[k] = v
	}
	for k, v := range set {
		want[k] = &v
	}
	lines := strings.Split(content, "\n")
	trailingNL := strings.HasSuffix(content, "\n")
	if trailingNL {
		lines = lines[:len(lines)-1]
	}
	if content == "" {
		lines = nil
	}
	done := map[string]bool{}
	var out []string
	for _, line := range lines {
		prefix, k, _, ok := parseAssign(line)
		v, managed := want[k]
		if !ok || !managed {
			out = append(out, line)
			continue
		}
		if done[k] || v == nil {
			continue
		}
		done[k] = true
		out = append(out, prefix+k+"="+FormatValue(*v))
	}
	var add []string
	for k, v := range want {
		if !done[k] && v != nil {
			add = append(add, k)
		}
	}
	sort.Strings(add)
	for _, k := range add {
		out = append(out, k+"="+FormatValue(*want[k]))
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}
