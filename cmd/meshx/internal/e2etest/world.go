package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meshx-dev/meshx/cmd/meshx/cli"
	"github.com/meshx-dev/meshx/lab"
)

// World is one meshx configuration directory wired to the lab.
type World struct {
	T   testing.TB
	Lab *lab.Lab
	Dir string
	// Env is the environment name; Namespace the VM services' namespace.
	Env, Namespace string
	// VMs are the lab VMs the configuration declares, by lab name.
	VMs []string
	// Services maps a service name to its VM names and ports.
	Services []Svc
	// Extra is appended verbatim to the configuration.
	Extra string
	// VMExtra is added verbatim to the body of every vm block.
	VMExtra string
	// KnownHosts overrides the lab's known_hosts file.
	KnownHosts string
	// WaitTimeout is the mesh_expansion wait_timeout.
	WaitTimeout string
	// MeshExpansion, when set, is the body of the control cluster's
	// mesh_expansion block instead of load_balancer and wait_timeout
	// ("manage = false" uses another environment's load balancers).
	MeshExpansion string
	// Args are appended to every meshx run (an example's -var-file).
	Args []string
}

type Svc struct {
	Name  string
	VMs   []string
	Ports map[string]int
}

const configTemplate = `
meshx {
  environment = "{{.Env}}"
  istio {
    namespace = "istio-system"
    profile   = "1.0"
  }
}

cluster "control" {
  role       = "control"
  kubeconfig = "{{.Lab.ControlCluster.Kubeconfig}}"
  pod_cidr   = "{{.Lab.ControlCluster.PodCIDR}}"
  mesh_expansion {
{{- if .MeshExpansion}}
    {{.MeshExpansion}}
{{- else}}
    load_balancer = "gcp"
    wait_timeout  = "{{.WaitTimeout}}"
{{- end}}
  }
}
{{range .VMList}}
vm "{{.Name}}" {
  address   = "{{.Address}}"
  namespace = "{{$.Namespace}}"
  ssh {
    private_key_file = "{{$.Lab.SSHPrivateKey}}"
    known_hosts_file = "{{$.KnownHostsFile}}"
  }
  sidecar_package {
    source = "{{$.Lab.SidecarURL}}"
    sha256 = "{{$.Lab.SidecarSHA256}}"
  }
{{$.VMExtra}}
}
{{end}}
{{range .Services}}
service "{{.Name}}" {
  namespace = "{{$.Namespace}}"
  vm        = [{{range $i, $v := .VMs}}{{if $i}}, {{end}}vm.{{$v}}{{end}}]
  ports     = { {{range $k, $p := .Ports}}{{$k}} = {{$p}}, {{end}} }
}
{{end}}
output "pilot_ilb" {
  value = cluster.control.ilb.pilot.address
}
{{.Extra}}
`

// New makes a configuration directory for environment env; the
// caller fills VMs and Services and calls Write. Benchmarks use it too.
func New(t testing.TB, env string) *World {
	t.Helper()
	l := lab.Get(t)
	return &World{T: t, Lab: l, Dir: t.TempDir(), Env: env, Namespace: env, WaitTimeout: "2m"}
}

// Details is environment env with service details (9080) on vm1, written
// and destroyed when the test ends: the smallest configuration that makes
// every kind of change.
func Details(t testing.TB, env string) *World {
	t.Helper()
	w := New(t, env)
	w.VMs = []string{"vm1"}
	w.Services = []Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	w.Write()
	w.DestroyOnCleanup()
	return w
}

// Write renders the configuration into the directory.
func (w *World) Write() {
	w.T.Helper()
	b, err := w.Render()
	if err != nil {
		w.T.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "main.hcl"), b, 0o644); err != nil {
		w.T.Fatal(err)
	}
}

