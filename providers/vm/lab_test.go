package vm

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// labVMs is the number of VMs of this package's lab instance;
// MESHX_VMPROV_VMS raises it for the parallel benchmark.
func labVMs() int {
	if n, err := strconv.Atoi(os.Getenv("MESHX_VMPROV_VMS")); err == nil && n > 0 {
		return n
	}
	return 2
}

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "vmprov", VMs: labVMs()}))
}

// labHost is how meshx reaches a lab VM.
func labHost(l *lab.Lab, v lab.VM) Host {
	return Host{
		Name: v.Name, Address: v.Address, Port: v.SSHPort, User: v.User,
		PrivateKeyFile: l.SSHPrivateKey, KnownHostsFile: l.KnownHosts, Timeout: 30 * time.Second,
	}
}

func labProvider(t testing.TB, l *lab.Lab, h Host) *Provider {
	p := New(h)
	t.Cleanup(func() { p.Close() })
	return p
}

// vmShell runs a shell script as root inside a VM through the lab's
// VMExec (nsenter), independent of the provider under test, and returns
// its output.
func vmShell(t testing.TB, l *lab.Lab, v lab.VM, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _, err := l.VMExec(ctx, v.Name, "sh", "-c", script)
	if err != nil {
		t.Fatalf("in %s: %v", v.Name, err)
	}
	return out
}

// labContext guards one lab test against a hang, far beyond what any load
// makes its steps take: it is not a deadline for the test's work.
func labContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mainPID(t testing.TB, l *lab.Lab, v lab.VM, unit string) string {
	t.Helper()
	return strings.TrimSpace(vmShell(t, l, v, "systemctl show -p MainPID --value "+quote(unit)))
}

const (
	labClusterEnv = "/var/lib/istio/envoy/cluster.env"
	labSidecarEnv = "/var/lib/istio/envoy/sidecar.env"
	labKubedns    = "/etc/dnsmasq.d/kubedns"
	labDhclient   = "/etc/dhcp/dhclient.conf"
	labDhcpLine   = "prepend domain-name-servers 127.0.0.1;"
)

// vmResources is what the planner declares for one VM: 2 packages, 5
// files, sidecar.env, the dhclient line and 3 units.
func vmResources(vmName string, sidecar PackageSource, clusterEnv, kubedns, key string) []providers.Resource {
	pkg := Package(vmName, "istio-sidecar", sidecar)
	dnsmasq := Package(vmName, "dnsmasq", PackageSource{Apt: "dnsmasq"})
	withPkg := []plans.Address{pkg.Addr}
	ce := File(vmName, FileOptions{
		Path:      labClusterEnv,
		Content:   text(clusterEnv),
		Mode:      0o644,
		Owner:     "istio-proxy",
		Group:     "istio-proxy",
		DependsOn: withPkg,
	})
	kd := File(vmName, FileOptions{
		Path:      labKubedns,
		Content:   text(kubedns),
		Mode:      0o644,
		Owner:     "root",
		Group:     "root",
		DependsOn: []plans.Address{dnsmasq.Addr},
	})
	root := File(vmName, FileOptions{
		Path:      "/etc/certs/root-cert.pem",
		Content:   text("ROOT CERT\n"),
		Mode:      0o644,
		Owner:     "istio-proxy",
		Group:     "istio-proxy",
		DependsOn: withPkg,
	})
	chain := File(vmName, FileOptions{
		Path:      "/etc/certs/cert-chain.pem",
		Content:   text("CERT CHAIN\n"),
		Mode:      0o644,
		Owner:     "istio-proxy",
		Group:     "istio-proxy",
		DependsOn: withPkg,
	})
	kp := File(vmName, FileOptions{Path: "/etc/certs/key.pem", Content: func(providers.Outputs) (any, error) {
		return plans.NewSensitive([]byte(key)), nil
	}, Mode: 0o600, Owner: "istio-proxy", Group: "istio-proxy", Sensitive: true, DependsOn: withPkg})
	se := EnvFile(vmName, EnvFileOptions{Path: labSidecarEnv, Keys: func(providers.Outputs) (map[string]any, error) {
		return map[string]any{"ISTIO_SERVICE": "details", "ISTIO_INBOUND_PORTS": "9080", "ISTIO_NAMESPACE": "bookinfo"}, nil
	}, Mode: 0o644, Owner: "istio-proxy", Group: "istio-proxy", DependsOn: withPkg})
	dh := Line(vmName, labDhclient, labDhcpLine)
	return []providers.Resource{
		dnsmasq, pkg, ce, kd, root, chain, kp, se, dh,
		Unit(vmName, "dnsmasq", []plans.Address{dnsmasq.Addr, kd.Addr, dh.Addr}),
		Unit(vmName, "istio-auth-node-agent", []plans.Address{pkg.Addr, root.Addr, chain.Addr, kp.Addr}),
		Unit(vmName, "istio", []plans.Address{pkg.Addr, ce.Addr, se.Addr, root.Addr, chain.Addr, kp.Addr}),
	}
}

