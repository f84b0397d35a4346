package review

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// TestSavedPlanStaleKubeObject: a saved plan that adds service ratings is
// refused (exit 4, nothing applied) once someone edited the details
// Service by hand after the plan was made; a fresh plan applies.
func TestSavedPlanStaleKubeObject(t *testing.T) {
	w := e2etest.Details(t, "stale-kube")
	w.Must(0, "apply", "-auto-approve", "-no-color")

	w.Services = append(w.Services, e2etest.Svc{Name: "ratings", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9081}})
	w.Write()
	p := w.Must(0, "plan", "-out=review.mxplan", "-no-color")
	e2etest.Contains(t, "plan", p.Stdout, "service.ratings.service will be created", "Saved the plan to: review.mxplan")

	cs, c := w.Client("control"), t.Context()
	s, err := cs.CoreV1().Services(w.Namespace).Get(c, "details", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Ports[0].Port = 9999
	if _, err := cs.CoreV1().Services(w.Namespace).Update(c, s, e2etest.Update); err != nil {
		t.Fatal(err)
	}

	r := w.Must(4, "apply", "-no-color", "review.mxplan")
	e2etest.Contains(t, "stale apply stderr", r.Stderr, "Saved plan is stale", "service.details.service", "Nothing was applied")
	if strings.Contains(r.Stdout, "Apply complete") {
		t.Errorf("stale apply claims to have applied:\n%s", r)
	}
	if _, err := cs.CoreV1().Services(w.Namespace).Get(c, "ratings", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("the stale plan created service ratings (get: %v)", err)
	}
	if s, err := cs.CoreV1().Services(w.Namespace).Get(c, "details", e2etest.Get); err != nil || s.Spec.Ports[0].Port != 9999 {
		t.Errorf("the stale plan touched service details: %v %+v", err, s.Spec.Ports)
	}

	p = w.Must(0, "plan", "-out=review.mxplan", "-no-color")
	e2etest.Contains(t, "re-plan", p.Stdout, "service.details.service", "9999", "service.ratings.service will be created")
	w.Must(0, "apply", "-no-color", "review.mxplan")
	if s, err := cs.CoreV1().Services(w.Namespace).Get(c, "details", e2etest.Get); err != nil || s.Spec.Ports[0].Port != 9080 {
		t.Errorf("details not repaired: %v %+v", err, s.Spec.Ports)
	}
	if _, err := cs.CoreV1().Services(w.Namespace).Get(c, "ratings", e2etest.Get); err != nil {
		t.Errorf("ratings not created: %v", err)
	}
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")
}

// TestSavedPlanStaleVMFile: a saved plan that adds a port to details is
// refused once a managed VM file was edited by hand after the plan.
func TestSavedPlanStaleVMFile(t *testing.T) {
	w := e2etest.Details(t, "stale-vm")
	w.Must(0, "apply", "-auto-approve", "-no-color")

	w.Services[0].Ports["grpc"] = 9090
	w.Write()
	p := w.Must(0, "plan", "-out=review.mxplan", "-no-color")
	e2etest.Contains(t, "plan", p.Stdout, "service.details.service will be updated in-place")
	if strings.Contains(p.Stdout, "kubedns") {
		t.Fatalf("the plan already changes kubedns, so the test proves nothing:\n%s", p.Stdout)
	}

	w.VMExec("vm1", "sh", "-c", "echo 'address=/evil/6.6.6.6' >> /etc/dnsmasq.d/kubedns")
	r := w.Must(4, "apply", "-no-color", "review.mxplan")
	e2etest.Contains(t, "stale apply stderr", r.Stderr, "Saved plan is stale", `vm.vm1.file["/etc/dnsmasq.d/kubedns"]`)

	cs, c := w.Client("control"), t.Context()
	if s, err := cs.CoreV1().Services(w.Namespace).Get(c, "details", e2etest.Get); err != nil || len(s.Spec.Ports) != 1 {
		t.Errorf("the stale plan changed service details: %v %+v", err, s.Spec.Ports)
	}
	if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env"); strings.Contains(got, "9090") {
		t.Errorf("the stale plan changed sidecar.env:\n%s", got)
	}
	if got := w.VMExec("vm1", "cat", "/etc/dnsmasq.d/kubedns"); !strings.Contains(got, "evil") {
		t.Errorf("the stale plan rewrote kubedns:\n%s", got)
	}

	w.Must(0, "plan", "-out=review.mxplan", "-no-color")
	w.Must(0, "apply", "-no-color", "review.mxplan")
	if got := w.VMExec("vm1", "cat", "/etc/dnsmasq.d/kubedns"); strings.Contains(got, "evil") {
		t.Errorf("kubedns not repaired:\n%s", got)
	}
	if got := w.VMExec("vm1", "cat", "/var/lib/istio/envoy/sidecar.env"); !strings.Contains(got, "\nISTIO_INBOUND_PORTS=9080,9090\n") {
		t.Errorf("sidecar.env lacks the new port:\n%s", got)
	}
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")
}

// TestSavedPlanOtherConfig: a plan file made before the configuration was
// edited is refused without looking at any cluster.
func TestSavedPlanOtherConfig(t *testing.T) {
	w := e2etest.Details(t, "other-config")
	w.Must(0, "plan", "-out=review.mxplan", "-no-color")
	w.Services = append(w.Services, e2etest.Svc{Name: "ratings", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9081}})
	w.Write()

	r := w.Must(4, "apply", "-no-color", "review.mxplan")
	e2etest.Contains(t, "apply stderr", r.Stderr, "does not match the configuration", "review.mxplan")
	cs, c := w.Client("control"), t.Context()
	if _, err := cs.CoreV1().Namespaces().Get(c, w.Namespace, e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s exists after a refused plan (get: %v)", w.Namespace, err)
	}
	if _, err := os.Stat(filepath.Join(w.Dir, "review.mxplan")); err != nil {
		t.Errorf("the refused plan file is gone: %v", err)
	}

	w.Must(0, "plan", "-out=review.mxplan", "-no-color")
	w.Must(0, "apply", "-no-color", "review.mxplan")
	if _, err := cs.CoreV1().Services(w.Namespace).Get(c, "ratings", e2etest.Get); err != nil {
		t.Errorf("ratings not created: %v", err)
	}
}
