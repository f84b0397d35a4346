package vmlab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Deb is one stand-in istio-sidecar package built by the lab.
type Deb struct {
	Package string `json:"package"`
	Version string `json:"version"`
	Path    string `json:"path"`
	URL     string `json:"url"`
	SHA256  string `json:"sha256"`
}

// DebVersions are the stand-in package versions the lab builds, oldest
// first: the first is what a VM installs, the second tests upgrades.
var DebVersions = []string{"1.0.0-lab1", "1.0.1-lab1"}

// LegacyDebVersion is the version of the stand-ins of Istio 0.2–0.4's three
// packages (istio-agent, istio-auth-node-agent, istio-proxy).
const LegacyDebVersion = "0.2.12-lab1"

// standIn is one stand-in package to build.
type standIn struct {
	name, version string
	files         map[string]debFile
	conffiles     []string
	// binaries are the files under usr/local/bin the postinst makes
	// readable by all; setgid are those it also makes setgid istio-proxy.
	binaries, setgid []string
	description      string
}

type debFile struct {
	mode    os.FileMode
	content string
}

// sidecarPackage is the stand-in istio-sidecar of the given version.
func sidecarPackage(version string) standIn {
	return standIn{
		name: "istio-sidecar", version: version, files: sidecarFiles(version),
		conffiles: []string{"/var/lib/istio/envoy/sidecar.env", "/var/lib/istio/envoy/envoy_bootstrap_tmpl.json"},
		binaries:  []string{"envoy", "pilot-agent", "node_agent"},
		setgid:    []string{"envoy", "pilot-agent"},
		description: `Istio sidecar (meshx lab stand-in)
 Installs what istio-sidecar.deb 1.0 installs as far as meshx can observe:
 the istio-proxy user, /var/lib/istio, the istio and istio-auth-node-agent
 units and their scripts. The scripts log their configuration and wait;
 there is no Envoy.`,
	}
}

// legacyPackages are the stand-ins of the three packages setupIstioVM.sh
// installed before 0.5: the files of the stand-in istio-sidecar, split the
// way 0.2's debs split them (the agent with the istio unit and its
// configuration, the node agent with its unit, Envoy alone). Each creates
// the istio-proxy user, so that any of them may be installed first.
func legacyPackages(version string) []standIn {
	all := sidecarFiles(version)
	pick := func(paths ...string) map[string]debFile {
		m := map[string]debFile{}
		for _, p := range paths {
			m[p] = all[p]
		}
		return m
	}
	describe := func(what string) string {
		return what + " (meshx lab stand-in)\n Installs, as far as meshx can observe, what Istio 0.2's package of this\n name installs. The scripts log their configuration and wait."
	}
	return []standIn{
		{name: "istio-agent", version: version,
			files: pick("usr/local/bin/pilot-agent", "usr/local/bin/istio-start.sh", "usr/local/bin/istio-iptables.sh",
				"lib/systemd/system/istio.service", "var/lib/istio/envoy/sidecar.env", "var/lib/istio/envoy/envoy_bootstrap_tmpl.json"),
			conffiles: []string{"/var/lib/istio/envoy/sidecar.env", "/var/lib/istio/envoy/envoy_bootstrap_tmpl.json"},
			binaries:  []string{"pilot-agent"}, setgid: []string{"pilot-agent"},
			description: describe("Istio pilot agent")},
		{name: "istio-auth-node-agent", version: version,
			files:       pick("usr/local/bin/node_agent", "lib/systemd/system/istio-auth-node-agent.service"),
			binaries:    []string{"node_agent"},
			description: describe("Istio auth node agent")},
		{name: "istio-proxy", version: version,
			files:    pick("usr/local/bin/envoy"),
			binaries: []string{"envoy"}, setgid: []string{"envoy"},
			description: describe("Istio proxy (Envoy)")},
	}
}

// debFileName is Debian's file name for an architecture-independent
// package.
func debFileName(pkg, version string) string {
	return fmt.Sprintf("%s_%s_all.deb", pkg, version)
}

