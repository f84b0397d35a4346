package verify

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers/kube"
	"github.com/meshx-dev/meshx/providers/vm"
)

// readScript prints, for each "u UNIT" argument pair, "U UNIT ENABLED
// ACTIVE" (systemctl is-enabled and is-active, "none" when silent); for
// each "f PATH" pair either "F SIZE PATH" followed by the file's SIZE
// bytes, "B PATH" for a file over 64 KiB, or "N PATH" when it is not a
// readable regular file; and for each "j PATH" pair (a JWT) "J PATH EXP
// IAT", its exp and iat claims alone ("none" when there is none): the
// token itself goes only through pipes on the VM. It only reads.
const readScript = `while [ $# -gt 1 ]; do
	case $1 in
	u)
		e=$(systemctl is-enabled "$2" 2>/dev/null </dev/null | head -n 1) || true
		a=$(systemctl is-active "$2" 2>/dev/null </dev/null | head -n 1) || true
		printf 'U %s %s %s\n' "$2" "${e:-none}" "${a:-none}" ;;
	f)
		if [ -f "$2" ] && [ -r "$2" ]; then
			n=$(wc -c <"$2" | tr -d ' ')
			if [ "$n" -gt 65536 ]; then
				printf 'B %s\n' "$2"
			else
				printf 'F %s %s\n' "$n" "$2"
				head -c "$n" "$2"
			fi
		else
			printf 'N %s\n' "$2"
		fi ;;
	j)
		c=
		if [ -r "$2" ]; then
			p=$(cut -d. -f2 <"$2" | tr '_-' '/+')
			case $((${#p} % 4)) in 2) p="$p==" ;; 3) p="$p=" ;; esac
			c=$(printf '%s' "$p" | base64 -d 2>/dev/null | tr ',{}' '\n\n\n')
		fi
		e=$(printf '%s\n' "$c" | sed -n 's/^ *"exp" *: *\([0-9][0-9]*\).*/\1/p' | head -n 1)
		i=$(printf '%s\n' "$c" | sed -n 's/^ *"iat" *: *\([0-9][0-9]*\).*/\1/p' | head -n 1)
		printf 'J %s %s %s\n' "$2" "${e:-none}" "${i:-none}" ;;
	esac
	shift 2
done
`

// probeScript takes a timeout in seconds, then "d NAME" and "t HOST PORT"
// arguments, and runs every probe at once: "D NAME ADDR…" lists the IPv4
// addresses the VM's resolver (getent, so nsswitch and resolv.conf) gives
// NAME, none when it resolves nothing; "T HOST PORT ok" or "T HOST PORT
// REASON" says whether a TCP connection to HOST:PORT opened within the
// timeout (perl, which Debian always has; the connection is closed at
// once, nothing is sent). "as USER" makes the following connections as
// that user, as the sidecar's agent makes them: a sidecar's iptables
// capture every other user's traffic.
const probeScript = `to=$1 as=
shift
while [ $# -gt 1 ]; do
	case $1 in
	d)
		( r=$(getent ahostsv4 "$2" 2>/dev/null | while read -r a rest; do printf ' %s' "$a"; done); printf 'D %s%s\n' "$2" "$r" ) &
		shift 2 ;;
	t)
		( if m=$(perl -MIO::Socket::INET -e '
			if ($ARGV[3] ne "") { my @pw = getpwnam($ARGV[3]) or die "no user $ARGV[3]\n"; $) = "$pw[3] $pw[3]"; $> = $pw[2]; }
			my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Proto => "tcp", Timeout => $ARGV[2]);
			if ($s) { close $s; exit 0 }
			my $e = $@ || "$!"; $e =~ s/^IO::Socket::INET: (connect: )?//; $e =~ s/\n.*//s; print $e; exit 1;
		' "$2" "$3" "$to" "$as" 2>&1); then printf 'T %s %s ok\n' "$2" "$3"; else printf 'T %s %s %s\n' "$2" "$3" "${m:-failed}"; fi ) &
		shift 3 ;;
	as)
		as=$2
		shift 2 ;;
	*) shift ;;
	esac
done
wait
`

