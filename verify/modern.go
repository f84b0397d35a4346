package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers/kube"
	"github.com/meshx-dev/meshx/providers/vm"
)

// modernChecks checks a VM of the istiod era: istiod's name resolves
// through the VM's /etc/hosts line to what exposes istiod (istiod-ilb or
// the east-west gateway), which accepts the agent's connection on the
// xDS/CA port; the unit runs; the root
// certificate is the one istiod publishes (istio-ca-root-cert); the agent
// holds a valid workload certificate; and the token it proves itself with
// has more than a third of its life left. The token never leaves the VM:
// the read script prints only its exp and iat claims.
func (v *verifier) modernChecks(ctx context.Context, p *vm.Provider, m *config.VM, units []string) []Check {
	subject := "vm." + m.Name
	hostsLine := plans.Address{Block: "vm", Name: m.Name, Type: vm.TypeLine, Key: istio.HostsPath}
	args := []string{"sh", "-c", readScript, "meshx-verify-read"}
	for _, u := range units {
		args = append(args, "u", u)
	}
	args = append(args, "f", istio.HostsPath, "f", istio.RootCertPath, "f", istio.WorkloadCertPath, "j", istio.TokenPath)
	read, failed := v.readVM(ctx, p, subject, args)
	if failed != nil {
		return failed
	}

	var checks []Check
	if _, ok := v.byAddr[hostsLine]; ok {
		checks = append(checks, v.istiodChecks(ctx, p, subject, hostsLine, read)...)
	}
	for _, u := range units {
		checks = append(checks, unitCheck(subject, u, read.units[u]))
	}
	judge := v.modernRoot(m)
	checks = append(checks, certFileCheck(subject, istio.RootCertPath, read, judge, true,
		"Run meshx apply: it copies root-cert.pem from the "+judge.secret+"."))
	workload := judge
	workload.workload = true
	checks = append(checks, certFileCheck(subject, istio.WorkloadCertPath, read, workload, false,
		"The agent holds no workload certificate: it gets one from istiod with its token. Check the token and tcp checks, and journalctl -u istio on the VM."))
	return append(checks, tokenCheck(subject, read.tokens[istio.TokenPath], v.opts.Now()))
}

// modernRoot is the root a modern VM's certificates must chain to: the
// root-cert.pem of istiod's istio-ca-root-cert ConfigMap in the VM's
// namespace, which meshx copies.
func (v *verifier) modernRoot(m *config.VM) certJudge {
	cluster := m.Cluster
	if cluster == "" {
		cluster = v.controlName()
	}
	rc := kube.RootCert(cluster, m.Namespace)
	j := certJudge{secret: "ConfigMap " + m.Namespace + "/" + kube.RootCertConfigMap, now: v.opts.Now(), threshold: v.opts.ExpiryThreshold}
	root, _ := v.outputs[rc.Addr]["root-cert.pem"].(string)
	switch err := v.unreadable(rc.Addr); {
	case err != nil:
		j.why = "cluster." + cluster + ": " + firstLine(err)
	case root == "":
		j.why = "the " + j.secret + " does not exist or has no root-cert.pem (istiod writes it in every namespace)"
	default:
		j.root = []byte(root)
	}
	return j
}

// istiodChecks resolves istiod's name on the VM and connects to the
// address its /etc/hosts line gives on the xDS/CA port, through istiod's
// front as the control cluster exposes it (istiodFront).
func (v *verifier) istiodChecks(ctx context.Context, p *vm.Provider, subject string, hostsLine plans.Address, read vmRead) []Check {
	front := v.istiodFront()
	var in istiodInput
	if err := v.clusterErr["cluster."+v.controlName()]; err != nil {
		in.why = "cluster." + v.controlName() + " could not be read: " + firstLine(err)
	} else if obj, err := v.byAddr[hostsLine].Render(planner.AppliedOutputs(v.outputs)); err != nil {
		in.why = firstLine(err)
	} else if line, ok := obj["line"].(string); !ok {
		in.why = front.what + " has no address yet (see the " + front.check + " check)."
	} else if f := strings.Fields(line); len(f) == 2 {
		in.want, in.name = f[0], f[1]
	}
	if in.name == "" {
		in.name = istio.IstiodHost(v.cfg.Meshx.Istio.Namespace, v.cfg.Meshx.Istio.Revision)
	}
	in.onVM = hostsAddress(string(read.files[istio.HostsPath]), in.name)
	args := []string{"sh", "-c", probeScript, "meshx-verify-probe", strconv.Itoa(int(v.opts.DialTimeout.Seconds() + 0.5)), "d", in.name}
	if target := in.target(); validName(target) {
		args = append(args, "as", istio.ProxyUser, "t", target, strconv.Itoa(istio.IstiodXDSPort))
	}
	out, err := vm.Exec(ctx, p, args...)
	if err != nil {
		return []Check{{Subject: subject, Name: "dns and tcp", Status: Fail, Observed: firstLine(err),
			Fix: "The read-only probe (getent and perl) failed on the VM: check that it has Debian's libc-bin and perl-base."}}
	}
	return front.judge(subject, in, parseProbe([]byte(out)))
}

