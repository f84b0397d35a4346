package views

import (
	"bytes"
	"strings"
	"testing"
)

// TestApproveTakesOnlyYes: the approval prompt names the question and
// what will happen, and only "yes" approves.
func TestApproveTakesOnlyYes(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   bool
	}{{"yes\n", true}, {"  yes \n", true}, {"y\n", false}, {"", false}} {
		var stdout, stderr bytes.Buffer
		v := NewApply(ViewHuman, NewView(&stdout, &stderr, ViewOptions{}), ApplyViewOptions{})
		if got := v.Approve("Do you want to perform these actions?", "meshx will perform the actions described above.", strings.NewReader(tc.answer)); got != tc.want {
			t.Errorf("answer %q: approved = %v, want %v", tc.answer, got, tc.want)
		}
		if !strings.Contains(stdout.String(), "Do you want to perform these actions?\n  meshx will perform the actions described above.\n  Only 'yes' will be accepted") {
			t.Errorf("answer %q: prompt %q", tc.answer, stdout.String())
		}
		if refused := strings.Contains(stderr.String(), "not approved; nothing was changed"); refused == tc.want {
			t.Errorf("answer %q: stderr %q", tc.answer, stderr.String())
		}
	}
}