// vmRead is what readScript found.
type vmRead struct {
	units  map[string][2]string // enabled, active
	files  map[string][]byte    // nil: missing or unreadable
	big    map[string]bool
	tokens map[string]tokenClaims
}

func parseRead(out []byte) (vmRead, error) {
	r := vmRead{units: map[string][2]string{}, files: map[string][]byte{}, big: map[string]bool{}, tokens: map[string]tokenClaims{}}
	br := bufio.NewReader(bytes.NewReader(out))
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			return r, nil
		}
		f := strings.Fields(strings.TrimSuffix(line, "\n"))
		switch {
		case len(f) == 4 && f[0] == "U":
			r.units[f[1]] = [2]string{f[2], f[3]}
		case len(f) == 2 && f[0] == "N":
			r.files[f[1]] = nil
		case len(f) == 2 && f[0] == "B":
			r.big[f[1]] = true
		case len(f) == 4 && f[0] == "J":
			r.tokens[f[1]] = tokenClaims{exp: unixTime(f[2]), iat: unixTime(f[3])}
		case len(f) == 3 && f[0] == "F":
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 || n > 65536 {
				return r, fmt.Errorf("unexpected size in %q", line)
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(br, b); err != nil {
				return r, fmt.Errorf("%s: short read", f[2])
			}
			r.files[f[2]] = b
		default:
			return r, fmt.Errorf("unexpected output %q", strings.TrimSpace(line))
		}
	}
}

// vmProbe is what probeScript found.
type vmProbe struct {
	resolved map[string][]string // name to sorted, unique addresses
	tcp      map[string]string   // "host:port" to "ok" or the reason
}

func parseProbe(out []byte) vmProbe {
	p := vmProbe{resolved: map[string][]string{}, tcp: map[string]string{}}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "D":
			addrs := slices.Clone(f[2:])
			slices.Sort(addrs)
			p.resolved[f[1]] = slices.Compact(addrs)
		case len(f) >= 4 && f[0] == "T":
			p.tcp[f[1]+":"+f[2]] = strings.Join(f[3:], " ")
		}
	}
	return p
}

// tcpTarget is one address:port a VM must reach.
type tcpTarget struct {
	ilb  istio.ILB
	host string
	port int
}

func (t tcpTarget) key() string { return t.host + ":" + strconv.Itoa(t.port) }

// vmChecks checks one VM over its SSH connection: two commands, one that
// reads (unit states and the public files), one that probes (names and
// TCP connections), so the probes can use what the VM's own file says.
func (v *verifier) vmChecks(ctx context.Context, m *config.VM) []Check {
	subject := "vm." + m.Name
	p, err := v.vmProvider(m.Name)
	if err != nil {
		return []Check{{Subject: subject, Name: "ssh", Status: Fail, Observed: err.Error(), Fix: "This is a bug in meshx: please report it."}}
	}
	units, certFiles := v.vmInstances(m.Name)
	if v.profile.Modern != nil {
		return v.modernChecks(ctx, p, m, units)
	}
	kubedns := plans.Address{Block: "vm", Name: m.Name, Type: vm.TypeFile, Key: istio.KubednsPath}
	_, hasKubedns := v.byAddr[kubedns]

	args := []string{"sh", "-c", readScript, "meshx-verify-read"}
	for _, u := range units {
		args = append(args, "u", u)
	}
	if hasKubedns {
		args = append(args, "f", istio.KubednsPath)
	}
	for _, f := range certFiles {
		args = append(args, "f", f)
	}
	read, failed := v.readVM(ctx, p, subject, args)
	if failed != nil {
		return failed
	}

	var checks []Check
	if hasKubedns {
		checks = append(checks, v.dnsAndTCP(ctx, p, subject, kubedns, read)...)
	}
	for _, u := range units {
		checks = append(checks, unitCheck(subject, u, read.units[u]))
	}
	judge := v.certJudge(m)
	for _, f := range certFiles {
		checks = append(checks, certFileCheck(subject, f, read, judge, strings.HasSuffix(f, "/root-cert.pem"),
			"Run meshx apply: it copies the certificate from the "+judge.secret+" secret."))
	}
	return checks
}