func kubednsText(ip string) string {
	return fmt.Sprintf("server=/svc.cluster.local/%s\naddress=/istio-pilot/%s\naddress=/istio-pilot.istio-system/%s\n", ip, ip, ip)
}

func TestLabVMLifecycle(t *testing.T) {
	l := lab.Get(t)
	v := l.VMs[0]
	if l.SidecarURL == "" || l.SidecarSHA256 == "" {
		t.Fatal("the lab serves no sidecar .deb")
	}
	p := labProvider(t, l, labHost(l, v))
	ctx := labContext(t)
	const env = "bookinfo"
	src := PackageSource{URL: l.SidecarURL, SHA256: l.SidecarSHA256}
	const key = "-----BEGIN EC PRIVATE KEY-----\nLAB-SECRET\n-----END EC PRIVATE KEY-----\n"
	ce1 := "ISTIO_SERVICE_CIDR=10.100.0.0/20\nISTIO_SYSTEM_NAMESPACE=istio-system\nISTIO_CP_AUTH=MUTUAL_TLS\n"
	rs := vmResources(v.Name, src, ce1, kubednsText(l.BridgeIP), key)
	hadDnsmasq := strings.Contains(vmShell(t, l, v, "dpkg-query -W -f '${Status}' dnsmasq 2>/dev/null || true"), " installed")
	dnsmasqEnabled := vmShell(t, l, v, "systemctl is-enabled dnsmasq 2>/dev/null || true")

	// Hand-made sidecar.env lines must survive; the package ships the file
	// as a conffile, so add them after the first apply.
	first := converge(t, ctx, p, env, rs)
	for _, a := range []plans.Address{rs[1].Addr, rs[2].Addr, rs[6].Addr, rs[9].Addr, rs[10].Addr, rs[11].Addr} {
		if first[a] != plans.Create && first[a] != plans.Update {
			t.Errorf("first apply: %s is %s, want a create", a, first[a])
		}
	}

	t.Run("installed from the URL, files exact", func(t *testing.T) {
		got := vmShell(t, l, v, "dpkg-query -W -f '${Status}' istio-sidecar; echo; "+
			"stat -c '%n %a %U %G' "+shellJoin([]string{labClusterEnv, labKubedns, "/etc/certs/root-cert.pem", "/etc/certs/cert-chain.pem", "/etc/certs/key.pem"})+"; "+
			"cat "+labClusterEnv+"; grep -c -F -x "+quote(labDhcpLine)+" "+labDhclient)
		want := "install ok installed\n" +
			labClusterEnv + " 644 istio-proxy istio-proxy\n" +
			labKubedns + " 644 root root\n" +
			"/etc/certs/root-cert.pem 644 istio-proxy istio-proxy\n" +
			"/etc/certs/cert-chain.pem 644 istio-proxy istio-proxy\n" +
			"/etc/certs/key.pem 600 istio-proxy istio-proxy\n" +
			ce1 + "1\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("VM state (-want +got):\n%s", diff)
		}
		if key != vmShell(t, l, v, "cat /etc/certs/key.pem") {
			t.Fatal("key.pem content differs")
		}
	})

	t.Run("units enabled and active", func(t *testing.T) {
		for _, u := range []string{"dnsmasq", "istio-auth-node-agent", "istio"} {
			got := vmShell(t, l, v, "systemctl is-enabled "+u+"; systemctl is-active "+u+" || true")
			if got != "enabled\nactive\n" {
				t.Errorf("%s: %q, want enabled and active", u, got)
			}
		}
	})

	pids := map[string]string{}
	for _, u := range []string{"dnsmasq", "istio-auth-node-agent", "istio"} {
		pids[u] = mainPID(t, l, v, u)
	}

	t.Run("observe is one round trip and in sync", func(t *testing.T) {
		before := p.Stats()
		resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs})
		if resp.Err != nil {
			t.Fatal(resp.Err)
		}
		after := p.Stats()
		if after.Sessions-before.Sessions != 1 || after.Connects != 1 {
			t.Fatalf("observe: %d sessions, %d connects in total; want 1 session, 1 connection", after.Sessions-before.Sessions, after.Connects)
		}
		if got := resp.Objects[rs[6].Addr].Object["content"]; got != plans.Fingerprint([]byte(key)) {
			t.Fatalf("key.pem observed as %v, want its fingerprint", got)
		}
		if strings.Contains(fmt.Sprintf("%v %#v", resp, resp), "LAB-SECRET") {
			t.Fatal("the observation contains the key")
		}
		if got := countActions(converge(t, ctx, p, env, rs)); got[plans.NoOp] != len(rs) {
			t.Fatalf("second apply: %v, want %d no-ops", got, len(rs))
		}
		for u, pid := range pids {
			if now := mainPID(t, l, v, u); now != pid {
				t.Errorf("%s restarted (%s → %s) by an apply that changed nothing", u, pid, now)
			}
		}
	})

	t.Run("sidecar.env merge keeps hand-made lines", func(t *testing.T) {
		vmShell(t, l, v, "printf '%s\\n' '# my note' 'MY_KEY=mine' >> "+labSidecarEnv)
		orig := vmShell(t, l, v, "cat "+labSidecarEnv)
		vmShell(t, l, v, "sed -i 's/^ISTIO_SERVICE=.*/ISTIO_SERVICE=hand-edited/' "+labSidecarEnv)
		resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs})
		if o := resp.Objects[rs[7].Addr]; !o.Drift || o.Object["ISTIO_SERVICE"] != "hand-edited" {
			t.Fatalf("sidecar.env: drift %v ISTIO_SERVICE %v; want drift", o.Drift, o.Object["ISTIO_SERVICE"])
		}
		converge(t, ctx, p, env, rs)
		if got := vmShell(t, l, v, "cat "+labSidecarEnv); got != orig {
			t.Fatalf("sidecar.env after apply (-want +got):\n%s", cmp.Diff(orig, got))
		}
		if now := mainPID(t, l, v, "istio"); now == pids["istio"] {
			t.Error("istio was not restarted after its sidecar.env changed")
		}
		pids["istio"] = mainPID(t, l, v, "istio")
	})

	t.Run("restart only what a change triggers", func(t *testing.T) {
		ce2 := strings.Replace(ce1, "10.100.0.0/20", "10.100.0.0/16", 1)
		rs = vmResources(v.Name, src, ce2, kubednsText(l.BridgeIP), key)
		actions := converge(t, ctx, p, env, rs)
		if actions[rs[11].Addr] != plans.Update || actions[rs[9].Addr] != plans.NoOp || actions[rs[10].Addr] != plans.NoOp {
			t.Fatalf("actions %v: want istio updated, the others no-op", actions)
		}
		if now := mainPID(t, l, v, "istio"); now == pids["istio"] {
			t.Error("istio kept its PID after cluster.env changed")
		}
		for _, u := range []string{"dnsmasq", "istio-auth-node-agent"} {
			if now := mainPID(t, l, v, u); now != pids[u] {
				t.Errorf("%s restarted (%s → %s) though none of its inputs changed", u, pids[u], now)
			}
		}
	})

	t.Run("drift of kubedns is repaired and restarts dnsmasq", func(t *testing.T) {
		vmShell(t, l, v, "echo 'address=/evil/10.0.0.1' > "+labKubedns)
		resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs})
		if o := resp.Objects[rs[3].Addr]; !o.Drift {
			t.Fatal("a hand-edited kubedns is not drift")
		}
		before := mainPID(t, l, v, "dnsmasq")
		converge(t, ctx, p, env, rs)
		if got := vmShell(t, l, v, "cat "+labKubedns); got != kubednsText(l.BridgeIP) {
			t.Fatalf("kubedns = %q", got)
		}
		if mainPID(t, l, v, "dnsmasq") == before {
			t.Error("dnsmasq was not restarted after kubedns changed")
		}
	})

	t.Run("a unit stopped by hand is started, not restarted twice", func(t *testing.T) {
		vmShell(t, l, v, "systemctl stop istio-auth-node-agent")
		actions := converge(t, ctx, p, env, rs)
		if actions[rs[10].Addr] != plans.Update {
			t.Fatalf("actions %v: want istio-auth-node-agent updated", actions)
		}
		if got := vmShell(t, l, v, "systemctl is-active istio-auth-node-agent || true"); got != "active\n" {
			t.Fatalf("istio-auth-node-agent is %q", got)
		}
	})

	t.Run("files dropped from configuration are deleted", func(t *testing.T) {
		var fewer []providers.Resource
		for _, r := range rs {
			if r.Addr.Key != "/etc/certs/cert-chain.pem" {
				fewer = append(fewer, r)
			}
		}
		resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: fewer})
		if len(resp.Orphans) != 1 || resp.Orphans[0].Addr.Key != "/etc/certs/cert-chain.pem" {
			t.Fatalf("orphans %v, want cert-chain.pem", resp.Orphans)
		}
		converge(t, ctx, p, env, fewer)
		if got := vmShell(t, l, v, "test -e /etc/certs/cert-chain.pem && echo present || echo absent"); got != "absent\n" {
			t.Fatalf("cert-chain.pem is %s after its delete", got)
		}
		rs = fewer
	})

	t.Run("manifest is root-only", func(t *testing.T) {
		got := vmShell(t, l, v, "stat -c '%a %U' /var/lib/meshx /var/lib/meshx/"+env+".json")
		if got != "700 root\n600 root\n" {
			t.Fatalf("manifest modes: %q", got)
		}
	})

	t.Run("destroy undoes exactly what meshx did", func(t *testing.T) {
		destroy(t, ctx, p, env, rs)
		got := vmShell(t, l, v, "dpkg-query -W -f '${Status}' istio-sidecar 2>/dev/null | grep -q ' installed' && echo sidecar-installed || echo sidecar-removed; "+
			"dpkg-query -W -f '${Status}' dnsmasq 2>/dev/null | grep -q ' installed' && echo dnsmasq-installed || echo dnsmasq-removed; "+
			"for f in "+shellJoin([]string{labClusterEnv, labKubedns, "/etc/certs/key.pem", "/var/lib/meshx/" + env + ".json"})+"; do test -e \"$f\" && echo \"$f left\"; done; "+
			"cat "+labDhclient+" 2>/dev/null | grep -c -F -x "+quote(labDhcpLine)+" || true; "+
			"systemctl is-enabled dnsmasq 2>/dev/null || true")
		wantDnsmasq := "dnsmasq-removed"
		if hadDnsmasq {
			wantDnsmasq = "dnsmasq-installed" // meshx did not install it, so it stays
		}
		want := "sidecar-removed\n" + wantDnsmasq + "\n0\n"
		if hadDnsmasq {
			want += dnsmasqEnabled // as it was before meshx
		}
		if got != want {
			t.Fatalf("after destroy (-want +got):\n%s", cmp.Diff(want, got))
		}
	})
}

