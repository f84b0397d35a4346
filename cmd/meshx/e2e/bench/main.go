package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "meshxbench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	labDir, meshx, kubectl, out, work string
	vms, ansibleVMs, freshVMs         []int
	parts                             []string
	runs, ansibleRuns                 int
	services, bigServices             int
	keep                              bool
	// perVMForksOnly leaves out Ansible's default forks (5).
	perVMForksOnly bool
	// p2RTT is the round trip of the relay P2's second configuration
	// reaches the API server through; 0: no second configuration.
	p2RTT time.Duration
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("meshxbench", flag.ContinueOnError)
	labName := fs.String("lab", "bench", "the running lab instance to use (`meshx-lab up -name NAME`)")
	fs.StringVar(&o.meshx, "meshx", "bin/meshx", "meshx binary")
	fs.StringVar(&o.kubectl, "kubectl", "kubectl", "kubectl binary")
	fs.StringVar(&o.out, "out", "docs/performance.md", "markdown report to write")
	fs.StringVar(&o.work, "work", "", "scratch directory (default: a new temporary one)")
	vms := fs.String("vms", "10,50,200", "P1: VM counts of the no-op plans")
	ansibleVMs := fs.String("ansible-vms", "10,50", "P1: the VM counts Ansible runs at too (it takes minutes per run)")
	fs.BoolVar(&o.perVMForksOnly, "ansible-per-vm-forks-only", false, "P1: run Ansible with one fork per VM only, not also with its default 5 (the slower, tens of minutes at 200 VMs)")
	fresh := fs.String("fresh-vms", "10,50", "P4: VM counts of the applies on fresh VMs")
	fs.IntVar(&o.runs, "runs", 3, "rounds of meshx, the floor and kubectl")
	fs.IntVar(&o.ansibleRuns, "ansible-runs", 1, "rounds (of -runs) that run Ansible too")
	fs.IntVar(&o.services, "services", 200, "P2: services to register")
	fs.IntVar(&o.bigServices, "big-services", 1000, "P3: services in the largest plan")
	fs.DurationVar(&o.p2RTT, "p2-rtt", 10*time.Millisecond, "P2: also measure both tools reaching the API server through a loopback relay with this round trip (a same-region cloud endpoint: 10ms); 0: loopback only")
	parts := fs.String("parts", "p1,p2,p3", "what to run: p1 (with p4), p2, p3")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.parts = strings.Split(*parts, ",")
	var err error
	for _, p := range []struct {
		s   string
		dst *[]int
	}{{*vms, &o.vms}, {*ansibleVMs, &o.ansibleVMs}, {*fresh, &o.freshVMs}} {
		if *p.dst, err = intList(p.s); err != nil {
			return err
		}
	}
	if o.labDir, err = lab.DefaultDir(*labName); err != nil {
		return err
	}
	if o.meshx, err = filepath.Abs(o.meshx); err != nil {
		return err
	}
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "meshxbench-"); err != nil {
			return err
		}
	}
	l, err := lab.Load(o.labDir)
	if err != nil {
		return err
	}
	b := &bench{o: o, lab: l, ctx: context.Background(), log: os.Stderr}
	return b.all()
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want a comma-separated list of positive counts", s)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// env is the meshx environment every configuration of the run uses: one
// environment owns the control cluster's mesh-expansion load balancers.
const env = "bench"

type bench struct {
	o   options
	lab *lab.Lab
	ctx context.Context
	log io.Writer

	rows  []row
	notes []string
}

