package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModernSidecarVersion is the Debian version of the modern istio-sidecar
// .deb the lab builds from IstioVersion.
var ModernSidecarVersion = "0.0.0~" + strings.TrimPrefix(IstioVersion, "v0.0.0-")

// buildModernDeb builds the istio-sidecar .deb of the modern layout into
// dir from the real parts in bin (pilot-agent, istio-start.sh,
// istio.service, sidecar.env, the bootstrap template, the postinst script)
// and the stand-in envoy (lab/istiotools/envoy), laid out as Istio's
// packaging.mk lays them out.
func buildModernDeb(ctx context.Context, bin, dir string) (string, error) {
	out := filepath.Join(dir, "istio-sidecar_"+ModernSidecarVersion+"_amd64.deb")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tree, err := os.MkdirTemp(dir, ".deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tree)
	files := []struct {
		dst, src, content string
		mode              os.FileMode
	}{
		{dst: "usr/local/bin/pilot-agent", src: "pilot-agent", mode: 0o755},
		{dst: "usr/local/bin/envoy", src: "envoy", mode: 0o755},
		{dst: "usr/local/bin/istio-start.sh", src: "istio-start.sh", mode: 0o755},
		{dst: "lib/systemd/system/istio.service", src: "istio.service", mode: 0o644},
		{dst: "var/lib/istio/envoy/sidecar.env", src: "sidecar.env", mode: 0o644},
		{dst: "var/lib/istio/envoy/envoy_bootstrap_tmpl.json", src: "envoy_bootstrap.json", mode: 0o644},
		{dst: "DEBIAN/postinst", src: "postinst.sh", mode: 0o755},
		{dst: "DEBIAN/conffiles", content: "/var/lib/istio/envoy/envoy_bootstrap_tmpl.json\n/var/lib/istio/envoy/sidecar.env\n", mode: 0o644},
	}
	size := int64(0)
	for _, f := range files {
		p := filepath.Join(tree, f.dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if f.src != "" {
			if err := copyFile(filepath.Join(bin, f.src), p); err != nil {
				return "", fmt.Errorf("modern sidecar deb: %w", err)
			}
		} else if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			return "", err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return "", err
		}
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
		}
	}
	control := fmt.Sprintf(`Package: istio-sidecar
Version: %s
Architecture: amd64
Maintainer: meshx lab <lab@meshx.invalid>
Installed-Size: %d
Depends: iproute2, iptables, sudo, hostname
Section: net
Priority: optional
Homepage: https://istio.io/
Description: Istio Sidecar (meshx lab build of istio.io/istio %s)
 The real pilot-agent, istio-start.sh, istio.service, sidecar.env and
 postinst of the pinned Istio module, and a stand-in envoy.
`, ModernSidecarVersion, (size+1023)/1024, IstioVersion)
	if err := os.WriteFile(filepath.Join(tree, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree, tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("dpkg-deb --build %s: %w: %s", filepath.Base(out), err, strings.TrimSpace(stderr.String()))
	}
	return out, os.Rename(tmp, out)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
