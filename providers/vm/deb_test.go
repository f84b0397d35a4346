package vm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeTestDeb writes a minimal .deb (ar of debian-binary, control.tar.gz
// or an uncompressed control.tar, and an empty data.tar) to path.
func writeTestDeb(t *testing.T, path, pkg, version string, gz bool) {
	t.Helper()
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: meshx tests\nDescription: test\n multi-line\n", pkg, version)
	var ctar bytes.Buffer
	tw := tar.NewWriter(&ctar)
	tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "./control", Mode: 0o644, Size: int64(len(control))})
	tw.Write([]byte(control))
	tw.Close()
	name, body := "control.tar", ctar.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(body)
		zw.Close()
		name, body = "control.tar.gz", z.Bytes()
	}
	var empty bytes.Buffer
	tar.NewWriter(&empty).Close()
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {name, body}, {"data.tar", empty.Bytes()}} {
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.body))
		ar.Write(m.body)
		if len(m.body)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	if err := os.WriteFile(path, ar.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadDebFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		gz      bool
		version string
	}{
		{"gzip control", true, "1:1.0.5-2"},
		{"uncompressed control (odd sizes padded)", false, "1.0~rc1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("p%d.deb", i))
			writeTestDeb(t, path, "istio-sidecar", tt.version, tt.gz)
			got, err := readDebFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := debInfo{Package: "istio-sidecar", Version: tt.version, Architecture: "all"}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if dd, err := exec.LookPath("dpkg-deb"); err == nil {
				out, err := exec.Command(dd, "-f", path, "Version").Output()
				if err != nil {
					t.Fatalf("dpkg-deb rejects the test .deb: %v", err)
				}
				if v := strings.TrimSpace(string(out)); v != tt.version {
					t.Fatalf("dpkg-deb reads version %q", v)
				}
			}
		})
	}
	t.Run("not a deb", func(t *testing.T) {
		path := filepath.Join(dir, "junk.deb")
		os.WriteFile(path, []byte("PK\x03\x04 zip, not a deb"), 0o644)
		if _, err := readDebFile(path); err == nil || !strings.Contains(err.Error(), "not a .deb") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("xz control via dpkg-deb", func(t *testing.T) {
		dd, err := exec.LookPath("dpkg-deb")
		if err != nil {
			t.Skip("no dpkg-deb")
		}
		root := filepath.Join(dir, "pkgroot")
		os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
		os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte("Package: xzpkg\nVersion: 2.0-1\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: t\n"), 0o644)
		path := filepath.Join(dir, "xz.deb")
		if out, err := exec.Command(dd, "--root-owner-group", "-Zxz", "--build", root, path).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
		}
		got, err := readDebFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.Package != "xzpkg" || got.Version != "2.0-1" {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestPackageRenderReadsTheLocalDeb(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "istio-sidecar.deb")
	writeTestDeb(t, path, "istio-sidecar", "1.0.6", true)
	r := Package("ecs1", "istio-sidecar", PackageSource{Path: path})
	o, err := r.Render(fixedOutputs{})
	if err != nil {
		t.Fatal(err)
	}
	if o["version"] != "1.0.6" || o["name"] != "istio-sidecar" {
		t.Fatalf("Render = %v", o)
	}
	wrong := Package("ecs1", "other-name", PackageSource{Path: path})
	if _, err := wrong.Render(fixedOutputs{}); err == nil || !strings.Contains(err.Error(), `contains package "istio-sidecar"`) {
		t.Fatalf("a .deb of another package: err = %v", err)
	}
}