func TestLabDebFromPathAndUpgrade(t *testing.T) {
	l := lab.Get(t)
	if len(l.VMs) < 2 || len(l.Debs) < 2 {
		t.Fatalf("want two VMs and two sidecar versions, have %d and %d", len(l.VMs), len(l.Debs))
	}
	v := l.VMs[1]
	p := labProvider(t, l, labHost(l, v))
	ctx := labContext(t)
	const env = "pathdeb"
	resources := func(d lab.Deb) []providers.Resource {
		pkg := Package(v.Name, "istio-sidecar", PackageSource{Path: d.Path, SHA256: d.SHA256})
		return []providers.Resource{pkg,
			File(v.Name, FileOptions{
				Path:      labClusterEnv,
				Content:   text("ISTIO_SERVICE_CIDR=10.0.0.0/8\n"),
				Mode:      0o640,
				Owner:     "istio-proxy",
				Group:     "istio-proxy",
				DependsOn: []plans.Address{pkg.Addr},
			})}
	}
	version := func() string {
		return vmShell(t, l, v, "dpkg-query -W -f '${Version}' istio-sidecar")
	}
	rs := resources(l.Debs[0])
	if actions := converge(t, ctx, p, env, rs); actions[rs[0].Addr] != plans.Create {
		t.Fatalf("actions %v, want the package created", actions)
	}
	if got := version(); got != l.Debs[0].Version {
		t.Fatalf("installed %q, want %q", got, l.Debs[0].Version)
	}
	if got := vmShell(t, l, v, "stat -c '%a %U' "+labClusterEnv); got != "640 istio-proxy\n" {
		t.Fatalf("cluster.env: %q", got)
	}
	if got := countActions(converge(t, ctx, p, env, rs)); got[plans.NoOp] != 2 {
		t.Fatalf("second apply %v, want no-ops", got)
	}

	// The same version is never reinstalled: Apply reports no change.
	desired, _ := rs[0].Render(fixedOutputs{})
	ar := p.Apply(ctx, providers.ApplyRequest{Environment: env, Resource: &rs[0], Desired: desired,
		Change: plans.Change{Addr: rs[0].Addr, Action: plans.Update}})
	if ar.Err != nil || ar.Changed {
		t.Fatalf("reapplying the installed version: changed %v err %v, want no change", ar.Changed, ar.Err)
	}

	// A newer .deb is an update that installs it.
	rs = resources(l.Debs[1])
	if actions := converge(t, ctx, p, env, rs); actions[rs[0].Addr] != plans.Update {
		t.Fatalf("actions %v, want the package updated", actions)
	}
	if got := version(); got != l.Debs[1].Version {
		t.Fatalf("after upgrade %q, want %q", got, l.Debs[1].Version)
	}

	// A .deb whose sha256 is not the configured one is refused.
	bad := Package(v.Name, "istio-sidecar", PackageSource{Path: l.Debs[0].Path, SHA256: l.Debs[1].SHA256})
	desired, _ = bad.Render(fixedOutputs{})
	ar = p.Apply(ctx, providers.ApplyRequest{Environment: env, Resource: &bad, Desired: desired,
		Change: plans.Change{Addr: bad.Addr, Action: plans.Update}})
	if ar.Err == nil || !strings.Contains(ar.Err.Error(), "not installed") {
		t.Fatalf("wrong sha256: err = %v", ar.Err)
	}

	destroy(t, ctx, p, env, rs)
	if got := vmShell(t, l, v, "dpkg-query -W -f '${Status}' istio-sidecar 2>/dev/null | grep -q ' installed' && echo installed || echo removed"); got != "removed\n" {
		t.Fatalf("after destroy the package is %s", got)
	}
}