// row is one comparison of the table.
type row struct {
	what, meshx, other, ratio, target string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *bench) all() error {
	maxN := b.o.vms[len(b.o.vms)-1]
	if len(b.lab.VMs) < maxN {
		return fmt.Errorf("lab %s has %d VMs; the run needs %d", b.lab.Name, len(b.lab.VMs), maxN)
	}
	m := describeMachine(b.o.kubectl)
	loadStart := load()
	t0 := time.Now()
	b.logf("lab %s: %d VMs; scratch in %s; load %s", b.lab.Name, len(b.lab.VMs), b.o.work, loadStart)
	// Whatever an earlier run left applied goes first; what this run
	// applies stays until the lab goes down.
	if err := b.writeConfig("p1", b.vmNames(maxN), nil); err != nil {
		return err
	}
	if _, err := b.meshx("p1", 0, "destroy", "-auto-approve", "-no-color"); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		run  func() error
	}{{"p2", b.p2}, {"p1", b.p1p4}, {"p3", b.p3}} {
		if !slices.Contains(b.o.parts, p.name) {
			continue
		}
		if err := p.run(); err != nil {
			return fmt.Errorf("%s: %w", strings.ToUpper(p.name), err)
		}
	}
	table := b.table()
	fmt.Println(table)
	for _, n := range b.notes {
		fmt.Println("- " + n)
	}
	return b.report(m, loadStart, load(), time.Since(t0), table)
}

func (b *bench) vmNames(n int) []string {
	var names []string
	for _, v := range b.lab.VMs[:n] {
		names = append(names, v.Name)
	}
	return names
}

// writeConfig writes the configuration of env in work/dir: vms with the
// 1.0 profile's files, packages and units, and services.
func (b *bench) writeConfig(dir string, vms []string, services []e2etest.Svc) error {
	return b.writeConfigOn(b.lab, dir, vms, services)
}

// writeConfigOn is writeConfig with the clusters of l (P2's relay side
// reaches the control cluster through another kubeconfig).
func (b *bench) writeConfigOn(l *lab.Lab, dir string, vms []string, services []e2etest.Svc) error {
	w := &e2etest.World{Lab: l, Dir: filepath.Join(b.o.work, dir), Env: env, Namespace: env, WaitTimeout: "5m", VMs: vms, Services: services}
	cfg, err := w.Render()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.Dir, "main.hcl"), cfg, 0o644)
}

// servicesOn spreads n services over vms, one port each.
func servicesOn(n int, vms []string) []e2etest.Svc {
	out := make([]e2etest.Svc, n)
	for i := range out {
		out[i] = e2etest.Svc{Name: fmt.Sprintf("svc%04d", i), VMs: []string{vms[i%len(vms)]}, Ports: map[string]int{"http": 10000 + i}}
	}
	return out
}

func (b *bench) meshxCmd(dir string, want int, args ...string) command {
	return command{dir: filepath.Join(b.o.work, dir), name: b.o.meshx, args: append([]string{}, args...), want: want}
}

// meshx runs meshx untimed.
func (b *bench) meshx(dir string, want int, args ...string) ([]byte, error) {
	_, out, err := timeIt(b.ctx, b.meshxCmd(dir, want, args...))
	return out, err
}

// rounds runs each measurement once per round, rotating their order from
// round to round, and returns the samples of each.
func (b *bench) rounds(n int, ms []measurement) (map[string]series, error) {
	got := map[string]series{}
	for r := 0; r < n; r++ {
		for i := range ms {
			m := ms[(i+r)%len(ms)]
			if m.rounds > 0 && r >= m.rounds {
				continue
			}
			s, err := m.run()
			if err != nil {
				return got, fmt.Errorf("%s: %w", m.name, err)
			}
			b.logf("  %-40s round %d: %s (cpu %s, in the VMs %s, peak RSS %d MiB)", m.name, r+1, secs(s.wall), secs(s.cpu), secs(s.vmCPU), s.maxRSS/1024)
			got[m.name] = append(got[m.name], s)
		}
	}
	return got, nil
}

// measurement is one thing measured in rounds; rounds limits how many
// rounds it takes part in (0: all).
type measurement struct {
	name   string
	rounds int
	run    func() (sample, error)
}

