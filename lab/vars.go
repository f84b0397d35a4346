package lab

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/meshx-dev/meshx/lab/internal/proc"
)

// writeExamplesVars writes <dir>/examples.vars: the HCL variables the
// examples read (control_kubeconfig, remote1_kubeconfig, vm_address,
// vm_addresses, ssh_private_key, known_hosts, sidecar_package_url,
// sidecar_package_sha256, legacy_sidecar_packages, istio_sidecar_deb: the
// modern istio-sidecar .deb when the lab runs istiod, istiod_debug_url:
// its monitoring port, on loopback as a kubectl port-forward would give
// it), one line each. Only
// variables the instance has values for are written: every cluster's
// <name>_kubeconfig, and the VM ones when it has VMs.
// vm_addresses maps every VM's name to its address, for examples/fleet's
// for_each. legacy_sidecar_packages maps each of Istio 0.2–0.4's three
// package names to {url, sha256}. Maps are on one line each, so that a
// line filter can drop them.
func (l *Lab) writeExamplesVars() error {
	var b strings.Builder
	b.WriteString("# Written by meshx-lab up for lab instance " + l.Name + "; use with -var-file.\n")
	line := func(name, value string) { fmt.Fprintf(&b, "%s = %s\n", name, hclString(value)) }
	for _, c := range l.Clusters {
		line(c.Name+"_kubeconfig", c.Kubeconfig)
	}
	if l.Istio != nil {
		line("istiod_debug_url", "http://"+l.Istio.MonitoringAddress)
	}
	if len(l.VMs) > 0 {
		line("vm_address", l.VMs[0].Address)
		var addrs []string
		for _, v := range l.VMs {
			addrs = append(addrs, fmt.Sprintf("%s = %s", hclString(v.Name), hclString(v.Address)))
		}
		fmt.Fprintf(&b, "vm_addresses = { %s }\n", strings.Join(addrs, ", "))
		line("ssh_private_key", l.SSHPrivateKey)
		line("known_hosts", l.KnownHosts)
		if l.SidecarURL != "" {
			line("sidecar_package_url", l.SidecarURL)
			line("sidecar_package_sha256", l.SidecarSHA256)
		}
		if l.Istio != nil && l.Istio.SidecarDeb != "" {
			line("istio_sidecar_deb", l.Istio.SidecarDeb)
		}
		if len(l.LegacyDebs) > 0 {
			var pkgs []string
			for _, d := range l.LegacyDebs {
				pkgs = append(pkgs, fmt.Sprintf("%s = { url = %s, sha256 = %s }", hclString(d.Package), hclString(d.URL), hclString(d.SHA256)))
			}
			fmt.Fprintf(&b, "legacy_sidecar_packages = { %s }\n", strings.Join(pkgs, ", "))
		}
	}
	l.ExamplesVars = filepath.Join(l.Dir, "examples.vars")
	return proc.WriteFileAtomic(l.ExamplesVars, []byte(b.String()), 0o644)
}

// hclString quotes s as an HCL string literal: backslash and quote
// escaped, and template sequences ${ and %{ doubled so they stay literal.
func hclString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}
