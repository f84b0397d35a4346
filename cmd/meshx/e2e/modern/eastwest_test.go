package modern

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/lab"
)

var (
	gateways        = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "gateways"}
	virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
)

// istioSample returns the objects of a file of the lab's Istio module
// (samples/multicluster/expose-istiod.yaml), by kind.
func istioSample(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	root, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", "istio.io/istio@"+lab.IstioVersion)
	cmd.Dir = filepath.Join(root, "lab", "istiotools")
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var mod struct{ Dir string }
	if err != nil || json.Unmarshal(out, &mod) != nil || mod.Dir == "" {
		t.Fatalf("the lab's Istio module: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(mod.Dir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]any{}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		objs[o["kind"].(string)] = o
	}
	return objs
}

// istiodConfig returns the spec istiod holds for the Istio config object
// kind namespace/name (its /debug/configz), or why there is none.
func istiodConfig(debugURL, kind, namespace, name string) (map[string]any, string) {
	resp, err := http.Get(debugURL + "/debug/configz")
	if err != nil {
		return nil, err.Error()
	}
	defer resp.Body.Close()
	var configs []struct {
		Kind     string            `json:"kind"`
		Metadata metav1.ObjectMeta `json:"metadata"`
		Spec     map[string]any    `json:"spec"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&configs); err != nil {
		return nil, "configz: " + err.Error()
	}
	for _, c := range configs {
		if c.Kind == kind && c.Metadata.Namespace == namespace && c.Metadata.Name == name {
			return c.Spec, ""
		}
	}
	return nil, fmt.Sprintf("none of istiod's %d configs is %s %s/%s", len(configs), kind, namespace, name)
}

// numbersAsJSON makes the numbers of v float64s, as JSON decodes them, so
// YAML, the API server and istiod's configz compare.
func numbersAsJSON(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// listAt returns the list under key of the map v, or nil.
func listAt(v any, key string) []any {
	m, _ := v.(map[string]any)
	l, _ := m[key].([]any)
	return l
}

// TestEastWest applies examples/vm-modern with istiod_exposure =
// "eastwest": without the gateway the plan stops at the attribute; with
// it, meshx writes the Gateway and VirtualService of Istio's
// expose-istiod.yaml (the Gateway selecting what the gateway Service
// selects), istiod accepts them, the VM's /etc/hosts sends
// istiod's name to the gateway, and the real pilot-agent gets its
// workload certificate through it; destroy removes what meshx wrote and
// leaves the gateway.
func TestEastWest(t *testing.T) {
	l, w, dyn := vmModern(t, "-var", "istiod_exposure=eastwest")
	vm := l.VMs[0].Name
	c := t.Context()
	cs := w.Client("control")

	t.Run("without the gateway the plan stops at istiod_exposure", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join(w.Dir, "main.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		line := 0
		for i, s := range strings.Split(string(src), "\n") {
			if strings.Contains(s, "istiod_exposure = var.istiod_exposure") {
				line = i + 1
			}
		}
		plan := w.Must(1, "plan")
		e2etest.Contains(t, "plan", plan.Stderr, "Referenced object does not exist", "istio-system/istio-eastwestgateway",
			"main.hcl line "+strconv.Itoa(line), "gen-eastwest-gateway.sh")
	})

	gw := e2etest.EastWestGateway(t, l)
	// Its installers select the gateway's pods by all of its labels, not
	// by the sample Gateway's istio: eastwestgateway alone: the Gateway
	// meshx writes must select what the Service selects.
	gw.Spec.Selector = map[string]string{"istio": "eastwestgateway", "app": "istio-eastwestgateway"}
	if _, err := cs.CoreV1().Services("istio-system").Update(c, gw, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A certificate an earlier agent left in its output directory is not
	// one this apply's agent obtained.
	before, _ := workloadCert(w, vm)
	start := time.Now()
	apply := w.Must(0, "apply", "-auto-approve")
	e2etest.Contains(t, "apply", apply.Stdout, "Apply complete!")
	t.Logf("apply: %s", time.Since(start).Round(100*time.Millisecond))

	gw, err := cs.CoreV1().Services("istio-system").Get(c, gw.Name, e2etest.Get)
	if err != nil || len(gw.Status.LoadBalancer.Ingress) == 0 {
		t.Fatalf("the gateway has no address: %v", err)
	}
	gwIP := gw.Status.LoadBalancer.Ingress[0].IP

	t.Run("the agent gets its certificate through the gateway", func(t *testing.T) {
		if _, err := cs.CoreV1().Services("istio-system").Get(c, "istiod-ilb", e2etest.Get); !apierrors.IsNotFound(err) {
			t.Errorf("istiod-ilb exists: %v", err)
		}
		line := gwIP + " istiod.istio-system.svc"
		if n := strings.TrimSpace(w.VMExec(vm, "grep", "-cxF", line, "/etc/hosts")); n != "1" {
			t.Errorf("/etc/hosts has %q %s times, want once", line, n)
		}
		waitCert(t, w, vm, spiffe, before)
	})

	t.Run("istiod accepted expose-istiod.yaml's Gateway and VirtualService", func(t *testing.T) {
		sample := istioSample(t, "samples/multicluster/expose-istiod.yaml")
		// The sample's, but the Gateway selects the pods the gateway
		// Service selects, where the sample has istio: eastwestgateway.
		sampleSpec := func(kind string) any {
			spec := numbersAsJSON(t, sample[kind]["spec"])
			if kind == "Gateway" {
				spec.(map[string]any)["selector"] = numbersAsJSON(t, gw.Spec.Selector)
			}
			return spec
		}
		for _, o := range []struct {
			kind, name string
			res        schema.GroupVersionResource
		}{{"Gateway", istio.IstiodGatewayName, gateways}, {"VirtualService", istio.IstiodVirtualServiceName, virtualServices}} {
			want := sampleSpec(o.kind)
			live, err := dyn.Resource(o.res).Namespace("istio-system").Get(c, o.name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			spec, _, _ := unstructured.NestedMap(live.Object, "spec")
			if diff := cmp.Diff(want, numbersAsJSON(t, spec)); diff != "" {
				t.Errorf("%s %s (-expose-istiod.yaml +applied):\n%s", o.kind, o.name, diff)
			}
			// istiod's configz prints its protobufs as JSON, which leaves
			// out enum zero values: PASSTHROUGH is ServerTLSSettings mode 0.
			held := sampleSpec(o.kind)
			for _, s := range listAt(held, "servers") {
				if tls, ok := s.(map[string]any)["tls"].(map[string]any); ok && tls["mode"] == "PASSTHROUGH" {
					delete(tls, "mode")
				}
			}
			e2etest.Eventually(t, "istiod holds "+o.kind+" "+o.name, time.Minute, func() (bool, string) {
				got, why := istiodConfig(l.Istio.DebugURL, o.kind, "istio-system", o.name)
				if got == nil {
					return false, why
				}
				diff := cmp.Diff(held, numbersAsJSON(t, got))
				return diff == "", "(-expose-istiod.yaml +istiod):\n" + diff
			})
		}
	})

	w.Must(0, "plan", "-detailed-exitcode")

	t.Run("destroy removes the Gateway and VirtualService and leaves the gateway", func(t *testing.T) {
		w.Must(0, "destroy", "-auto-approve")
		for name, res := range map[string]schema.GroupVersionResource{istio.IstiodGatewayName: gateways, istio.IstiodVirtualServiceName: virtualServices} {
			if _, err := dyn.Resource(res).Namespace("istio-system").Get(c, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s left: %v", name, err)
			}
		}
		after, err := cs.CoreV1().Services("istio-system").Get(c, gw.Name, e2etest.Get)
		if err != nil {
			t.Fatalf("the gateway Service is gone: %v", err)
		}
		if after.ResourceVersion != gw.ResourceVersion {
			t.Errorf("the gateway Service changed: resourceVersion %s, was %s", after.ResourceVersion, gw.ResourceVersion)
		}
	})
}