// sidecarFiles returns the files of the stand-in istio-sidecar package,
// by path, with their modes. They install what istio-sidecar.deb 1.0
// installs as far as meshx can observe (what setupIstioVM.sh relies on); the
// binaries are scripts that log what they were given and wait.
func sidecarFiles(version string) map[string]debFile {
	type f = debFile
	v := func(s string) string { return strings.ReplaceAll(s, "@VERSION@", version) }
	stub := func(name string) f {
		return f{0o755, v("#!/bin/sh\n# " + name + ": meshx lab stand-in shipped by istio-sidecar @VERSION@; does nothing.\n" +
			"case \"$1\" in --version|-v|version) echo \"" + name + " version: meshx-lab/@VERSION@\";; *) echo \"" + name + ": meshx lab stand-in (istio-sidecar @VERSION@)\" >&2;; esac\nexit 0\n")}
	}
	return map[string]f{
		"usr/local/bin/istio-start.sh":    {0o755, v(istioStartSh)},
		"usr/local/bin/node_agent":        {0o755, v(nodeAgentSh)},
		"usr/local/bin/envoy":             stub("envoy"),
		"usr/local/bin/pilot-agent":       stub("pilot-agent"),
		"usr/local/bin/istio-iptables.sh": stub("istio-iptables.sh"),
		"lib/systemd/system/istio.service": {0o644, `[Unit]
Description=istio-sidecar: The Istio sidecar
Documentation=http://istio.io/

[Service]
ExecStart=/usr/local/bin/istio-start.sh
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`},
		"lib/systemd/system/istio-auth-node-agent.service": {0o644, `[Unit]
Description=istio-auth-node-agent: The Istio auth node agent
Documentation=http://istio.io/

[Service]
ExecStart=/usr/local/bin/node_agent
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`},
		"var/lib/istio/envoy/sidecar.env":               {0o644, sidecarEnv},
		"var/lib/istio/envoy/envoy_bootstrap_tmpl.json": {0o644, bootstrapTmpl},
	}
}

const istioStartSh = `#!/bin/bash
# istio-start.sh: meshx lab stand-in shipped by istio-sidecar @VERSION@.
# Like Istio 1.0's script it reads /var/lib/istio/envoy/sidecar.env and then
# cluster.env (so cluster.env wins) and applies the same defaults. Instead of
# running istio-iptables.sh and pilot-agent it writes what it loaded to
# /var/log/istio/istio.log and waits.
set -e
ISTIO_SIDECAR_CONFIG=${ISTIO_SIDECAR_CONFIG:-/var/lib/istio/envoy/sidecar.env}
ISTIO_CLUSTER_CONFIG=${ISTIO_CLUSTER_CONFIG:-/var/lib/istio/envoy/cluster.env}
set -a
if [[ -r ${ISTIO_SIDECAR_CONFIG} ]]; then . "${ISTIO_SIDECAR_CONFIG}"; fi
if [[ -r ${ISTIO_CLUSTER_CONFIG} ]]; then . "${ISTIO_CLUSTER_CONFIG}"; fi
set +a
ISTIO_LOG_DIR=${ISTIO_LOG_DIR:-/var/log/istio}
ISTIO_NAMESPACE=${ISTIO_NAMESPACE:-default}
ISTIO_SERVICE=${ISTIO_SERVICE:-rawvm}
ISTIO_SYSTEM_NAMESPACE=${ISTIO_SYSTEM_NAMESPACE:-istio-system}
ISTIO_PILOT_PORT=${ISTIO_PILOT_PORT:-8080}
ISTIO_SVC_IP=${ISTIO_SVC_IP:-$(hostname --ip-address)}
POD_NAME=${POD_NAME:-$(hostname -s)}
mkdir -p "${ISTIO_LOG_DIR}"
{
  echo "istio-start.sh: istio-sidecar @VERSION@ (meshx lab stand-in) started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for f in "${ISTIO_SIDECAR_CONFIG}" "${ISTIO_CLUSTER_CONFIG}"; do
    if [[ -r $f ]]; then echo "loaded $f"; else echo "missing $f"; fi
  done
  for v in ISTIO_SERVICE_CIDR ISTIO_SYSTEM_NAMESPACE ISTIO_CP_AUTH CONTROL_PLANE_AUTH_POLICY ISTIO_PILOT_PORT \
           ISTIO_NAMESPACE ISTIO_SERVICE ISTIO_SVC_IP ISTIO_INBOUND_PORTS ISTIO_INBOUND_INTERCEPTION_MODE POD_NAME; do
    echo "$v=${!v}"
  done
  for f in /etc/certs/root-cert.pem /etc/certs/cert-chain.pem /etc/certs/key.pem; do
    if [[ -r $f ]]; then echo "cert present $f"; else echo "cert missing $f"; fi
  done
  echo "would run: pilot-agent proxy --serviceCluster ${ISTIO_SERVICE} --discoveryAddress istio-pilot.${ISTIO_SYSTEM_NAMESPACE}:${ISTIO_PILOT_PORT}${ISTIO_CP_AUTH:+ --controlPlaneAuthPolicy ${ISTIO_CP_AUTH}}"
} >> "${ISTIO_LOG_DIR}/istio.log"
exec sleep infinity
`