func TestLabURLChecksSHA256(t *testing.T) {
	l := lab.Get(t)
	v := l.VMs[1]
	p := labProvider(t, l, labHost(l, v))
	ctx := labContext(t)
	bad := Package(v.Name, "istio-sidecar", PackageSource{URL: l.Debs[0].URL, SHA256: l.Debs[1].SHA256})
	desired, _ := bad.Render(fixedOutputs{})
	ar := p.Apply(ctx, providers.ApplyRequest{Environment: "badsum", Resource: &bad, Desired: desired,
		Change: plans.Change{Addr: bad.Addr, Action: plans.Create}})
	if ar.Err == nil || !strings.Contains(ar.Err.Error(), "want "+l.Debs[1].SHA256+"; not installed") {
		t.Fatalf("err = %v, want a sha256 mismatch", ar.Err)
	}
	if got := vmShell(t, l, v, "ls /tmp | grep -c meshx-deb || true"); got != "0\n" {
		t.Fatalf("downloads left in /tmp: %s", got)
	}
}

func TestLabSudo(t *testing.T) {
	l := lab.Get(t)
	v := l.VMs[1]
	if l.SudoUser == "" {
		t.Fatal("the lab has no sudo user")
	}
	if _, _, err := l.VMExec(context.Background(), v.Name, "sh", "-c", "command -v sudo"); err != nil {
		// The VMs' packages are the host's, and this host has no sudo.
		t.Skip("sudo is not installed in the lab VMs (nor on this host)")
	}
	h := labHost(l, v)
	h.User, h.Sudo = l.SudoUser, true
	p := labProvider(t, l, h)
	ctx := labContext(t)
	rs := []providers.Resource{
		File(v.Name, FileOptions{Path: "/etc/meshx-sudo.conf", Content: text("x\n"), Mode: 0o600, Owner: "root", Group: "root"}),
		Line(v.Name, labDhclient, labDhcpLine),
	}
	converge(t, ctx, p, "sudo", rs)
	if got := vmShell(t, l, v, "stat -c '%a %U' /etc/meshx-sudo.conf /var/lib/meshx/sudo.json"); got != "600 root\n600 root\n" {
		t.Fatalf("as %s with sudo: %q", l.SudoUser, got)
	}
	if got := countActions(converge(t, ctx, p, "sudo", rs)); got[plans.NoOp] != 2 {
		t.Fatalf("second apply %v", got)
	}
	h.Sudo = false
	noSudo := labProvider(t, l, h)
	resp := noSudo.Observe(ctx, providers.ObserveRequest{Environment: "sudo", Resources: rs})
	if resp.Err == nil {
		t.Fatal("observing root's manifest without sudo succeeded")
	}
	destroy(t, ctx, p, "sudo", rs)
}

