package views

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/meshx-dev/meshx/plans"
)

// Action markers, as Terraform draws them.
const (
	markCreate  = "+"
	markUpdate  = "~"
	markDelete  = "-"
	markReplace = "-/+"
	markRead    = "<="
)

// line is one line of a rendered resource diff. Keeping the marker apart
// from the text lets the human view colour it and the markdown view move it
// to column 0, without re-parsing text (a file line that starts with "- "
// is content, not a marker).
type line struct {
	// indent is the number of spaces before the marker column.
	indent int
	// mark is "", "+", "~", "-" or "-/+".
	mark string
	text string
}

// width of the marker column plus its space: "+ " is 2, "-/+ " is 4.
func (l line) prefixWidth() int {
	if len(l.mark) > 1 {
		return l.indent + len(l.mark) + 1
	}
	return l.indent + 2
}

// plain renders l for a terminal; color wraps the marker in ANSI codes.
func (l line) plain(color bool) string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", l.indent))
	if l.mark == "" {
		if l.text == "" {
			return strings.TrimRight(b.String(), " ")
		}
		b.WriteString("  ")
	} else {
		b.WriteString(colorMark(l.mark, color))
		b.WriteByte(' ')
	}
	b.WriteString(l.text)
	return b.String()
}

// diffMarkdown renders l for a ```diff block: the marker moves to column 0
// (~ and -/+ become !) so GitHub colours the line; the text keeps its
// column.
func (l line) diffMarkdown() string {
	w := l.prefixWidth()
	if l.mark == "" {
		if l.text == "" {
			return ""
		}
		return strings.Repeat(" ", w) + l.text
	}
	m := l.mark
	switch m {
	case markUpdate, markReplace:
		m = "!"
	}
	return m + strings.Repeat(" ", w-1) + l.text
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// colorMark colours a marker: + green, ~ yellow, - red.
func colorMark(mark string, color bool) string {
	if !color {
		return mark
	}
	var b strings.Builder
	for _, r := range mark {
		switch r {
		case '+':
			b.WriteString(ansiGreen + "+" + ansiReset)
		case '~':
			b.WriteString(ansiYellow + "~" + ansiReset)
		case '-':
			b.WriteString(ansiRed + "-" + ansiReset)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// childIndent is how far nested entries sit right of their parent.
const childIndent = 4

// objectDiff renders the entries of two maps at indent and returns the
// lines and how many entries were equal and hidden. When hideRemoved is
// set, keys only in before are counted as hidden rather than deleted: at
// the top level of an update they are attributes meshx does not manage.
// sensitive names keys whose values are shown only as fingerprints.
func objectDiff(indent int, before, after map[string]any, hideRemoved bool, sensitive map[string]bool, quoteKeys bool) (lines []line, hidden int) {
	type entry struct {
		key           string
		kind          string // mark: + - ~
		before, after any
	}
	var entries []entry
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		b, inB := before[k]
		a, inA := after[k]
		switch {
		case !inB || b == nil:
			if a == nil {
				if inB && inA {
					hidden++
				}
				continue
			}
			entries = append(entries, entry{k, markCreate, nil, a})
		case !inA:
			if hideRemoved {
				hidden++
				continue
			}
			entries = append(entries, entry{k, markDelete, b, nil})
		case a == nil:
			entries = append(entries, entry{k, markDelete, b, nil})
		case plans.Equal(b, a):
			hidden++
		default:
			entries = append(entries, entry{k, markUpdate, b, a})
		}
	}
	width := 0
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.key
		if quoteKeys && !isIdentifier(e.key) {
			names[i] = strconv.Quote(e.key)
		}
		width = max(width, len(names[i]))
	}
	for i, e := range entries {
		prefix := names[i] + strings.Repeat(" ", width-len(names[i])) + " = "
		if sensitive[e.key] {
			lines = append(lines, sensitiveLine(indent, e.kind, prefix, e.before, e.after))
			continue
		}
		switch e.kind {
		case markCreate:
			lines = append(lines, wholeValue(indent, markCreate, prefix, e.after, "")...)
		case markDelete:
			lines = append(lines, wholeValue(indent, markDelete, prefix, e.before, " -> null")...)
		default:
			lines = append(lines, changedValue(indent, prefix, e.before, e.after, "")...)
		}
	}
	return lines, hidden
}

// sensitiveLine shows a sensitive attribute by fingerprint only.
func sensitiveLine(indent int, mark, prefix string, before, after any) line {
	var s string
	switch mark {
	case markCreate:
		s = "(sensitive value, " + sensitiveToken(after) + ")"
	case markDelete:
		s = "(sensitive value, " + sensitiveToken(before) + ") -> null"
	default:
		s = "(sensitive value, " + sensitiveToken(before) + " -> " + sensitiveToken(after) + ")"
	}
	return line{indent, mark, prefix + s}
}

// hiddenLine notes how many equal entries were left out.
func hiddenLine(indent int, n int, noun string) line {
	if n != 1 {
		noun += "s"
	}
	return line{indent, "", fmt.Sprintf("# (%d unchanged %s hidden)", n, noun)}
}

// changedValue renders one value that differs, at indent, after prefix
// ("name = "), with suffix on its last line ("," in a list).
func changedValue(indent int, prefix string, before, after any, suffix string) []line {
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	bl, bIsList := before.([]any)
	al, aIsList := after.([]any)
	bs, bIsString := before.(string)
	as, aIsString := after.(string)
	switch {
	case bIsMap && aIsMap:
		inner, hidden := objectDiff(indent+childIndent, bm, am, false, nil, true)
		lines := append([]line{{indent, markUpdate, prefix + "{"}}, inner...)
		if hidden > 0 {
			lines = append(lines, hiddenLine(indent+childIndent, hidden, "element"))
		}
		return append(lines, line{indent, "", "}" + suffix})
	case bIsList && aIsList:
		lines := append([]line{{indent, markUpdate, prefix + "["}}, listDiff(indent+childIndent, bl, al)...)
		return append(lines, line{indent, "", "]" + suffix})
	case bIsString && aIsString && (strings.Contains(bs, "\n") || strings.Contains(as, "\n")):
		lines := []line{{indent, markUpdate, prefix + "<<-EOT"}}
		for _, dl := range unifiedDiff(bs, as, 3) {
			l := line{indent: indent + childIndent, text: dl.text}
			switch dl.mark {
			case '-':
				l.mark = markDelete
			case '+':
				l.mark = markCreate
			case '\\':
				l.text = `\ ` + dl.text
			}
			lines = append(lines, l)
		}
		return append(lines, line{indent, "", "EOT" + suffix})
	case plans.IsUnknown(after):
		return wholeValue(indent, markUpdate, prefix, before, " -> (known after apply)"+suffix)
	case isMultiLine(before) || isMultiLine(after):
		// The value changes shape (a string becomes a map): show the old
		// value going and the new one coming.
		lines := wholeValue(indent, markDelete, prefix, before, " -> null"+suffix)
		return append(lines, wholeValue(indent, markCreate, prefix, after, suffix)...)
	}
	return []line{{indent, markUpdate, prefix + inline(before) + " -> " + inline(after) + suffix}}
}

// listDiff renders the elements of two lists that differ: equal runs are
// hidden in place; a removed and an added map at the same position show
// as one updated map.
func listDiff(indent int, before, after []any) []line {
	es := shortestEdit(len(before), len(after), func(i, j int) bool { return plans.Equal(before[i], after[j]) })
	var lines []line
	for i := 0; i < len(es); {
		if es[i].kind == editEqual {
			j := i
			for j < len(es) && es[j].kind == editEqual {
				j++
			}
			lines = append(lines, hiddenLine(indent, j-i, "element"))
			i = j
			continue
		}
		var dels, ins []any
		for ; i < len(es) && es[i].kind != editEqual; i++ {
			if es[i].kind == editDelete {
				dels = append(dels, before[es[i].i])
			} else {
				ins = append(ins, after[es[i].j])
			}
		}
		paired := 0
		for paired < len(dels) && paired < len(ins) {
			_, bm := dels[paired].(map[string]any)
			_, am := ins[paired].(map[string]any)
			if !bm || !am {
				break
			}
			paired++
		}
		for k := 0; k < paired; k++ {
			lines = append(lines, changedValue(indent, "", dels[k], ins[k], ",")...)
		}
		for _, v := range dels[paired:] {
			lines = append(lines, wholeValue(indent, markDelete, "", v, ",")...)
		}
		for _, v := range ins[paired:] {
			lines = append(lines, wholeValue(indent, markCreate, "", v, ",")...)
		}
	}
	return lines
}

// wholeValue renders a whole value being created, deleted or kept, at indent
// after prefix, with suffix on its last line. Nested entries carry the
// same mark; a multi-line string becomes a heredoc.
func wholeValue(indent int, mark, prefix string, v any, suffix string) []line {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return []line{{indent, mark, prefix + "{}" + suffix}}
		}
		lines := []line{{indent, mark, prefix + "{"}}
		width := 0
		for k := range t {
			width = max(width, len(mapKey(k)))
		}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			name := mapKey(k)
			lines = append(lines, wholeValue(indent+childIndent, mark, name+strings.Repeat(" ", width-len(name))+" = ", t[k], "")...)
		}
		return append(lines, line{indent, "", "}" + suffix})
	case []any:
		if len(t) == 0 {
			return []line{{indent, mark, prefix + "[]" + suffix}}
		}
		lines := []line{{indent, mark, prefix + "["}}
		for _, e := range t {
			lines = append(lines, wholeValue(indent+childIndent, mark, "", e, ",")...)
		}
		return append(lines, line{indent, "", "]" + suffix})
	case string:
		if strings.Contains(t, "\n") {
			lines := []line{{indent, mark, prefix + "<<-EOT"}}
			text, noEOL := splitText(t)
			for _, s := range text {
				lines = append(lines, line{indent + childIndent, "", s})
			}
			if noEOL {
				lines = append(lines, line{indent + childIndent, "", `\ No newline at end of file`})
			}
			return append(lines, line{indent, "", "EOT" + suffix})
		}
	}
	return []line{{indent, mark, prefix + inline(v) + suffix}}
}

