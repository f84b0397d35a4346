package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshx-dev/meshx/planfile"
)

// TestWritePlanFileIgnoresPlantedTemp plants what an attacker sharing the
// directory could leave where meshx used to write its temporary file,
// <out>.tmp: a world-readable file, and a symlink to a file of the user's.
// The plan must still be 0600 and the symlink's target untouched.
func TestWritePlanFileIgnoresPlantedTemp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, tmp, victim string)
	}{
		{"world-readable leftover", func(t *testing.T, tmp, _ string) {
			if err := os.WriteFile(tmp, []byte("leftover"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(tmp, 0o644); err != nil { // whatever the umask
				t.Fatal(err)
			}
		}},
		{"symlink", func(t *testing.T, tmp, victim string) {
			if err := os.Symlink(victim, tmp); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "plan.out")
			victim := filepath.Join(t.TempDir(), "authorized_keys")
			if err := os.WriteFile(victim, []byte("ssh-ed25519 AAAA me\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, out+".tmp", victim)

			if err := writePlanFile(out, &planfile.File{Environment: "e"}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(out)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != 0o600 {
				t.Errorf("plan file mode %v, want -rw-------", fi.Mode())
			}
			if b, _ := os.ReadFile(victim); string(b) != "ssh-ed25519 AAAA me\n" {
				t.Errorf("the symlink's target was overwritten: %q", b)
			}
			fh, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if f, err := planfile.Read(fh); err != nil || f.Environment != "e" {
				t.Errorf("plan file reads back as %+v, %v", f, err)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 2 {
				t.Errorf("directory holds %d entries, want plan.out and the planted plan.out.tmp", len(ents))
			}
		})
	}
}