const nodeAgentSh = `#!/bin/sh
# node_agent: meshx lab stand-in shipped by istio-sidecar @VERSION@. Logs the
# certificates it finds (as Istio 1.0's node agent reads them) and waits.
mkdir -p /var/log/istio
{
  echo "node_agent: istio-sidecar @VERSION@ (meshx lab stand-in) started $(date -u +%Y-%m-%dT%H:%M:%SZ) args: $*"
  for f in /etc/certs/root-cert.pem /etc/certs/cert-chain.pem /etc/certs/key.pem; do
    if [ -r "$f" ]; then echo "cert present $f"; else echo "cert missing $f"; fi
  done
} >> /var/log/istio/node_agent.log
while :; do sleep 3600; done
`

const sidecarEnv = `# Environment variables used to configure istio startup

# Comma separated list of CIDRs used for services. If set, iptables will be run to allow istio
# sidecar to intercept outbound calls to configured addresses. If not set, outbound istio sidecar
# will not be used via iptables.
# ISTIO_SERVICE_CIDR=

# Name of the service exposed by the machine.
# ISTIO_SERVICE=myservice

# Comma separated list of local ports that will use Istio sidecar for inbound services.
# If set, iptables rules will be configured to intercept inbound traffic and redirect to sidecar.
# If not set, no rules will be enabled
# ISTIO_INBOUND_PORTS=

# List of ports to exclude from inbound interception, if ISTIO_INBOUND_PORTS is set to *
# Port 22 is automatically excluded
# ISTIO_INBOUND_EXCLUDE_PORTS=

# Namespace of the cluster.
# ISTIO_NAMESPACE=default

# Specify the IP address used in endpoints. If not set, 'hostname --ip-address' will be used.
# Needed if the host has multiple IP.
# ISTIO_SVC_IP=

# If istio-pilot is configured with mTLS authentication (--controlPlaneAuthPolicy MUTUAL_TLS ) you must
# also configure the mTLS port:
# ISTIO_PILOT_PORT=15005
# ISTIO_CP_AUTH=MUTUAL_TLS

# Fine tuning - useful if installing/building binaries instead of using the .deb file, or running
# multiple instances.

# Port used by Envoy. Defaults to 15001, used in the autogenerated config
# ENVOY_PORT=15001

# User running Envoy. For testing you can use a regular user ID - however running iptables requires
# root or netadmin capability. The debian file creates user istio.
# ENVOY_USER=istio-proxy

# Uncomment to enable debugging
# ISTIO_AGENT_FLAGS="--proxyLogLevel debug"

# Directory for stdout redirection. The redirection is required because envoy attempts to open
# /dev/stdout - must be a real file. Will be used for access logs. Additional config for logsaver
# needs to be made, envoy reopens the file on SIGUSR1
# ISTIO_LOG_DIR=/var/log/istio

# Installation directory for istio binaries, customize in case you're using a binary.
# This is likely to change - current path matches the docker layout in 0.1
# ISTIO_BIN_BASE=/usr/local/bin

# Location of istio configs.
# ISTIO_CFG=/var/lib/istio

# Interception mode: REDIRECT or TPROXY.
# ISTIO_INBOUND_INTERCEPTION_MODE=REDIRECT
# ISTIO_INBOUND_TPROXY_MARK=1337
# ISTIO_INBOUND_TPROXY_ROUTE_TABLE=133
`

