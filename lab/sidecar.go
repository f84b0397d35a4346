package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/meshx-dev/meshx/lab/vmlab"
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
	from := func(src string, mode os.FileMode) vmlab.DebFile {
		return vmlab.DebFile{Mode: mode, Source: filepath.Join(bin, src)}
	}
	deb := vmlab.DebPackage{
		Name: "istio-sidecar", Version: ModernSidecarVersion, Arch: "amd64",
		Depends: "iproute2, iptables, sudo, hostname",
		Description: fmt.Sprintf(`Istio Sidecar (meshx lab build of istio.io/istio %s)
 The real pilot-agent, istio-start.sh, istio.service, sidecar.env and
 postinst of the pinned Istio module, and a stand-in envoy.`, IstioVersion),
		Files: map[string]vmlab.DebFile{
			"usr/local/bin/pilot-agent":                     from("pilot-agent", 0o755),
			"usr/local/bin/envoy":                           from("envoy", 0o755),
			"usr/local/bin/istio-start.sh":                  from("istio-start.sh", 0o755),
			"lib/systemd/system/istio.service":              from("istio.service", 0o644),
			"var/lib/istio/envoy/sidecar.env":               from("sidecar.env", 0o644),
			"var/lib/istio/envoy/envoy_bootstrap_tmpl.json": from("envoy_bootstrap.json", 0o644),
			"DEBIAN/postinst":                               from("postinst.sh", 0o755),
		},
		Conffiles: []string{"/var/lib/istio/envoy/envoy_bootstrap_tmpl.json", "/var/lib/istio/envoy/sidecar.env"},
	}
	if err := deb.Build(ctx, out); err != nil {
		return "", fmt.Errorf("modern sidecar deb: %w", err)
	}
	return out, nil
}
