package vmlab

import (
	"archive/tar"
	"bytes"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLegacyDebsSplitTheSidecar builds the stand-ins of Istio 0.2–0.4's
// three packages and checks that together they hold exactly the files of
// the stand-in istio-sidecar, each file in one package only (dpkg refuses
// a file two packages ship), with the units in the packages whose daemons
// they start.
func TestLegacyDebsSplitTheSidecar(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("skipping: no dpkg-deb to build packages with")
	}
	debs, err := buildLegacyDebs(t.Context(), t.TempDir(), "http://lab")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	owner := map[string]string{}
	for _, d := range debs {
		names = append(names, d.Package)
		info, err := exec.Command("dpkg-deb", "-f", d.Path, "Package", "Version").Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := "Package: " + d.Package + "\nVersion: " + LegacyDebVersion + "\n"; string(info) != want {
			t.Errorf("%s control = %q, want %q", d.Path, info, want)
		}
		out, err := exec.Command("dpkg-deb", "--fsys-tarfile", d.Path).Output()
		if err != nil {
			t.Fatal(err)
		}
		list, err := tarList(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range list {
			if prev, dup := owner[f]; dup {
				t.Errorf("%s is in %s and %s", f, prev, d.Package)
			}
			owner[f] = d.Package
		}
		if !strings.HasSuffix(d.URL, "/"+d.Package+"_"+LegacyDebVersion+"_all.deb") || len(d.SHA256) != 64 {
			t.Errorf("deb %+v", d)
		}
	}
	if diff := cmp.Diff([]string{"istio-agent", "istio-auth-node-agent", "istio-proxy"}, names); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	var want, got []string
	for rel := range sidecarFiles(LegacyDebVersion) {
		want = append(want, rel)
	}
	for f := range owner {
		got = append(got, f)
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files of the three packages (-istio-sidecar's +theirs):\n%s", diff)
	}
	for f, pkg := range map[string]string{
		"lib/systemd/system/istio.service":                 "istio-agent",
		"lib/systemd/system/istio-auth-node-agent.service": "istio-auth-node-agent",
		"usr/local/bin/envoy":                              "istio-proxy",
	} {
		if owner[f] != pkg {
			t.Errorf("%s is in %q, want %s", f, owner[f], pkg)
		}
	}
}

// tarList lists the regular files of a tar archive, without "./".
func tarList(b []byte) ([]string, error) {
	r := tar.NewReader(bytes.NewReader(b))
	var out []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			out = append(out, strings.TrimPrefix(h.Name, "./"))
		}
	}
}