// istiodInput is what a VM's istiod checks compare: istiod's name and the
// address meshx expects for it now (want: its front's current address),
// the address the VM's /etc/hosts gives it (onVM), and, when meshx cannot
// tell what to expect, why not.
type istiodInput struct {
	name, want, onVM, why string
}

// target is the address the VM connects to: the one its /etc/hosts gives
// istiod's name, as the agent resolves it, or else the expected one.
func (in istiodInput) target() string {
	if in.onVM != "" {
		return in.onVM
	}
	return in.want
}

// judge makes the dns check of istiod's name and the tcp check of its
// front from what the VM's probe found.
func (f istiodFront) judge(subject string, in istiodInput, probe vmProbe) []Check {
	dns := Check{Subject: subject, Name: "dns " + in.name, Observed: resolvedText(probe.resolved[in.name])}
	switch got := probe.resolved[in.name]; {
	case in.why != "":
		dns.Status, dns.Expected, dns.Fix = Fail, "unknown", "meshx cannot tell which address to expect: "+in.why
	case len(got) == 1 && got[0] == in.want:
		dns.Status = Pass
	case in.onVM != "" && in.onVM != in.want:
		dns.Status, dns.Expected = Fail, in.want
		dns.Fix = "The VM's /etc/hosts holds an address " + f.what + " no longer has: run meshx apply to rewrite the line."
	default:
		dns.Status, dns.Expected = Fail, in.want
		dns.Fix = "Run meshx apply: it writes istiod's line in /etc/hosts. If it is there, check the hosts entry of /etc/nsswitch.conf."
	}
	checks := []Check{dns}
	target := in.target()
	if !validName(target) {
		return checks
	}
	key := target + ":" + strconv.Itoa(istio.IstiodXDSPort)
	tcp := Check{Subject: subject, Name: "tcp " + f.label + " " + key, Status: Pass, Observed: "connected"}
	if res := probe.tcp[key]; res != "ok" {
		tcp.Status, tcp.Observed, tcp.Expected = Fail, res, "connected"
		tcp.Fix = fmt.Sprintf("The VM cannot reach istiod at %s through %s: %s", key, f.what, f.backends)
		if in.want != "" && target != in.want {
			tcp.Fix = fmt.Sprintf("%s is no longer the address of %s (it is %s now): run meshx apply to rewrite /etc/hosts.", target, f.what, in.want)
		}
	}
	return append(checks, tcp)
}

// hostsAddress is the address an /etc/hosts text gives name, or "".
func hostsAddress(text, name string) string {
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		for _, n := range f[min(1, len(f)):] {
			if n == name {
				return f[0]
			}
		}
	}
	return ""
}

// certFileCheck judges one certificate file the read script returned.
func certFileCheck(subject, path string, read vmRead, j certJudge, isRoot bool, missingFix string) Check {
	ck := Check{Subject: subject, Name: "cert " + path}
	switch b, ok := read.files[path]; {
	case read.big[path]:
		ck.Status, ck.Observed = Fail, "over 64 KiB: not a certificate"
		ck.Fix = missingFix
	case !ok || b == nil:
		ck.Status, ck.Observed, ck.Fix = Fail, "missing", missingFix
	default:
		j.judge(&ck, b, isRoot)
	}
	return ck
}

// tokenClaims are the exp and iat claims of a JWT on a VM; zero when
// missing.
type tokenClaims struct{ exp, iat time.Time }

// unixTime parses a claim's seconds since the epoch; zero when it is
// "none" or not a number.
func unixTime(s string) time.Time {
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}

// tokenCheck judges the claims of the VM's istio-token. It fails once the
// token is in the last third of its life, when meshx apply re-mints it
// (providers/vm's renewal rule): an apply is due, and without one the
// agent cannot renew its workload certificate after the token expires.
func tokenCheck(subject string, c tokenClaims, now time.Time) Check {
	ck := Check{Subject: subject, Name: "token " + istio.TokenPath}
	if c.exp.IsZero() {
		ck.Status, ck.Observed = Fail, "missing or not a token"
		ck.Fix = "Run meshx apply: it mints the VM's token (a TokenRequest for the VM's service account, audience istio-ca)."
		return ck
	}
	ck.Observed = expiryText(c.exp, now)
	left, life := c.exp.Sub(now), c.exp.Sub(c.iat)
	switch {
	case left <= 0:
		ck.Status, ck.Expected = Fail, "life left"
		ck.Fix = "The token expired, so the agent cannot renew its workload certificate: run meshx apply, which mints a new one (any apply does in its last third of life)."
	case !c.iat.IsZero() && left <= life/3:
		ck.Status, ck.Expected = Fail, "more than a third of its life left"
		ck.Fix = fmt.Sprintf("The token is in the last third of its life, so an apply is due: run meshx apply, which mints a new one. Applying at least every %s keeps it fresh; once it expires the agent cannot renew its workload certificate.", roundHours(life/3))
	default:
		ck.Status = Pass
	}
	return ck
}

// roundHours shows a duration as whole hours, or minutes under two hours.
func roundHours(d time.Duration) string {
	if d < 2*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dh", int(d.Round(time.Hour).Hours()))
}