// p1p4 applies growing fleets (timing the applies on fresh VMs, P4) and
// measures the no-op plan of each (P1).
func (b *bench) p1p4() error {
	for _, n := range b.o.vms {
		vms := b.vmNames(n)
		if err := b.writeConfig("p1", vms, servicesOn(n, vms)); err != nil {
			return err
		}
		if slices.Contains(b.o.freshVMs, n) {
			if err := b.p4(n); err != nil {
				return err
			}
		} else {
			b.logf("P1 %d VMs: apply (untimed)", n)
			if _, err := b.meshx("p1", 0, "apply", "-auto-approve", "-no-color", "-input=false"); err != nil {
				return err
			}
		}
		if err := b.p1(n, vms); err != nil {
			return err
		}
	}
	return nil
}

// p4 destroys what is applied (so every VM is as before meshx) and times
// the apply of n VMs.
func (b *bench) p4(n int) error {
	b.logf("P4 %d fresh VMs: destroy (untimed), then apply", n)
	if _, err := b.meshx("p1", 0, "destroy", "-auto-approve", "-no-color"); err != nil {
		return err
	}
	t0 := time.Now()
	var out []byte
	s, err := b.inVMs(b.vmNames(n), func() (s sample, err error) {
		s, out, err = timeIt(b.ctx, b.meshxCmd("p1", 0, "apply", "-auto-approve", "-json", "-input=false"))
		return s, err
	})()
	if err != nil {
		return err
	}
	tr, err := parseApplyTrace(out, t0)
	if err != nil {
		return err
	}
	b.logf("  apply: %s; %s", secs(s.wall), tr.summary())
	b.rows = append(b.rows, row{
		what:  fmt.Sprintf("P4 apply, %d fresh VMs", n),
		meshx: fmt.Sprintf("%s (%s per VM)", secs(s.wall), secs(s.wall/time.Duration(n))),
		other: "—", ratio: "—", target: "per VM, and what dominates (below)",
	})
	b.note("P4, %d fresh VMs: %s. CPU per VM: meshx %s, inside the VM %s.", n, tr.summary(), millis(s.cpu/time.Duration(n)), millis(s.vmCPU/time.Duration(n)))
	return nil
}

// inVMs runs f and adds to its sample the CPU time used meanwhile inside
// vms.
func (b *bench) inVMs(vms []string, f func() (sample, error)) func() (sample, error) {
	var lvms []*lab.VM
	for _, n := range vms {
		lvms = append(lvms, b.lab.VM(n))
	}
	return func() (sample, error) {
		before := vmCPU(lvms)
		s, err := f()
		s.vmCPU = vmCPU(lvms) - before
		return s, err
	}
}

// p1 measures the no-op plan over vms against the floor and Ansible.
func (b *bench) p1(n int, vms []string) error {
	b.logf("P1 %d VMs: no-op plans", n)
	ms := []measurement{
		{name: "meshx plan", run: b.inVMs(vms, func() (sample, error) {
			s, _, err := timeIt(b.ctx, b.meshxCmd("p1", 0, "plan", "-detailed-exitcode", "-no-color", "-input=false"))
			return s, err
		})},
		{name: "floor", run: b.inVMs(vms, func() (sample, error) { return timeParallel(b.ctx, b.sshTrue(vms)) })},
	}
	var forks []int
	if slices.Contains(b.o.ansibleVMs, n) {
		dir := filepath.Join(b.o.work, fmt.Sprintf("ansible%d", n))
		if err := writeAnsible(dir, b.lab, env, vms); err != nil {
			return err
		}
		if !b.o.perVMForksOnly {
			forks = append(forks, 5)
		}
		if n != 5 || b.o.perVMForksOnly {
			forks = append(forks, n)
		}
		for _, f := range forks {
			ms = append(ms, measurement{name: fmt.Sprintf("ansible -f %d", f), rounds: b.o.ansibleRuns, run: b.inVMs(vms, func() (sample, error) {
				return b.ansible(dir, f, n)
			})})
		}
	}
	got, err := b.rounds(b.o.runs, ms)
	if err != nil {
		return err
	}
	plan, _ := got["meshx plan"].median()
	floor, _ := got["floor"].median()
	b.rows = append(b.rows, row{
		what:  fmt.Sprintf("P1 no-op plan, %d VMs", n),
		meshx: secs(plan.wall), other: "floor (parallel ssh true): " + secs(floor.wall),
		ratio: ratio(plan.wall, floor.wall) + " the floor", target: map[bool]string{true: "≤ 1.5× the floor"}[n == 50],
	})
	for _, f := range forks {
		a, ok := got[fmt.Sprintf("ansible -f %d", f)].median()
		if !ok {
			continue
		}
		target := ""
		if f == 5 {
			target = "meshx ≥ 10× faster"
		}
		b.rows = append(b.rows, row{
			what:  fmt.Sprintf("P1 no-op plan, %d VMs", n),
			meshx: secs(plan.wall), other: fmt.Sprintf("ansible-playbook --check --diff -f %d: %s", f, secs(a.wall)),
			ratio: faster(plan.wall, a.wall), target: target,
		})
	}
	per := func(d time.Duration) string { return millis(d / time.Duration(n)) }
	line := fmt.Sprintf("P1, %d VMs, CPU per VM (client; inside the VM): meshx plan %s; %s, the floor %s; %s",
		n, per(plan.cpu), per(plan.vmCPU), per(floor.cpu), per(floor.vmCPU))
	for _, f := range forks {
		if a, ok := got[fmt.Sprintf("ansible -f %d", f)].median(); ok {
			line += fmt.Sprintf(", Ansible -f %d %s; %s", f, per(a.cpu), per(a.vmCPU))
		}
	}
	b.note("%s. meshx plan's peak RSS: %d MiB.", line, got["meshx plan"].peakRSS()/1024)
	return nil
}