// isMultiLine reports whether v renders on more than one line.
func isMultiLine(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) > 0
	case []any:
		return len(t) > 0
	case string:
		return strings.Contains(t, "\n")
	}
	return false
}

// inline renders a scalar in HCL syntax.
func inline(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		if math.Abs(t) < 1e21 {
			return strconv.FormatFloat(t, 'f', -1, 64)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	case plans.Sensitive:
		return "(sensitive value, " + t.Fingerprint() + ")"
	case map[string]any:
		if len(t) == 0 {
			return "{}"
		}
	case []any:
		if len(t) == 0 {
			return "[]"
		}
	}
	if plans.IsUnknown(v) {
		return "(known after apply)"
	}
	b, err := json.Marshal(safeJSON(v, nil))
	if err != nil {
		return "(unprintable value)"
	}
	return string(b)
}

// mapKey renders a map key: bare when it is an identifier, quoted
// otherwise (labels such as "app.kubernetes.io/name").
func mapKey(k string) string {
	if isIdentifier(k) {
		return k
	}
	return strconv.Quote(k)
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// normalizeObject returns o in canonical JSON shape (map[string]any
// values, int64 numbers), nil for a nil object.
func normalizeObject(o plans.Object) map[string]any {
	if o == nil {
		return nil
	}
	m, _ := plans.Normalize(map[string]any(o)).(map[string]any)
	return m
}
