package multicluster

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
)

// TestMulticlusterExample applies examples/multicluster, unchanged, to the
// lab's two clusters with the values the lab writes (and the lab's CIDRs):
// the reader account in remote1, the control plane's remote secret whose
// kubeconfig may read remote1 but not write it, details registered in
// remote1, an empty second plan, and the outputs.
func TestMulticlusterExample(t *testing.T) {
	l := lab.Get(t)
	control, remote := l.Cluster("control"), l.Cluster("remote1")
	w := e2etest.Example(t, l, "multicluster", "-var-file="+l.ExamplesVars,
		"-var", "control_pod_cidr="+control.PodCIDR, "-var", "control_service_cidr="+control.ServiceCIDR,
		"-var", "remote1_pod_cidr="+remote.PodCIDR, "-var", "remote1_service_cidr="+remote.ServiceCIDR,
		"-no-color")
	run := w.Must

	apply := run(0, "apply", "-auto-approve")
	e2etest.Contains(t, "apply", apply.Stdout, "Apply complete!", `remote1_cluster_id = "remote1"`, `pilot_ilb = "`, `remotePilotAddress`, `remoteTelemetryAddress`)

	cs, rcs, c := w.Client("control"), w.Client("remote1"), t.Context()

	// The control plane's secret for remote1 (create-secret.sh).
	sec, err := cs.CoreV1().Secrets("istio-system").Get(c, "remote1", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Labels["istio/multiCluster"] != "true" || sec.Annotations["networking.istio.io/cluster"] != "remote1" {
		t.Errorf("remote secret labels %v annotations %v", sec.Labels, sec.Annotations)
	}
	if len(sec.Data) != 1 || len(sec.Data["remote1"]) == 0 {
		keys := []string{}
		for k := range sec.Data {
			keys = append(keys, k)
		}
		t.Fatalf("remote secret data keys %v, want [remote1]", keys)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(sec.Data["remote1"])
	if err != nil {
		t.Fatalf("the remote secret's kubeconfig: %v", err)
	}
	if rc.Host != remote.Server {
		t.Errorf("the remote secret's kubeconfig points at %s, want %s", rc.Host, remote.Server)
	}
	reader, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.CoreV1().Pods("").List(c, metav1.ListOptions{}); err != nil {
		t.Errorf("the reader cannot list pods in remote1: %v", err)
	}
	if _, err := reader.CoreV1().Services("").List(c, metav1.ListOptions{}); err != nil {
		t.Errorf("the reader cannot list services in remote1: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "meshx-reader-probe"}}
	if _, err := reader.CoreV1().ConfigMaps("default").Create(c, cm, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the reader creating a ConfigMap in remote1: %v, want Forbidden", err)
		_ = rcs.CoreV1().ConfigMaps("default").Delete(c, cm.Name, metav1.DeleteOptions{})
	}
	if _, err := cs.CoreV1().Pods("").List(c, metav1.ListOptions{}); err != nil {
		t.Fatalf("admin list in control: %v", err)
	}

	// generate-kubeconfig.sh's account and RBAC, in remote1 only.
	if _, err := rcs.CoreV1().ServiceAccounts("istio-system").Get(c, "istio-multi", e2etest.Get); err != nil {
		t.Errorf("ServiceAccount istio-multi in remote1: %v", err)
	}
	if _, err := rcs.RbacV1().ClusterRoles().Get(c, "istio-reader", e2etest.Get); err != nil {
		t.Errorf("ClusterRole istio-reader in remote1: %v", err)
	}
	if b, err := rcs.RbacV1().ClusterRoleBindings().Get(c, "istio-multi", e2etest.Get); err != nil {
		t.Errorf("ClusterRoleBinding istio-multi in remote1: %v", err)
	} else if b.RoleRef.Name != "istio-reader" || len(b.Subjects) != 1 || b.Subjects[0].Name != "istio-multi" || b.Subjects[0].Namespace != "istio-system" {
		t.Errorf("ClusterRoleBinding istio-multi = %+v %+v", b.RoleRef, b.Subjects)
	}
	if _, err := cs.CoreV1().ServiceAccounts("istio-system").Get(c, "istio-multi", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("ServiceAccount istio-multi in control: %v, want NotFound", err)
	}

	// details is registered in remote1, not in control.
	vmIP := l.VMs[0].Address
	if _, err := rcs.CoreV1().Services("bookinfo").Get(c, "details", e2etest.Get); err != nil {
		t.Errorf("Service details in remote1: %v", err)
	}
	if ep, err := rcs.CoreV1().Endpoints("bookinfo").Get(c, "details", e2etest.Get); err != nil {
		t.Errorf("Endpoints details in remote1: %v", err)
	} else if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != vmIP ||
		len(ep.Subsets[0].Ports) != 1 || ep.Subsets[0].Ports[0].Port != 9080 {
		t.Errorf("Endpoints details in remote1 = %+v, want %s:9080", ep.Subsets, vmIP)
	}
	if _, err := cs.CoreV1().Services("bookinfo").Get(c, "details", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("Service details in control: %v, want NotFound", err)
	}

	// The VM intercepts the control cluster's real service range.
	if got := w.VMExec(l.VMs[0].Name, "cat", "/var/lib/istio/envoy/cluster.env"); !strings.Contains(got, "ISTIO_SERVICE_CIDR="+control.ServiceCIDR+"\n") {
		t.Errorf("cluster.env:\n%s", got)
	}

	plan := run(0, "plan", "-detailed-exitcode")
	e2etest.Contains(t, "second plan", plan.Stdout, "No changes.")
	pilot, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get)
	if err != nil || len(pilot.Status.LoadBalancer.Ingress) == 0 {
		t.Fatalf("istio-pilot-ilb: %v %+v", err, pilot)
	}
	out := w.Must(0, "output")
	e2etest.Contains(t, "meshx output", out.Stdout, `remote1_cluster_id = "remote1"`, `pilot_ilb = "`+pilot.Status.LoadBalancer.Ingress[0].IP+`"`)
	if !strings.Contains(apply.Stdout, `pilot_ilb = "`+pilot.Status.LoadBalancer.Ingress[0].IP+`"`) {
		t.Errorf("apply printed another pilot_ilb than %s:\n%s", pilot.Status.LoadBalancer.Ingress[0].IP, apply.Stdout)
	}
}
