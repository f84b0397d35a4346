package views

import (
	"fmt"
	"strings"
)

// editKind is one step of an edit script.
type editKind uint8

const (
	editEqual editKind = iota
	editDelete
	editInsert
)

// edit is one step of an edit script turning sequence a into sequence b:
// a[i] kept as b[j], a[i] deleted, or b[j] inserted.
type edit struct {
	kind editKind
	i, j int
}

// maxEditDistance bounds the Myers search. Past it the changed middle is
// shown as all of a deleted and all of b inserted: still a correct diff,
// just not the shortest, and it keeps time and memory bounded on huge,
// wholly rewritten files.
const maxEditDistance = 2000

// shortestEdit returns an edit script turning a sequence of n elements into
// one of m elements, where eq(i, j) reports whether a[i] equals b[j]. It is
// Myers' O(ND) algorithm after trimming the common prefix and suffix; within
// each changed region deletions come before insertions, so the output is
// deterministic and reads like `diff -u`.
//
// go-internal's diff package (fmt -diff uses it) is not used here: it is an
// anchored diff, matching only lines unique to both sides, so two values
// sharing only repeated lines (a swap of two lines, a list of "}") come out
// wholly replaced instead of as the few lines that changed, and its hunk
// headers and merging differ from diff -u's ("-1,1", hunks 6 lines apart
// kept apart), which the plan text and its golden files follow.
func shortestEdit(n, m int, eq func(i, j int) bool) []edit {
	pre := 0
	for pre < n && pre < m && eq(pre, pre) {
		pre++
	}
	suf := 0
	for suf < n-pre && suf < m-pre && eq(n-1-suf, m-1-suf) {
		suf++
	}
	out := make([]edit, 0, n+m)
	for k := 0; k < pre; k++ {
		out = append(out, edit{editEqual, k, k})
	}
	out = append(out, myersMiddle(pre, n-suf, pre, m-suf, eq)...)
	for k := 0; k < suf; k++ {
		out = append(out, edit{editEqual, n - suf + k, m - suf + k})
	}
	return groupChanges(out)
}

// myersMiddle diffs a[a0:a1] against b[b0:b1].
func myersMiddle(a0, a1, b0, b1 int, eq func(i, j int) bool) []edit {
	n, m := a1-a0, b1-b0
	if n == 0 || m == 0 {
		return replaceAll(a0, a1, b0, b1)
	}
	max := n + m
	off := max + 1
	v := make([]int, 2*max+3)
	// trace[d] holds v[k] for k in [-d, d] as it was after step d.
	var trace [][]int
	for d := 0; d <= max; d++ {
		if d > maxEditDistance {
			return replaceAll(a0, a1, b0, b1)
		}
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && eq(a0+x, b0+y) {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, d, n, m, a0, b0)
			}
		}
		snap := make([]int, 2*d+1)
		copy(snap, v[off-d:off+d+1])
		trace = append(trace, snap)
	}
	return replaceAll(a0, a1, b0, b1) // unreachable: d = n+m always ends
}