// Result is one meshx run.
type Result struct {
	Code           int
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

// Meshx runs the CLI in the world's directory.
func (w *World) Meshx(args ...string) Result {
	w.T.Helper()
	return RunMeshx(w.Dir, slices.Concat(args, w.Args)...)
}

// RunMeshx runs the CLI in dir with args alone: World.Meshx adds the
// world's Args, which some commands refuse (show takes no -var-file).
func RunMeshx(dir string, args ...string) Result {
	var out, errb bytes.Buffer
	code := cli.Run(append([]string{"-chdir=" + dir}, args...), strings.NewReader(""), &out, &errb)
	return Result{code, out.String(), errb.String()}
}

func (w *World) argv(args []string) []string {
	return append(append([]string{"-chdir=" + w.Dir}, args...), w.Args...)
}

// Example returns a World whose directory holds a copy of the
// configuration files of examples/<name>, unchanged, run with args (the
// lab's vars file, overrides) and destroyed when the test ends.
func Example(t *testing.T, l *lab.Lab, name string, args ...string) *World {
	t.Helper()
	root, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &World{T: t, Lab: l, Dir: t.TempDir(), Args: args}
	src := filepath.Join(root, "examples", name)
	files, err := filepath.Glob(filepath.Join(src, "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configuration in %s: %v", src, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.Dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.DestroyOnCleanup()
	return w
}

// MeshxSeeing runs the CLI like Meshx and calls seen, once, as soon as its
// stderr contains text: a test acts at the moment meshx reaches a state
// (waiting for a lock, say) instead of after a guessed sleep.
func (w *World) MeshxSeeing(text string, seen func(), args ...string) Result {
	w.T.Helper()
	var out bytes.Buffer
	errw := &watchWriter{text: []byte(text), seen: seen}
	code := cli.Run(w.argv(args), strings.NewReader(""), &out, errw)
	return Result{code, out.String(), errw.String()}
}

// Running is a meshx run in progress, begun by Start.
type Running struct {
	args           []string
	stdout, stderr watchWriter
	done           chan int
}

// Start runs the CLI in the world's directory in the background: the test
// acts while it runs (deletes its Lease, say), reads its stderr so far,
// and collects it with Wait.
func (w *World) Start(args ...string) *Running {
	r := &Running{args: args, done: make(chan int, 1)}
	go func() { r.done <- cli.Run(w.argv(args), strings.NewReader(""), &r.stdout, &r.stderr) }()
	return r
}

// Stderr returns what the run wrote to stderr so far.
func (r *Running) Stderr() string { return r.stderr.String() }

// Wait returns the run once it ended, failing the test if it does not
// end within limit.
func (r *Running) Wait(t testing.TB, limit time.Duration) Result {
	t.Helper()
	select {
	case code := <-r.done:
		return Result{code, r.stdout.String(), r.stderr.String()}
	case <-time.After(limit):
		t.Fatalf("meshx %s did not end within %s:\n%s", strings.Join(r.args, " "), limit, r.stderr.String())
		return Result{}
	}
}

// watchWriter buffers what is written, for readers while it is written,
// and calls seen, when set, once text first appears in it.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	text []byte
	seen func()
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, _ := w.buf.Write(p)
	if w.seen != nil && bytes.Contains(w.buf.Bytes(), w.text) {
		go w.seen()
		w.seen = nil
	}
	return n, nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Must runs meshx and fails the test unless it exits with want.
func (w *World) Must(want int, args ...string) Result {
	w.T.Helper()
	r := w.Meshx(args...)
	if r.Code != want {
		w.T.Fatalf("meshx %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// DestroyOnCleanup removes what the world applied when the test ends, so
// the next test finds the cluster-wide load balancers free.
func (w *World) DestroyOnCleanup() {
	w.T.Cleanup(func() {
		if r := w.Meshx("destroy", "-auto-approve", "-no-color"); r.Code != 0 {
			w.T.Errorf("cleanup destroy: %s", r)
		}
	})
}

func (w *World) Client(cluster string) kubernetes.Interface {
	return w.Lab.Clientset(w.T, cluster)
}

// LBNever makes the control cluster's load balancers never get an
// address, until the test sets another mode or ends.
func (w *World) LBNever() {
	w.T.Helper()
	if err := w.Lab.SetLBMode(Step(w.T), "control", "never"); err != nil {
		w.T.Fatal(err)
	}
	w.T.Cleanup(func() {
		if err := w.Lab.SetLBMode(Step(w.T), "control", "ip"); err != nil {
			w.T.Errorf("restore lb mode: %v", err)
		}
	})
}

// VMExec runs a command inside a lab VM.
func (w *World) VMExec(vm string, argv ...string) string {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := w.Lab.VMExec(ctx, vm, argv...)
	if err != nil {
		w.T.Fatalf("%s: %v: %v\n%s", vm, argv, err, errOut)
	}
	return out
}

// VMStat returns a file's mode, owner and group inside a lab VM, as
// "644 root root", or "absent".
func (w *World) VMStat(vm, path string) string {
	w.T.Helper()
	return strings.TrimSpace(w.VMExec(vm, "sh", "-c", "stat -c '%a %U %G' -- '"+strings.ReplaceAll(path, "'", `'\''`)+"' 2>/dev/null || echo absent"))
}

// Step returns a context for one step of a test that is not a single
// client-go request: a lab operation such as switching the load-balancer
// mode or stopping an sshd, which waits on the lab. Its minute counts from
// the call, so take a new one for every step, in cleanups too: a deadline
// shared by several steps fails a run that is merely slow, since a test's
// total time grows with the machine's load while one step's barely does.
//
// Client-go calls need no deadline of their own: the lab's clientsets
// bound each request (lab.RequestTimeout), so tests pass t.Context().
func Step(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// Get and Update are empty client-go options.
var Get = metav1.GetOptions{}

var Update = metav1.UpdateOptions{}

// Render returns the configuration Write writes, for a program without a
// test (cmd/meshx/e2e/bench) that writes it itself.
func (w *World) Render() ([]byte, error) {
	type vmRow struct{ Name, Address string }
	var vms []vmRow
	for _, n := range w.VMs {
		v := w.Lab.VM(n)
		if v == nil {
			return nil, fmt.Errorf("lab has no VM %s", n)
		}
		vms = append(vms, vmRow{n, v.Address})
	}
	kh := w.KnownHosts
	if kh == "" {
		kh = w.Lab.KnownHosts
	}
	var b bytes.Buffer
	err := template.Must(template.New("cfg").Parse(configTemplate)).Execute(&b, map[string]any{
		"Env": w.Env, "Namespace": w.Namespace, "Lab": w.Lab, "VMList": vms, "Services": w.Services,
		"KnownHostsFile": kh, "WaitTimeout": w.WaitTimeout, "MeshExpansion": w.MeshExpansion, "Extra": w.Extra, "VMExtra": w.VMExtra,
	})
	return b.Bytes(), err
}

// Eventually polls cond every 200 ms until it holds and fails the test
// after limit, with cond's last word on why not. It is for what a system
// reaches asynchronously (istiod reading an API server), never a timing
// assertion: limit is far beyond what any load makes the wait take.
func Eventually(t testing.TB, what string, limit time.Duration, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, limit, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Contains fails the test for every want that got lacks; what names got
// in the message.
func Contains(t testing.TB, what, got string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, got)
		}
	}
}