// readVM runs the read script with args; on failure it returns the one
// check saying why.
func (v *verifier) readVM(ctx context.Context, p *vm.Provider, subject string, args []string) (vmRead, []Check) {
	out, err := vm.Exec(ctx, p, args...)
	if err != nil {
		return vmRead{}, []Check{{Subject: subject, Name: "ssh", Status: Fail, Observed: firstLine(err),
			Fix: "meshx cannot run a command on the VM: check that it is up, that SSH reaches it, and its ssh block."}}
	}
	read, err := parseRead([]byte(out))
	if err != nil {
		return vmRead{}, []Check{{Subject: subject, Name: "ssh", Status: Fail, Observed: "unexpected answer: " + err.Error(),
			Fix: "The VM answered the read-only check script in a way meshx does not understand: check that its sh, wc and head are POSIX ones."}}
	}
	return read, nil
}

// vmInstances returns, from the expansion, the units meshx manages on VM
// name and the certificate files it copies there that are not secret.
func (v *verifier) vmInstances(name string) (units, certs []string) {
	secret := map[string]bool{}
	for _, cf := range istio.CertFiles(false) {
		secret[istio.CertDir+"/"+cf.Name] = cf.Sensitive
	}
	for _, r := range v.exp.Resources {
		if r.Addr.Block != "vm" || r.Addr.Name != name {
			continue
		}
		switch {
		case r.Kind == vm.KindUnit:
			units = append(units, r.Addr.Key)
		case r.Kind == vm.KindFile && strings.HasPrefix(r.Addr.Key, istio.CertDir+"/"):
			if s, known := secret[r.Addr.Key]; known && !s {
				certs = append(certs, r.Addr.Key)
			}
		}
	}
	return units, certs
}

// certJudge finds the cluster root VM m's certificates must chain to: the
// root-cert.pem of the istio.<sa> secret meshx copies them from.
func (v *verifier) certJudge(m *config.VM) certJudge {
	cluster := m.Cluster
	if cluster == "" {
		cluster = v.controlName()
	}
	sec := kube.IstioSecret(cluster, m.Namespace, m.ServiceAccount)
	j := certJudge{secret: v.profile.SecretPrefix + m.ServiceAccount, now: v.opts.Now(), threshold: v.opts.ExpiryThreshold}
	j.secret = m.Namespace + "/" + j.secret
	root, _ := v.outputs[sec.Addr]["root-cert.pem"].(string)
	switch err := v.unreadable(sec.Addr); {
	case err != nil:
		j.why = "cluster." + cluster + ": " + firstLine(err)
	case root == "":
		j.why = "the " + j.secret + " secret does not exist or has no root-cert.pem"
	default:
		j.root = []byte(root)
	}
	return j
}

// unitCheck judges one unit's is-enabled and is-active answers.
func unitCheck(subject, unit string, st [2]string) Check {
	ck := Check{Subject: subject, Name: "unit " + unit, Observed: st[0] + ", " + st[1]}
	if st[0] == "" {
		ck.Observed = "not found"
	}
	enabled := st[0] == "enabled" || st[0] == "static" || st[0] == "alias" || st[0] == "indirect" || st[0] == "generated"
	if enabled && st[1] == "active" {
		ck.Status = Pass
		return ck
	}
	ck.Status, ck.Expected = Fail, "enabled, active"
	ck.Fix = fmt.Sprintf("Run meshx apply (it enables and starts %s), then look at why it stopped: systemctl status %s on the VM.", unit, unit)
	return ck
}