// kex is the key exchange meshx's SSH client (golang.org/x/crypto/ssh)
// settles on with Debian 12's OpenSSH. OpenSSH's own default,
// sntrup761x25519, costs several times the CPU on both ends (30 parallel
// logins on the lab: 20 s against 3.5 s), so the floor and Ansible use
// meshx's: every side does the same cryptography.
const kex = "KexAlgorithms=curve25519-sha256"

// sshTrue is the floor: one OpenSSH login per VM running true.
func (b *bench) sshTrue(vms []string) []command {
	var cs []command
	for _, name := range vms {
		v := b.lab.VM(name)
		cs = append(cs, command{name: "ssh", args: []string{
			"-i", b.lab.SSHPrivateKey, "-o", "UserKnownHostsFile=" + b.lab.KnownHosts, "-o", "StrictHostKeyChecking=yes",
			"-o", "BatchMode=yes", "-o", kex, "-p", strconv.Itoa(v.SSHPort), v.User + "@" + v.Address, "true",
		}})
	}
	return cs
}

// ansible runs the check playbook with forks and checks that it found
// every host converged. SSH connection sharing lives in a fresh directory
// per run, closed after it.
func (b *bench) ansible(dir string, forks, hosts int) (sample, error) {
	cp, err := os.MkdirTemp(b.o.work, "cp-")
	if err != nil {
		return sample{}, err
	}
	defer closeMasters(cp)
	s, out, err := timeIt(b.ctx, command{
		dir: dir, name: "ansible-playbook", args: []string{"--check", "--diff", "-f", strconv.Itoa(forks), "check.yml"},
		env: []string{"ANSIBLE_CONFIG=" + filepath.Join(dir, "ansible.cfg"), "ANSIBLE_SSH_CONTROL_PATH_DIR=" + cp, "ANSIBLE_NOCOLOR=1"},
	})
	if err != nil {
		return s, err
	}
	return s, ansibleRecap(out, hosts)
}

// closeMasters ends the SSH connection masters Ansible left in dir.
func closeMasters(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		exec.Command("ssh", "-o", "ControlPath="+filepath.Join(dir, e.Name()), "-O", "exit", "master").Run()
	}
	os.RemoveAll(dir)
}

// p2side is one way P2's clients reach the control cluster's API server:
// directly on loopback, or through the relay.
type p2side struct {
	// name is "" on loopback, else what the relay stands for; it ends
	// the side's measurement and row names.
	name string
	// dir is meshx's configuration, lab the lab whose control cluster's
	// kubeconfig is kubeconfig, the one both tools use.
	dir, kubeconfig string
	lab             *lab.Lab
	// plans are the no-op plans of the registered services, traces where
	// the time of each meshx apply went and the requests it sent,
	// kubectl the requests each kubectl apply sent.
	plans           series
	traces, kubectl []string
}

