package main

// End-to-end tests: meshx's own CLI, run in-process, against the lab's real
// kube-apiservers and real sshd VMs. They run one after another (the
// mesh-expansion load balancers are cluster-wide names one environment owns
// at a time), and each destroys what it applied.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meshx-dev/meshx/cmd/meshx/cli"
	"github.com/meshx-dev/meshx/lab"
)

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, lab.Options{Name: "e2e", VMs: 3}))
}

// world is one meshx configuration directory wired to the lab.
type world struct {
	t   *testing.T
	lab *lab.Lab
	dir string
	// Env is the environment name; Namespace the VM services' namespace.
	Env, Namespace string
	// VMs are the lab VMs the configuration declares, by lab name.
	VMs []string
	// Services maps a service name to its VM names and ports.
	Services []svc
	// Extra is appended verbatim to the configuration.
	Extra string
	// KnownHosts overrides the lab's known_hosts file.
	KnownHosts string
	// WaitTimeout is the mesh_expansion wait_timeout.
	WaitTimeout string
}

type svc struct {
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
    load_balancer = "gcp"
    wait_timeout  = "{{.WaitTimeout}}"
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

// newWorld makes a configuration directory for environment env; the
// caller fills VMs and Services and calls write.
func newWorld(t *testing.T, env string) *world {
	t.Helper()
	l := lab.Get(t)
	return &world{t: t, lab: l, dir: t.TempDir(), Env: env, Namespace: env, WaitTimeout: "2m"}
}

// write renders the configuration into the directory.
func (w *world) write() {
	w.t.Helper()
	type vmRow struct{ Name, Address string }
	var vms []vmRow
	for _, n := range w.VMs {
		v := w.lab.VM(n)
		if v == nil {
			w.t.Fatalf("lab has no VM %s", n)
		}
		vms = append(vms, vmRow{n, v.Address})
	}
	kh := w.KnownHosts
	if kh == "" {
		kh = w.lab.KnownHosts
	}
	var b bytes.Buffer
	err := template.Must(template.New("cfg").Parse(configTemplate)).Execute(&b, map[string]any{
		"Env": w.Env, "Namespace": w.Namespace, "Lab": w.lab, "VMList": vms, "Services": w.Services,
		"KnownHostsFile": kh, "WaitTimeout": w.WaitTimeout, "Extra": w.Extra,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "main.hcl"), b.Bytes(), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// result is one meshx run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// meshx runs the CLI in the world's directory.
func (w *world) meshx(args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(append([]string{"-chdir=" + w.dir}, args...), strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// must runs meshx and fails the test unless it exits with want.
func (w *world) must(want int, args ...string) result {
	w.t.Helper()
	r := w.meshx(args...)
	if r.code != want {
		w.t.Fatalf("meshx %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// destroyOnCleanup removes what the world applied when the test ends, so
// the next test finds the cluster-wide load balancers free.
func (w *world) destroyOnCleanup() {
	w.t.Cleanup(func() {
		if r := w.meshx("destroy", "-auto-approve", "-no-color"); r.code != 0 {
			w.t.Errorf("cleanup destroy: %s", r)
		}
	})
}

func (w *world) client(cluster string) kubernetes.Interface {
	return w.lab.Clientset(w.t, cluster)
}

// vmExec runs a command inside a lab VM.
func (w *world) vmExec(vm string, argv ...string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := w.lab.VMExec(ctx, vm, argv...)
	if err != nil {
		w.t.Fatalf("%s: %v: %v\n%s", vm, argv, err, errOut)
	}
	return out
}

// ctx is a short context for client-go calls.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var get = metav1.GetOptions{}

var updateOpts = metav1.UpdateOptions{}