// BenchmarkObserveTypicalVM observes one lab VM that meshx set up: 10
// files (3 sensitive), 2 packages and 3 units, over a warm connection.
func BenchmarkObserveTypicalVM(b *testing.B) {
	l := lab.Get(b)
	v := l.VMs[0]
	p := labProvider(b, l, labHost(l, v))
	ctx := context.Background()
	rs := benchResources(v.Name, l, true)
	converge(b, ctx, p, "bench", rs)
	for b.Loop() {
		if resp := p.Observe(ctx, providers.ObserveRequest{Environment: "bench", Resources: rs}); resp.Err != nil {
			b.Fatal(resp.Err)
		}
	}
}

// BenchmarkObserveAllVMsParallel observes every lab VM at once, each over
// a new connection, as a plan does; run it with MESHX_VMPROV_VMS=50. The
// files exist (set up before timing); the sidecar package is not
// installed, which costs the same queries.
func BenchmarkObserveAllVMsParallel(b *testing.B) {
	l := lab.Get(b)
	ctx := context.Background()
	setup := make(chan struct{}, 8)
	done := make(chan struct{}, len(l.VMs))
	for _, v := range l.VMs {
		go func() {
			setup <- struct{}{}
			defer func() { <-setup; done <- struct{}{} }()
			p := New(labHost(l, v))
			defer p.Close()
			var files []providers.Resource
			for _, r := range benchResources(v.Name, l, false) {
				if r.Kind == KindFile {
					files = append(files, r)
				}
			}
			converge(b, ctx, p, "bench", files)
		}()
	}
	for range l.VMs {
		<-done
	}
	for b.Loop() {
		errs := make(chan error, len(l.VMs))
		for _, v := range l.VMs {
			go func() {
				h := labHost(l, v)
				h.Timeout = 2 * time.Minute // the VMs share this machine's CPUs
				p := New(h)
				defer p.Close()
				errs <- p.Observe(ctx, providers.ObserveRequest{Environment: "bench", Resources: benchResources(v.Name, l, false)}).Err
			}()
		}
		for range l.VMs {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(l.VMs)), "vms")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(len(l.VMs)), "ms/vm")
}

