package failures

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// TestUnownedObjectInTheWay: a Service meshx would create already exists,
// made by hand. Plan and apply refuse, say how to adopt it, and touch
// nothing; with -adopt, apply takes it over and labels it.
func TestUnownedObjectInTheWay(t *testing.T) {
	w := e2etest.New(t, "unowned")
	w.VMs = []string{"vm1"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	w.Write()

	cs, c := w.Client("control"), t.Context()
	if _, err := cs.CoreV1().Namespaces().Create(c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.Namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after destroy: meshx does not own the namespace
		if err := cs.CoreV1().Namespaces().Delete(context.Background(), w.Namespace, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace: %v", err)
		}
	})
	w.DestroyOnCleanup()
	mine, err := cs.CoreV1().Services(w.Namespace).Create(c, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "details", Labels: map[string]string{"team": "bookinfo"}},
		// Selector-less, as istioctl register left it.
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9080, TargetPort: intstr.FromInt32(9080)}}},
	}, metav1.CreateOptions{FieldManager: "kubectl-create"})
	if err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"plan", "-no-color"},
		{"apply", "-auto-approve", "-no-color"},
	} {
		r := w.Must(1, args...)
		e2etest.Contains(t, args[0], all(r),
			"Object exists and is not managed by this environment",
			"service.details.service already exists",
			`field manager "kubectl-create"`,
			"set adopt = true on the block (or pass -adopt)",
		)
		got, err := cs.CoreV1().Services(w.Namespace).Get(c, "details", e2etest.Get)
		if err != nil {
			t.Fatal(err)
		}
		if got.ResourceVersion != mine.ResourceVersion {
			t.Errorf("%s changed the unowned Service (resourceVersion %s -> %s)", args[0], mine.ResourceVersion, got.ResourceVersion)
		}
		noILBs(t, w)
		if _, err := cs.CoreV1().Endpoints(w.Namespace).Get(c, "details", e2etest.Get); err == nil {
			t.Errorf("%s created the details Endpoints", args[0])
		}
		vmPathsAbsent(t, w, "vm1", "/var/lib/meshx/unowned.json", "/etc/dnsmasq.d/kubedns")
	}

	r := w.Must(0, "apply", "-adopt", "-auto-approve", "-no-color")
	e2etest.Contains(t, "adopting apply", r.Stdout, "service.details.service", "Apply complete!")
	got, err := cs.CoreV1().Services(w.Namespace).Get(c, "details", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["app.kubernetes.io/managed-by"] != "meshx" || got.Labels["meshx.dev/environment"] != "unowned" {
		t.Errorf("adopted Service labels = %v, want meshx's", got.Labels)
	}
	if got.UID != mine.UID {
		t.Error("the Service was replaced, not adopted")
	}
	if got.Annotations["alpha.istio.io/kubernetes-serviceaccounts"] != "default" {
		t.Errorf("adopted Service annotations = %v", got.Annotations)
	}
	// Owned now: a plan without -adopt is empty.
	w.Must(0, "plan", "-detailed-exitcode", "-no-color")
}
