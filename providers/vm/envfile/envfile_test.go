package envfile

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeEnv(t *testing.T) {
	tests := []struct {
		name    string
		content string
		set     map[string]string
		unset   map[string]*string
		want    string
	}{
		{name: "empty file", set: map[string]string{"B": "2", "A": "1"}, want: "A=1\nB=2\n"},
		{name: "comments and other keys kept, managed key replaced in place",
			content: "# comment\nX=1\nA=old\n# ISTIO_X=commented\n",
			set:     map[string]string{"A": "new"},
			want:    "# comment\nX=1\nA=new\n# ISTIO_X=commented\n"},
		{name: "export prefix and indentation kept",
			content: "  export A=old\n",
			set:     map[string]string{"A": "new"},
			want:    "  export A=new\n"},
		{name: "later duplicates dropped",
			content: "A=1\nB=x\nA=2\nA=3\n",
			set:     map[string]string{"A": "9"},
			want:    "A=9\nB=x\n"},
		{name: "missing final newline",
			content: "X=1",
			set:     map[string]string{"A": "1"},
			want:    "X=1\nA=1\n"},
		{name: "values that need quoting",
			content: "",
			set:     map[string]string{"A": "two words", "B": "it's", "C": "$(x)", "D": ""},
			want:    "A='two words'\nB='it'\\''s'\nC='$(x)'\nD=\n"},
		{name: "unset restores a prior value or removes the key",
			content: "A=meshx\nB=meshx\nC=other\n",
			unset:   map[string]*string{"A": ptr("before"), "B": nil},
			want:    "A=before\nC=other\n"},
		{name: "unset of a key no longer there is re-added with its prior value",
			content: "C=other\n",
			unset:   map[string]*string{"A": ptr("before")},
			want:    "C=other\nA=before\n"},
		{name: "nothing left", content: "A=1\n", unset: map[string]*string{"A": nil}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.content, tt.set, tt.unset)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// What meshx writes reads back as what it meant.
			vals := Values(got)
			for k, v := range tt.set {
				if vals[k] != v {
					t.Errorf("%s reads back as %q, want %q", k, vals[k], v)
				}
			}
		})
	}
}

func TestEnvValuesMatchTheShell(t *testing.T) {
	content := strings.Join([]string{
		`A=plain`,
		`B='single quoted $(x)'`,
		`C="double \"quoted\" \$HOME"`,
		`D=bare # trailing comment`,
		`export E=exported`,
		`F='it'\''s'`,
		`G=`,
		`# H=commented`,
		`A=last-wins`,
	}, "\n") + "\n"
	want := map[string]string{"A": "last-wins", "B": "single quoted $(x)", "C": `double "quoted" $HOME`,
		"D": "bare", "E": "exported", "F": "it's", "G": ""}
	if diff := cmp.Diff(want, Values(content)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to compare with")
	}
	// The same file sourced by a real shell gives the same values.
	script := "set -a\n" + content + "for k in A B C D E F G; do eval \"printf '%s=%s\\n' $k \\\"\\$$k\\\"\"; done\n"
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("sh disagrees (-parser +sh):\n%s", diff)
	}
}

func FuzzMergeEnv(f *testing.F) {
	f.Add("# c\nA=1\nexport B='x y'\n", "A", "v a'l")
	f.Add("", "K", "")
	f.Fuzz(func(t *testing.T, content, key, value string) {
		if !ValidKey(key) || strings.ContainsAny(value, "\x00\n\r") {
			return
		}
		got := Merge(content, map[string]string{key: value}, nil)
		if v := Values(got)[key]; v != value {
			t.Fatalf("after merge %s reads back as %q, want %q\n%s", key, v, value, got)
		}
		// Idempotent: merging again changes nothing.
		if again := Merge(got, map[string]string{key: value}, nil); again != got {
			t.Fatalf("second merge changed the file:\n%q\n%q", got, again)
		}
	})
}

func ptr[T any](v T) *T { return &v }