// p2sides are loopback and, with a round trip set, the relay, which is
// started here; stop closes it.
func (b *bench) p2sides() (sides []*p2side, stop func(), err error) {
	ctl := b.lab.ControlCluster()
	sides = []*p2side{{dir: "p2", kubeconfig: ctl.Kubeconfig, lab: b.lab}}
	if b.o.p2RTT <= 0 {
		return sides, func() {}, nil
	}
	r, err := startRelay(strings.TrimPrefix(ctl.Server, "https://"), b.o.p2RTT)
	if err != nil {
		return nil, nil, err
	}
	kc := filepath.Join(b.o.work, "p2-rtt.kubeconfig")
	if err := relayKubeconfig(ctl.Kubeconfig, r.addr(), kc); err != nil {
		r.close()
		return nil, nil, err
	}
	l := *b.lab
	l.Clusters = slices.Clone(b.lab.Clusters)
	l.ControlCluster().Kubeconfig = kc
	sides = append(sides, &p2side{name: fmt.Sprintf("API server %s away", millis(b.o.p2RTT)), dir: "p2-rtt", kubeconfig: kc, lab: &l})
	// Check the line: a request over an open connection takes a round
	// trip longer through it.
	direct, err := versionRoundTrip(b.ctx, ctl.Kubeconfig)
	if err == nil {
		var through time.Duration
		if through, err = versionRoundTrip(b.ctx, kc); err == nil {
			b.logf("P2 relay %s for a round trip of %s: GET /version %.1f ms direct, %.1f ms through it", r.addr(), millis(b.o.p2RTT),
				fracMillis(direct), fracMillis(through))
			b.note("P2, the latency line (round trip %s): GET /version over an open connection took %.1f ms through it, %.1f ms direct (medians of 20).",
				millis(b.o.p2RTT), fracMillis(through), fracMillis(direct))
		}
	}
	if err == nil {
		// kubectl's discovery cache is per server address: fill the
		// relay's as the loopback one is, untimed.
		_, _, err = timeIt(b.ctx, command{name: b.o.kubectl, args: []string{"--kubeconfig", kc, "get", "services", "-n", env}})
	}
	if err != nil {
		r.close()
		return nil, nil, err
	}
	return sides, func() { r.close() }, nil
}

// label is what, named for the side.
func (s *p2side) label(what string) string {
	if s.name == "" {
		return what
	}
	return what + ", " + s.name
}

