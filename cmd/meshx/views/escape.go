package views

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text from a plan file, a configuration, a cluster or a VM can hold
// characters a terminal acts on: escape sequences that set the window
// title, move the cursor, rewrite the screen or hide text, a carriage
// return that overwrites the line, and Unicode bidirectional controls that
// reorder what a reviewer reads. The human views write such characters as
// Go escapes (\x1b, \u202e) instead: what the reader sees is what is there.

// Escape returns s with every character a terminal could act on written
// as a Go escape: C0 controls but newline and tab, DEL, C1 controls,
// Unicode bidirectional controls, and bytes that are not UTF-8.
func Escape(s string) string {
	safe := true
	for i := 0; i < len(s) && safe; {
		r, size := utf8.DecodeRuneInString(s[i:])
		safe = !(r == utf8.RuneError && size == 1 || r != '\n' && r != '\t' && unsafeRune(r))
		i += size
	}
	if safe {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || !unsafeRune(r):
			b.WriteString(s[i : i+size])
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports a C0 or C1 control, DEL, or a bidirectional control.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, // ALM, LRM, RLM
		r >= 0x202a && r <= 0x202e, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}

// colorSequences are the SGR sequences meshx itself writes for colour.
var colorSequences = []string{
	ansiReset, ansiRed, ansiGreen, ansiYellow,
	ansiBold,      // in diagnostics
	ansiUnderline, // the highlighted range of a diagnostic
}

// NewTerminalWriter returns a writer that escapes each Write as Escape
// does, except, when color is set, the colour sequences meshx writes
// itself: text that carries one of those can only change a colour. Each
// Write must hold whole sequences, as one formatted line does.
func NewTerminalWriter(w io.Writer, color bool) io.Writer {
	return terminalWriter{w: w, color: color}
}

type terminalWriter struct {
	w     io.Writer
	color bool
}

func (t terminalWriter) Write(p []byte) (int, error) {
	s := string(p)
	var b strings.Builder
	for t.color {
		i := strings.IndexByte(s, '\x1b')
		if i < 0 {
			break
		}
		b.WriteString(Escape(s[:i]))
		s = s[i:]
		n := 0
		for _, c := range colorSequences {
			if strings.HasPrefix(s, c) {
				n = len(c)
				break
			}
		}
		if n == 0 {
			b.WriteString(`\x1b`)
			n = 1
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	b.WriteString(Escape(s))
	if _, err := io.WriteString(t.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// EscapeJSON rewrites, in JSON text that encoding/json wrote, the
// characters it leaves raw and a terminal could act on (DEL, C1 controls,
// bidirectional controls) as \u escapes. encoding/json escapes the C0
// controls and never writes invalid UTF-8; these characters can only
// stand inside strings, so the document keeps its meaning.
func EscapeJSON(b []byte) []byte {
	// Newlines and tabs outside strings are JSON's own; inside strings
	// encoding/json has escaped every C0 control already.
	unsafe := func(r rune) bool { return r >= 0x7f && unsafeRune(r) }
	if !bytes.ContainsFunc(b, unsafe) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if unsafe(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}
