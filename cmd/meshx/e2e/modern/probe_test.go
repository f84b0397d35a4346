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
// checked and keeps its Healthy condition from the agent's reports.
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
    tcp_socket { port = 9080 }
    period            = "2s"
    success_threshold = 1
    failure_threshold = 1
  }
`
	if err := os.WriteFile(file, []byte(strings.Replace(string(src), anchor, probe, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Must(0, "apply", "-auto-approve")
	want := map[string]any{"tcpSocket": map[string]any{"port": int64(9080)}, "periodSeconds": int64(2), "successThreshold": int64(1), "failureThreshold": int64(1)}

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

	t.Run("istiod health-checks the WorkloadEntry it registers", func(t *testing.T) {
		e2etest.Eventually(t, "istiod sets the Healthy condition of the VM's WorkloadEntry", 2*time.Minute, func() (bool, string) {
			list, err := dyn.Resource(workloadEntries).Namespace("bookinfo").List(c, metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, we := range list.Items {
				if a, _, _ := unstructured.NestedString(we.Object, "spec", "address"); a != vmIP {
					continue
				}
				if we.GetAnnotations()["proxy.istio.io/health-checks-enabled"] != "true" {
					return false, fmt.Sprintf("WorkloadEntry %s is not marked health checked: annotations %v", we.GetName(), we.GetAnnotations())
				}
				conds, _, _ := unstructured.NestedSlice(we.Object, "status", "conditions")
				for _, cd := range conds {
					m, _ := cd.(map[string]any)
					if m["type"] == "Healthy" {
						t.Logf("WorkloadEntry %s: Healthy %v: %v", we.GetName(), m["status"], m["message"])
						return true, ""
					}
				}
				return false, fmt.Sprintf("WorkloadEntry %s has no Healthy condition: %v", we.GetName(), conds)
			}
			return false, fmt.Sprintf("no WorkloadEntry with %s among %d", vmIP, len(list.Items))
		})
	})
	w.Must(0, "plan", "-detailed-exitcode")
}