// fracMillis is d in milliseconds, fractions kept.
func fracMillis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// p2 registers services on two VMs: meshx apply against kubectl apply
// --server-side of the same objects, and the no-op plan, with both tools
// reaching the API server on loopback and, in the same rounds, through
// the relay.
func (b *bench) p2() error {
	vms := b.vmNames(2)
	svcs := servicesOn(b.o.services, vms)
	b.logf("P2 %d services: base apply (untimed)", b.o.services)
	if err := b.writeConfig("p2", vms, nil); err != nil {
		return err
	}
	if _, err := b.meshx("p2", 0, "apply", "-auto-approve", "-no-color", "-input=false"); err != nil {
		return err
	}
	sides, stop, err := b.p2sides()
	if err != nil {
		return err
	}
	defer stop()
	// The metrics, the export and the cleanups between runs go
	// directly, untimed.
	kubeconfig := b.lab.ControlCluster().Kubeconfig
	objects := filepath.Join(b.o.work, "p2-objects.json")
	var nObjects int
	unregister := func() error {
		if err := b.writeConfig("p2", vms, nil); err != nil {
			return err
		}
		_, err := b.meshx("p2", 0, "apply", "-auto-approve", "-no-color", "-input=false")
		return err
	}
	var ms []measurement
	for _, side := range sides {
		ms = append(ms, measurement{name: side.label("meshx apply"), run: func() (sample, error) {
			if err := b.writeConfigOn(side.lab, side.dir, vms, svcs); err != nil {
				return sample{}, err
			}
			before, err := scrapeRequests(b.ctx, b.o.kubectl, kubeconfig)
			if err != nil {
				return sample{}, err
			}
			t0 := time.Now()
			s, out, err := timeIt(b.ctx, b.meshxCmd(side.dir, 0, "apply", "-auto-approve", "-json", "-input=false"))
			if err != nil {
				return s, err
			}
			after, err := scrapeRequests(b.ctx, b.o.kubectl, kubeconfig)
			if err != nil {
				return s, err
			}
			tr, err := parseApplyTrace(out, t0)
			if err != nil {
				return s, err
			}
			side.traces = append(side.traces, fmt.Sprintf("%s; Service and Endpoints requests: %s", tr.summary(), after.since(before)))
			// The no-op plan of the registered services, then the
			// objects kubectl applies (once), then back, untimed.
			p, _, err := timeIt(b.ctx, b.meshxCmd(side.dir, 0, "plan", "-detailed-exitcode", "-no-color", "-input=false"))
			if err != nil {
				return s, err
			}
			b.logf("  %-40s %s", side.label("meshx no-op plan"), secs(p.wall))
			side.plans = append(side.plans, p)
			if nObjects == 0 {
				if nObjects, err = exportObjects(b.ctx, b.o.kubectl, kubeconfig, env, objects); err != nil {
					return s, err
				}
			}
			return s, unregister()
		}}, measurement{name: side.label("kubectl apply"), run: func() (sample, error) {
			if nObjects == 0 {
				return sample{}, errors.New("no objects exported yet")
			}
			before, err := scrapeRequests(b.ctx, b.o.kubectl, kubeconfig)
			if err != nil {
				return sample{}, err
			}
			s, _, err := timeIt(b.ctx, command{name: b.o.kubectl, args: []string{"--kubeconfig", side.kubeconfig, "apply", "--server-side", "-f", objects}})
			if err != nil {
				return s, err
			}
			after, err := scrapeRequests(b.ctx, b.o.kubectl, kubeconfig)
			if err != nil {
				return s, err
			}
			side.kubectl = append(side.kubectl, after.since(before).String())
			_, _, err = timeIt(b.ctx, command{name: b.o.kubectl, args: []string{"--kubeconfig", kubeconfig, "delete", "--wait", "--ignore-not-found", "-f", objects}})
			return s, err
		}})
	}
	got, err := b.rounds(b.o.runs, ms)
	if err != nil {
		return err
	}
	for _, side := range sides {
		a, _ := got[side.label("meshx apply")].median()
		k, _ := got[side.label("kubectl apply")].median()
		p, _ := side.plans.median()
		b.rows = append(b.rows,
			row{
				what:  side.label(fmt.Sprintf("P2 apply, %d services (%d objects)", b.o.services, nObjects)),
				meshx: secs(a.wall), other: "kubectl apply --server-side: " + secs(k.wall),
				ratio: faster(a.wall, k.wall), target: "meshx ≥ 2× faster",
			},
			row{
				what:  side.label(fmt.Sprintf("P2 no-op plan, %d services", b.o.services)),
				meshx: secs(p.wall), other: "—", ratio: "—", target: "< 1 s",
			})
		for i, t := range side.traces {
			b.note("%s: %s.", side.label(fmt.Sprintf("P2, meshx apply %d", i+1)), t)
		}
		for i, t := range side.kubectl {
			b.note("%s: Service and Endpoints requests: %s.", side.label(fmt.Sprintf("P2, kubectl apply %d", i+1)), t)
		}
	}
	b.logf("P2: destroy (untimed)")
	_, err = b.meshx("p2", 0, "destroy", "-auto-approve", "-no-color")
	return err
}

