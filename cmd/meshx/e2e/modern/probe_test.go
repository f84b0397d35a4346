package modern

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/istio"
)

// TestProbe applies examples/vm-modern with auto-registration and a probe
// block on the VM: the WorkloadGroup carries it as spec.probe, the mesh
// config on the VM as readinessProbe, the real pilot-agent reads it and
// tells istiod, which marks the WorkloadEntry it registers as health
// checked and keeps its Healthy condition from the agent's reports: True
// while an application answers the probe's HTTP GET in the VM, False once
// it stops, True again when it is back. (pilot-agent reports the
// application healthy only while Envoy's admin interface says it is
// ready; the lab's stand-in envoy answers as Envoy does.)
func TestProbe(t *testing.T) {
	l, w, dyn := vmModern(t, "-var", "auto_register=true")
	vm := l.VMs[0].Name
	vmIP := l.VMs[0].Address
	c := t.Context()
	file := filepath.Join(w.Dir, "main.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "  auto_register   = var.auto_register\n"
	if !strings.Contains(string(src), anchor) {
		t.Fatalf("main.hcl has no line %q", anchor)
	}
	probe := anchor + `  probe {
    http_get {
      path = "/healthz"
      port = 9080
    }
    period            = "2s"
    success_threshold = 1
    failure_threshold = 1
  }
`
	if err := os.WriteFile(file, []byte(strings.Replace(string(src), anchor, probe, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Must(0, "apply", "-auto-approve")
	want := map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": int64(9080)}, "periodSeconds": int64(2), "successThreshold": int64(1), "failureThreshold": int64(1)}

	t.Run("the WorkloadGroup and the mesh config carry the probe", func(t *testing.T) {
		wg, err := dyn.Resource(workloadGroups).Namespace("bookinfo").Get(c, "bookinfo-vm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := unstructured.NestedMap(wg.Object, "spec", "probe")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("WorkloadGroup spec.probe (-want +got):\n%s", diff)
		}
		var mesh struct {
			DefaultConfig struct {
				ReadinessProbe map[string]any `json:"readinessProbe"`
			} `json:"defaultConfig"`
		}
		if err := yaml.Unmarshal([]byte(w.VMExec(vm, "cat", istio.MeshConfigPath)), &mesh); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(numbersAsJSON(t, want), numbersAsJSON(t, mesh.DefaultConfig.ReadinessProbe)); diff != "" {
			t.Errorf("mesh config readinessProbe (-want +got):\n%s", diff)
		}
	})

	// healthy returns the status of the Healthy condition istiod keeps on
	// the WorkloadEntry it registered for the VM, or "" and why not.
	healthy := func() (string, string) {
		list, err := dyn.Resource(workloadEntries).Namespace("bookinfo").List(c, metav1.ListOptions{})
		if err != nil {
			return "", err.Error()
		}
		for _, we := range list.Items {
			if a, _, _ := unstructured.NestedString(we.Object, "spec", "address"); a != vmIP {
				continue
			}
			if we.GetAnnotations()["proxy.istio.io/health-checks-enabled"] != "true" {
				return "", fmt.Sprintf("WorkloadEntry %s is not marked health checked: annotations %v", we.GetName(), we.GetAnnotations())
			}
			conds, _, _ := unstructured.NestedSlice(we.Object, "status", "conditions")
			for _, cd := range conds {
				if m, _ := cd.(map[string]any); m["type"] == "Healthy" {
					status, _ := m["status"].(string)
					return status, fmt.Sprintf("WorkloadEntry %s: Healthy %s: %v", we.GetName(), status, m["message"])
				}
			}
			return "", fmt.Sprintf("WorkloadEntry %s has no Healthy condition: %v", we.GetName(), conds)
		}
		return "", fmt.Sprintf("no WorkloadEntry with %s among %d", vmIP, len(list.Items))
	}
	becomes := func(want string) {
		t.Helper()
		e2etest.Eventually(t, "istiod sets the Healthy condition of the VM's WorkloadEntry to "+want, 2*time.Minute, func() (bool, string) {
			got, why := healthy()
			if got == want {
				t.Log(why)
			}
			return got == want, why
		})
	}
	// The application: an HTTP server on the probe's port inside the VM
	// that answers 200 on the probe's path alone. pilot-agent's HTTP probe
	// reaches it from 127.0.0.6, which istio-iptables leaves uncaptured
	// (pkg/istio-agent/health: NewHTTPProber). A tcp_socket probe would not
	// do here: it is captured to Envoy's inbound listener, which accepts
	// while Envoy runs (Istio's app-health-check docs), and the lab's
	// stand-in envoy serves no traffic.
	var app string // its PID inside the VM, while it runs
	start := func() {
		app = strings.TrimSpace(w.VMExec(vm, "sh", "-c", `setsid python3 -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
http.server.HTTPServer(("", 9080), H).serve_forever()
' </dev/null >/dev/null 2>&1 & echo $!`))
	}
	stop := func() {
		w.VMExec(vm, "kill", app)
		app = ""
	}
	t.Cleanup(func() {
		if app != "" {
			stop()
		}
	})

	// VMExec fails w's test, so this runs in TestProbe itself, not a
	// subtest.
	start()
	becomes("True")
	stop()
	becomes("False")
	start()
	becomes("True")
	w.Must(0, "plan", "-detailed-exitcode")
}
