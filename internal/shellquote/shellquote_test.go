package shellquote

import (
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWordRoundTripsThroughTheShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"", ""},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"~root", "'~root'"},
		{"#x", "'#x'"},
		{"$(id)", "'$(id)'"},
		{"a\nb", "'a\nb'"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Word(tc.in)); diff != "" {
				t.Errorf("Word (-want +got):\n%s", diff)
			}
			out, err := exec.Command(sh, "-c", "V="+Word(tc.in)+"; printf '%s' \"$V\"").Output()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.in, string(out)); diff != "" {
				t.Errorf("sh reads back (-want +got):\n%s", diff)
			}
		})
	}
}