// dnsAndTCP resolves, on the VM, every name its kubedns file promises and
// every name meshx's file would, and connects to each control-plane
// address of the VM's file on each TCP port of its load balancer.
func (v *verifier) dnsAndTCP(ctx context.Context, p *vm.Provider, subject string, kubedns plans.Address, read vmRead) []Check {
	onVM := parseKubedns(string(read.files[istio.KubednsPath]))
	want, whyUnknown := v.expectedKubedns(kubedns)

	// Names: meshx's, then any other the VM's file promises.
	names := slices.Clone(want.names)
	for _, n := range onVM.names {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	// The forwarded domain: the control cluster's kubernetes Service.
	svcName, svcIP, svcWhy := "", "", ""
	if _, ok := want.servers["svc.cluster.local"]; ok || onVM.servers["svc.cluster.local"] != "" {
		svcName = "kubernetes.default.svc.cluster.local"
		svcIP, svcWhy = v.kubernetesClusterIP(ctx)
	}

	// TCP: each address the VM's file gives a control-plane host, on the
	// TCP ports of that host's load balancer; meshx's addresses when the
	// file is missing.
	var targets []tcpTarget
	seen := map[string]bool{}
	src := onVM
	if read.files[istio.KubednsPath] == nil {
		src = want
	}
	for _, h := range v.profile.KubednsHosts {
		addr := src.address[h.Host]
		l, ok := v.profile.ILB(h.ILBKey)
		if addr == "" || !ok || !validName(addr) {
			continue
		}
		for _, pt := range l.Ports {
			t := tcpTarget{ilb: l, host: addr, port: pt.Port}
			if pt.Protocol != "TCP" || seen[t.key()] {
				continue
			}
			seen[t.key()] = true
			targets = append(targets, t)
		}
	}

	args := []string{"sh", "-c", probeScript, "meshx-verify-probe", strconv.Itoa(int(v.opts.DialTimeout.Seconds() + 0.5))}
	for _, n := range names {
		args = append(args, "d", n)
	}
	if svcName != "" {
		args = append(args, "d", svcName)
	}
	for _, t := range targets {
		args = append(args, "t", t.host, strconv.Itoa(t.port))
	}
	var checks []Check
	if read.files[istio.KubednsPath] == nil {
		checks = append(checks, Check{Subject: subject, Name: "file " + istio.KubednsPath, Status: Fail, Observed: "missing",
			Fix: "Run meshx apply: it writes the file and restarts dnsmasq."})
	}
	out, err := vm.Exec(ctx, p, args...)
	if err != nil {
		return append(checks, Check{Subject: subject, Name: "dns and tcp", Status: Fail, Observed: firstLine(err),
			Fix: "The read-only probe (getent and perl) failed on the VM: check that it has Debian's libc-bin and perl-base."})
	}
	probe := parseProbe([]byte(out))

	for _, n := range names {
		ck := Check{Subject: subject, Name: "dns " + n, Observed: resolvedText(probe.resolved[n])}
		exp, ok := want.address[n]
		switch got := probe.resolved[n]; {
		case whyUnknown != "":
			ck.Status, ck.Expected = Fail, "unknown"
			ck.Fix = "meshx cannot tell which address to expect: " + whyUnknown
		case !ok:
			ck.Status, ck.Expected = Fail, "no such name in meshx's file"
			ck.Fix = "The VM's " + istio.KubednsPath + " promises a name meshx does not write: run meshx apply to rewrite the file."
		case len(got) == 1 && got[0] == exp:
			ck.Status = Pass
		default:
			ck.Status, ck.Expected = Fail, exp
			ck.Fix = dnsFix(n, exp, got, onVM)
		}
		checks = append(checks, ck)
	}
	if svcName != "" {
		ck := Check{Subject: subject, Name: "dns " + svcName, Observed: resolvedText(probe.resolved[svcName])}
		got := probe.resolved[svcName]
		switch {
		case svcWhy != "":
			ck.Status, ck.Expected = Fail, "unknown"
			ck.Fix = "meshx cannot tell which address to expect: " + svcWhy
		case len(got) == 1 && got[0] == svcIP:
			ck.Status = Pass
		default:
			ck.Status, ck.Expected = Fail, svcIP+" (its ClusterIP)"
			ck.Fix = fmt.Sprintf("dnsmasq forwards *.svc.cluster.local to dns-ilb (%s): check that dnsmasq runs, that the dns-ilb load balancer carries UDP 53 to kube-dns, and that the VM's resolv.conf lists 127.0.0.1 first.", onVM.servers["svc.cluster.local"])
		}
		checks = append(checks, ck)
	}
	for _, t := range targets {
		ck := Check{Subject: subject, Name: fmt.Sprintf("tcp %s %s", t.ilb.Name, t.key())}
		res := probe.tcp[t.key()]
		now := v.ilbAddress(t.ilb)
		switch {
		case res == "ok":
			ck.Status, ck.Observed = Pass, "connected"
		default:
			if res == "" {
				res = "no answer from the probe"
			}
			ck.Status, ck.Observed, ck.Expected = Fail, res, "connected"
			if now != "" && now != t.host {
				ck.Fix = fmt.Sprintf("%s is not %s's address any more (it is %s now): run meshx apply to rewrite %s.", t.host, t.ilb.Name, now, istio.KubednsPath)
			} else {
				ck.Fix = fmt.Sprintf("The VM cannot reach %s on %d: check the load balancer's backends (kubectl -n %s get endpoints %s) and any firewall between the VM and it.",
					t.ilb.Name, t.port, t.ilb.Namespace(v.cfg.Meshx.Istio.Namespace), t.ilb.Name)
			}
		}
		checks = append(checks, ck)
	}
	return checks
}

// dnsFix says what to do when name resolved to got instead of want.
func dnsFix(name, want string, got []string, onVM dnsFile) string {
	switch {
	case len(got) == 0:
		return "Nothing answered: check that dnsmasq runs on the VM (systemctl status dnsmasq; meshx apply starts it) and that resolv.conf lists 127.0.0.1 first."
	case onVM.address[name] != "" && onVM.address[name] != want:
		return fmt.Sprintf("The VM's %s holds an address its load balancer no longer has: run meshx apply to rewrite it.", istio.KubednsPath)
	}
	return "Something other than dnsmasq answers: check /etc/hosts and the order of nameservers in the VM's resolv.conf."
}

func resolvedText(addrs []string) string {
	if len(addrs) == 0 {
		return "not resolved"
	}
	return strings.Join(addrs, ", ")
}

// expectedKubedns renders the kubedns file meshx would write now, from the
// load balancers' current addresses; why says why it cannot be known.
func (v *verifier) expectedKubedns(a plans.Address) (f dnsFile, why string) {
	f = dnsFile{address: map[string]string{}, servers: map[string]string{}}
	r := v.byAddr[a]
	if err := v.clusterErr["cluster."+v.controlName()]; err != nil {
		return f, "cluster." + v.controlName() + " could not be read: " + firstLine(err)
	}
	obj, err := r.Render(planner.AppliedOutputs(v.outputs))
	if err != nil {
		return f, firstLine(err)
	}
	content, ok := obj["content"].(string)
	if !ok {
		var missing []string
		for _, l := range v.profile.ILBs {
			if v.ilbAddress(l) == "" {
				missing = append(missing, l.Name)
			}
		}
		return f, fmt.Sprintf("no address yet for %s (see the ilb checks of cluster.%s).", strings.Join(missing, ", "), v.controlName())
	}
	return parseKubedns(content), ""
}

// ilbAddress is the current address of the control cluster's load
// balancer l, or "".
func (v *verifier) ilbAddress(l istio.ILB) string {
	a := plans.Address{Block: "cluster", Name: v.controlName(), Type: "ilb", Key: l.Name}
	s, _ := v.outputs[a]["address"].(string)
	return s
}

// kubernetesClusterIP reads, once, the ClusterIP of the control cluster's
// default/kubernetes Service: what a VM must get for its name through
// dns-ilb.
func (v *verifier) kubernetesClusterIP(ctx context.Context) (ip, why string) {
	v.svcOnce.Do(func() {
		p, err := v.kubeProvider(v.controlName())
		if err == nil {
			s, gerr := p.Client().CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
			if err = gerr; err == nil {
				v.svcIP = s.Spec.ClusterIP
			}
		}
		if err != nil {
			v.svcWhy = "cannot read Service default/kubernetes in cluster." + v.controlName() + ": " + firstLine(err)
		}
	})
	return v.svcIP, v.svcWhy
}