func backtrack(trace [][]int, d, x, y, a0, b0 int) []edit {
	var rev []edit
	get := func(step, k int) int { return trace[step][k+step] }
	for ; d > 0; d-- {
		k := x - y
		var pk int
		if k == -d || (k != d && get(d-1, k-1) < get(d-1, k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := get(d-1, pk)
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, edit{editEqual, a0 + x, b0 + y})
		}
		if x == px {
			y--
			rev = append(rev, edit{editInsert, a0 + x, b0 + y})
		} else {
			x--
			rev = append(rev, edit{editDelete, a0 + x, b0 + y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, edit{editEqual, a0 + x, b0 + y})
	}
	out := make([]edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}

func replaceAll(a0, a1, b0, b1 int) []edit {
	var out []edit
	for i := a0; i < a1; i++ {
		out = append(out, edit{editDelete, i, b0})
	}
	for j := b0; j < b1; j++ {
		out = append(out, edit{editInsert, a1, j})
	}
	return out
}

// groupChanges moves the deletions of each run of changes before its
// insertions; with no equal step in between, the script stays correct.
func groupChanges(es []edit) []edit {
	out := make([]edit, 0, len(es))
	for i := 0; i < len(es); {
		if es[i].kind == editEqual {
			out = append(out, es[i])
			i++
			continue
		}
		j := i
		for j < len(es) && es[j].kind != editEqual {
			j++
		}
		for _, e := range es[i:j] {
			if e.kind == editDelete {
				out = append(out, e)
			}
		}
		for _, e := range es[i:j] {
			if e.kind == editInsert {
				out = append(out, e)
			}
		}
		i = j
	}
	return out
}

// diffLine is one line of a unified diff: mark is ' ' (context), '-', '+',
// '@' (hunk header) or '\\' (no newline at end of file).
type diffLine struct {
	mark byte
	text string
}

// splitText splits s into lines, dropping the final newline, and reports
// whether s lacked one.
func splitText(s string) (lines []string, noEOL bool) {
	if s == "" {
		return nil, false
	}
	lines = strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1], false
	}
	return lines, true
}

// unifiedDiff returns the hunks of a unified diff of old against new with
// context lines of context around each change, as `diff -u` prints them
// minus the file header. It returns nil when the texts are equal.
func unifiedDiff(old, new string, context int) []diffLine {
	a, aNoEOL := splitText(old)
	b, bNoEOL := splitText(new)
	// A last line without a newline differs from the same text with one.
	key := func(lines []string, noEOL bool, i int) string {
		if noEOL && i == len(lines)-1 {
			return lines[i] + "\x00"
		}
		return lines[i]
	}
	es := shortestEdit(len(a), len(b), func(i, j int) bool {
		return key(a, aNoEOL, i) == key(b, bNoEOL, j)
	})
	var out []diffLine
	for _, h := range hunks(es, context) {
		out = append(out, diffLine{'@', h.header()})
		for _, e := range es[h.from:h.to] {
			switch e.kind {
			case editEqual:
				out = append(out, diffLine{' ', a[e.i]})
				if aNoEOL && e.i == len(a)-1 {
					out = append(out, diffLine{'\\', "No newline at end of file"})
				}
			case editDelete:
				out = append(out, diffLine{'-', a[e.i]})
				if aNoEOL && e.i == len(a)-1 {
					out = append(out, diffLine{'\\', "No newline at end of file"})
				}
			case editInsert:
				out = append(out, diffLine{'+', b[e.j]})
				if bNoEOL && e.j == len(b)-1 {
					out = append(out, diffLine{'\\', "No newline at end of file"})
				}
			}
		}
	}
	return out
}

// hunk is a window es[from:to] of an edit script with its line ranges.
type hunk struct {
	from, to     int
	aStart, aLen int // aStart is 0-based
	bStart, bLen int
}

func (h hunk) header() string {
	return fmt.Sprintf("@@ -%s +%s @@", hunkRange(h.aStart, h.aLen), hunkRange(h.bStart, h.bLen))
}

// hunkRange prints a range as diff -u does: "3,4", "3" for one line, and
// for an empty range the number of the line before it ("2,0"). start is
// the number of lines before the range.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// hunks groups the changes of es with up to context equal steps around
// them; changes closer than 2*context share a hunk.
func hunks(es []edit, context int) []hunk {
	var out []hunk
	i := 0
	for i < len(es) {
		for i < len(es) && es[i].kind == editEqual {
			i++
		}
		if i == len(es) {
			break
		}
		from := max(i-context, 0)
		end := i // one past the last change in this hunk
		for j := i; j < len(es); j++ {
			if es[j].kind != editEqual {
				end = j + 1
				continue
			}
			if j-end >= 2*context {
				break
			}
		}
		to := min(end+context, len(es))
		h := hunk{from: from, to: to}
		// Positions before the hunk: the a and b line numbers of es[from].
		h.aStart, h.bStart = position(es, from)
		for _, e := range es[from:to] {
			if e.kind != editInsert {
				h.aLen++
			}
			if e.kind != editDelete {
				h.bLen++
			}
		}
		out = append(out, h)
		i = to
	}
	return out
}

// position returns how many a and b lines come before es[k].
func position(es []edit, k int) (a, b int) {
	for _, e := range es[:k] {
		if e.kind != editInsert {
			a++
		}
		if e.kind != editDelete {
			b++
		}
	}
	return a, b
}