// benchResources is a typical VM: 10 files (3 sensitive), 2 packages, 3
// units. proxyOwned makes the istio files owned by istio-proxy, which
// exists only once the sidecar package is installed.
func benchResources(vmName string, l *lab.Lab, proxyOwned bool) []providers.Resource {
	owner := "root"
	if proxyOwned {
		owner = "istio-proxy"
	}
	pkg := Package(vmName, "istio-sidecar", PackageSource{URL: l.SidecarURL, SHA256: l.SidecarSHA256})
	dnsmasq := Package(vmName, "dnsmasq", PackageSource{Apt: "dnsmasq"})
	rs := []providers.Resource{pkg, dnsmasq}
	var files []plans.Address
	for i := 0; i < 10; i++ {
		path := fmt.Sprintf("/etc/meshx-bench/f%d.conf", i)
		f := File(vmName, FileOptions{
			Path:      path,
			Content:   text(fmt.Sprintf("KEY%d=value\nOTHER=%s\n", i, strings.Repeat("x", 200))),
			Mode:      0o644,
			Owner:     owner,
			Group:     owner,
			Sensitive: i < 3,
			DependsOn: []plans.Address{pkg.Addr},
		})
		rs = append(rs, f)
		files = append(files, f.Addr)
	}
	for _, u := range []string{"dnsmasq", "istio-auth-node-agent", "istio"} {
		rs = append(rs, Unit(vmName, u, files))
	}
	return rs
}