const bootstrapTmpl = `{
  "node": {
    "id": "{{ .nodeID }}",
    "cluster": "{{ .cluster }}"
  },
  "admin": {
    "access_log_path": "/dev/null",
    "address": {"socket_address": {"address": "127.0.0.1", "port_value": {{ .config.ProxyAdminPort }}}}
  },
  "dynamic_resources": {
    "lds_config": {"ads": {}},
    "cds_config": {"ads": {}},
    "ads_config": {"api_type": "GRPC", "grpc_services": [{"envoy_grpc": {"cluster_name": "xds-grpc"}}]}
  }
}
`

const postinstHead = `#!/bin/sh
# @PACKAGE@ postinst (meshx lab stand-in of Istio 1.0's tools/deb/postinst.sh)
set -e
umask 022
if ! getent passwd istio-proxy >/dev/null; then
    if command -v useradd >/dev/null; then
        getent group istio-proxy >/dev/null || groupadd --system istio-proxy
        useradd --system --gid istio-proxy --home-dir /var/lib/istio istio-proxy
    else
        addgroup --system istio-proxy
        adduser --system --group --home /var/lib/istio istio-proxy
    fi
fi
if [ ! -e /etc/istio ]; then
    ln -s /var/lib/istio /etc/istio
fi
mkdir -p /var/lib/istio/envoy /var/lib/istio/proxy /var/lib/istio/config /var/log/istio
touch /var/lib/istio/config/mesh
chown istio-proxy:istio-proxy /var/lib/istio/envoy /var/lib/istio/config /var/log/istio /var/lib/istio/config/mesh /var/lib/istio/proxy
`

// postinst returns the package's postinst: the istio-proxy user and
// directories, then modes on its own binaries.
func (p standIn) postinst() string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(postinstHead, "@PACKAGE@", p.name))
	bins := func(names []string) string {
		paths := make([]string, len(names))
		for i, n := range names {
			paths[i] = "/usr/local/bin/" + n
		}
		return strings.Join(paths, " ")
	}
	if len(p.binaries) > 0 {
		b.WriteString("chmod o+rx " + bins(p.binaries) + "\n")
	}
	if len(p.setgid) > 0 {
		b.WriteString("chmod 2755 " + bins(p.setgid) + "\n")
	}
	return b.String()
}

// buildDebs builds every version in DebVersions into dir (once: existing
// packages are reused) and returns them with their SHA-256. urlBase is the
// HTTP address serving dir.
func buildDebs(ctx context.Context, dir, urlBase string) ([]Deb, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vmlab: %w", err)
	}
	var debs []Deb
	for _, ver := range DebVersions {
		d, err := buildDeb(ctx, sidecarPackage(ver), dir, urlBase)
		if err != nil {
			return nil, err
		}
		debs = append(debs, d)
	}
	return debs, nil
}

// buildLegacyDebs builds the stand-ins of Istio 0.2–0.4's three packages
// into dir, as buildDebs does, in setupIstioVM.sh's install order.
func buildLegacyDebs(ctx context.Context, dir, urlBase string) ([]Deb, error) {
	var debs []Deb
	for _, p := range legacyPackages(LegacyDebVersion) {
		d, err := buildDeb(ctx, p, dir, urlBase)
		if err != nil {
			return nil, err
		}
		debs = append(debs, d)
	}
	return debs, nil
}

