package views

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string
		want     []string
	}{
		{"equal", "a\nb\n", "a\nb\n", nil},
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n", []string{"@@ -1,3 +1,3 @@", " a", "-b", "+B", " c"}},
		{"from empty", "", "x\ny\n", []string{"@@ -0,0 +1,2 @@", "+x", "+y"}},
		{"to empty", "x\n", "", []string{"@@ -1 +0,0 @@", "-x"}},
		{"insertion after line 3", "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\nnew\n4\n5\n6\n7\n8\n",
			[]string{"@@ -1,6 +1,7 @@", " 1", " 2", " 3", "+new", " 4", " 5", " 6"}},
		{"pure insertion far down", "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			[]string{"@@ -6,3 +6,4 @@", " 6", " 7", " 8", "+9"}},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "x\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ny\n",
			[]string{"@@ -1,4 +1,4 @@", "-1", "+x", " 2", " 3", " 4", "@@ -9,4 +9,4 @@", " 9", " 10", " 11", "-12", "+y"}},
		{"hunks merge across six equal lines", "1\n2\n3\n4\n5\n6\n7\n8\n", "x\n2\n3\n4\n5\n6\n7\ny\n",
			[]string{"@@ -1,8 +1,8 @@", "-1", "+x", " 2", " 3", " 4", " 5", " 6", " 7", "-8", "+y"}},
		{"newline added at end", "a\nb", "a\nb\n", []string{"@@ -1,2 +1,2 @@", " a", "-b", `\No newline at end of file`, "+b"}},
		{"changes grouped deletions first", "a\nb\nc\n", "x\ny\nz\n", []string{"@@ -1,3 +1,3 @@", "-a", "-b", "-c", "+x", "+y", "+z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range unifiedDiff(tc.old, tc.new, 3) {
				if l.mark == '@' {
					got = append(got, l.text)
				} else {
					got = append(got, string(l.mark)+l.text)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestShortestEditProperties checks on random sequences that the script
// turns a into b and is as short as an LCS says it can be.
func TestShortestEditProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 500; n++ {
		a := randomSeq(r, r.Intn(30))
		b := randomSeq(r, r.Intn(30))
		es := shortestEdit(len(a), len(b), func(i, j int) bool { return a[i] == b[j] })
		var got []string
		changes := 0
		ai := 0
		for _, e := range es {
			switch e.kind {
			case editEqual:
				if a[e.i] != b[e.j] || e.i != ai {
					t.Fatalf("a=%v b=%v: bad equal step %+v", a, b, e)
				}
				got = append(got, a[e.i])
				ai++
			case editDelete:
				if e.i != ai {
					t.Fatalf("a=%v b=%v: deletion out of order %+v", a, b, e)
				}
				ai++
				changes++
			case editInsert:
				got = append(got, b[e.j])
				changes++
			}
		}
		if ai != len(a) || strings.Join(got, "") != strings.Join(b, "") {
			t.Fatalf("a=%v b=%v: script yields %v", a, b, got)
		}
		if want := len(a) + len(b) - 2*lcs(a, b); changes != want {
			t.Fatalf("a=%v b=%v: %d changes, shortest is %d", a, b, changes, want)
		}
	}
}

func randomSeq(r *rand.Rand, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = string(rune('a' + r.Intn(4)))
	}
	return s
}

func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

func BenchmarkUnifiedDiffLargeFile(b *testing.B) {
	var old, new strings.Builder
	for i := range 20000 {
		old.WriteString("line " + string(rune('a'+i%26)) + " unchanged content\n")
		if i%500 == 0 {
			new.WriteString("an edited line\n")
		} else {
			new.WriteString("line " + string(rune('a'+i%26)) + " unchanged content\n")
		}
	}
	for b.Loop() {
		unifiedDiff(old.String(), new.String(), 3)
	}
}