// p3 is the peak resident set of the largest plan: every VM and
// bigServices services, none applied.
func (b *bench) p3() error {
	n := b.o.vms[len(b.o.vms)-1]
	vms := b.vmNames(n)
	b.logf("P3 plan of %d VMs and %d services", n, b.o.bigServices)
	if err := b.writeConfig("p3", vms, servicesOn(b.o.bigServices, vms)); err != nil {
		return err
	}
	s, _, err := timeIt(b.ctx, b.meshxCmd("p3", 2, "plan", "-detailed-exitcode", "-no-color", "-input=false"))
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{
		what:  fmt.Sprintf("P3 peak RSS of meshx plan, %d VMs and %d services", n, b.o.bigServices),
		meshx: fmt.Sprintf("%d MiB (plan took %s)", s.maxRSS/1024, secs(s.wall)), other: "—", ratio: "—", target: "< 150 MB",
	})
	return nil
}

// faster compares meshx's time with another tool's.
func faster(meshx, other time.Duration) string {
	if meshx <= other {
		return "meshx " + ratio(other, meshx) + " faster"
	}
	return "meshx " + ratio(meshx, other) + " slower"
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", float64(a)/float64(b))
}

func (b *bench) table() string {
	var s strings.Builder
	s.WriteString("| measurement | meshx | compared with | ratio | target |\n|---|---|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.what, r.meshx, r.other, r.ratio, r.target)
	}
	return s.String()
}

// report writes the markdown report.
func (b *bench) report(m machine, loadStart, loadEnd string, took time.Duration, table string) error {
	var s strings.Builder
	s.WriteString("# Performance\n\n")
	s.WriteString("Measured by `make bench` (scripts/bench.sh, cmd/meshx/e2e/bench) on the lab: VMs are real OpenSSH servers in network namespaces, the clusters real kube-apiservers. Each VM carries the 1.0 profile's files, env keys, lines, packages and units and one registered service. Runs of the things compared are interleaved; each figure is the median of its runs")
	fmt.Fprintf(&s, " (%d rounds; Ansible %d). Times are wall-clock on a shared machine: compare the two sides of a row, which ran in the same minutes, rather than runs on different days.\n\n", b.o.runs, min(b.o.runs, b.o.ansibleRuns))
	fmt.Fprintf(&s, "Run of %s, %s in all.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	s.WriteString(m.markdown(loadStart, loadEnd))
	s.WriteString("\n## Results\n\n")
	s.WriteString(table)
	s.WriteString("\n")
	for _, n := range b.notes {
		s.WriteString("- " + n + "\n")
	}
	s.WriteString("\n## What is compared\n\n")
	s.WriteString("- **P1** `meshx plan -detailed-exitcode` with nothing to do, against `ansible-playbook --check --diff` of a playbook the bench generates from each VM's meshx manifest after the apply (copy for the files, lineinfile for each managed env key and each line, apt for the packages, systemd for the units; pipelining on, no fact gathering) with Ansible's default 5 forks and with one fork per VM, and against the floor: one `ssh host true` per VM, all at once. Both tools find every VM converged (the bench checks Ansible's recap: nothing changed or failed).\n")
	s.WriteString("- **P2** `meshx apply` registering the services on two VMs (a Service and Endpoints each, plus both VMs' sidecar.env) against `kubectl apply --server-side -f` of the same Services and Endpoints, exported from the cluster after meshx's apply; between runs each side removes what it made, untimed. Both tools reach the API server on loopback and, in the same rounds, through a latency line (-p2-rtt, 10 ms by default, a same-region cloud endpoint): a TCP relay on 127.0.0.1 in the bench that holds every chunk for half the round trip in each direction, in order and without limiting throughput, TLS passing through; there kubectl's one-at-a-time requests each pay the round trip and meshx's parallel ones overlap it.\n")
	s.WriteString("- **P3** the peak resident set (getrusage) of `meshx plan` of every VM and the largest service count, nothing applied.\n")
	s.WriteString("- **P4** `meshx apply -json` on VMs meshx never touched (after a destroy), with where the time went from the event stream's timestamps.\n")
	if err := os.MkdirAll(filepath.Dir(b.o.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(b.o.out, []byte(s.String()), 0o644)
}