// buildDeb builds p into dir unless it is there already, and returns it
// with its SHA-256.
func buildDeb(ctx context.Context, p standIn, dir, urlBase string) (Deb, error) {
	out := filepath.Join(dir, debFileName(p.name, p.version))
	if _, err := os.Stat(out); err != nil {
		if err := p.deb().Build(ctx, out); err != nil {
			return Deb{}, err
		}
	}
	sum, err := fileSHA256(out)
	if err != nil {
		return Deb{}, fmt.Errorf("vmlab: %w", err)
	}
	return Deb{Package: p.name, Version: p.version, Path: out, SHA256: sum, URL: urlBase + "/" + filepath.Base(out)}, nil
}

// deb is the package p describes: its files, its postinst, and the
// dependencies of istio-sidecar.deb 1.0.
func (p standIn) deb() DebPackage {
	files := make(map[string]DebFile, len(p.files)+1)
	for rel, f := range p.files {
		files[rel] = DebFile{Mode: f.mode, Content: f.content}
	}
	files["DEBIAN/postinst"] = DebFile{Mode: 0o755, Content: p.postinst()}
	return DebPackage{Name: p.name, Version: p.version, Arch: "all", Depends: "iproute2, iptables",
		Description: p.description, Files: files, Conffiles: p.conffiles}
}

// DebPackage is a Debian package the lab builds with dpkg-deb: the
// stand-in istio-sidecar and Istio 0.2's three packages here, the modern
// istio-sidecar of real binaries in package lab.
type DebPackage struct {
	Name, Version string
	// Arch is "all" for packages of scripts, "amd64" for real binaries.
	Arch    string
	Depends string
	// Description is the control field: a synopsis line, then lines
	// indented by one space.
	Description string
	// Files are the package's files by path below its root
	// ("usr/local/bin/envoy"), and its maintainer scripts
	// ("DEBIAN/postinst").
	Files     map[string]DebFile
	Conffiles []string
}

// DebFile is one file of a DebPackage: Content, or a copy of the file
// Source (a binary too large to hold in memory).
type DebFile struct {
	Mode    os.FileMode
	Content string
	Source  string
}

// Build writes the package to out, through a temporary file beside it, so
// that out is either complete or absent.
func (p DebPackage) Build(ctx context.Context, out string) error {
	tree, err := os.MkdirTemp(filepath.Dir(out), ".build-")
	if err != nil {
		return fmt.Errorf("vmlab: %w", err)
	}
	defer os.RemoveAll(tree)
	var size int64
	for rel, f := range p.Files {
		n, err := f.write(filepath.Join(tree, rel))
		if err != nil {
			return fmt.Errorf("vmlab: build %s: %w", p.Name, err)
		}
		size += n
	}
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: meshx lab <lab@meshx.invalid>\nInstalled-Size: %d\n"+
		"Depends: %s\nSection: net\nPriority: optional\nHomepage: https://istio.io/\nDescription: %s\n",
		p.Name, p.Version, p.Arch, (size+1023)/1024, p.Depends, p.Description)
	meta := map[string]string{"control": control}
	if len(p.Conffiles) > 0 {
		meta["conffiles"] = strings.Join(p.Conffiles, "\n") + "\n"
	}
	for name, content := range meta {
		if _, err := (DebFile{Mode: 0o644, Content: content}).write(filepath.Join(tree, "DEBIAN", name)); err != nil {
			return fmt.Errorf("vmlab: build %s: %w", p.Name, err)
		}
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree, tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("vmlab: dpkg-deb --build %s: %w: %s", filepath.Base(out), err, strings.TrimSpace(stderr.String()))
	}
	return os.Rename(tmp, out)
}

// write writes f at path, making its directories, and returns its size.
func (f DebFile) write(path string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	if f.Source == "" {
		if err := os.WriteFile(path, []byte(f.Content), f.Mode); err != nil {
			return 0, err
		}
		return int64(len(f.Content)), os.Chmod(path, f.Mode)
	}
	in, err := os.Open(f.Source)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.Mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return n, os.Chmod(path, f.Mode)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
