package lab

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/meshx-dev/meshx/lab/internal/proc"
)

// writeExamplesVars writes <dir>/examples.vars: the HCL variables the
// examples read (control_kubeconfig, remote1_kubeconfig, vm_address,
// ssh_private_key, known_hosts, sidecar_package_url,
// sidecar_package_sha256), one `name = "value"` line each. Only variables
// the instance has values for are written: every cluster's
// <name>_kubeconfig, and the VM ones when it has VMs.
func (l *Lab) writeExamplesVars() error {
	var b strings.Builder
	b.WriteString("# Written by meshx-lab up for lab instance " + l.Name + "; use with -var-file.\n")
	line := func(name, value string) { fmt.Fprintf(&b, "%s = %s\n", name, hclString(value)) }
	for _, c := range l.Clusters {
		line(c.Name+"_kubeconfig", c.Kubeconfig)
	}
	if len(l.VMs) > 0 {
		line("vm_address", l.VMs[0].Address)
		line("ssh_private_key", l.SSHPrivateKey)
		line("known_hosts", l.KnownHosts)
		if l.SidecarURL != "" {
			line("sidecar_package_url", l.SidecarURL)
			line("sidecar_package_sha256", l.SidecarSHA256)
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
