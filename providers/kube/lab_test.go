package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

func svcAddr(name, typ string) plans.Address {
	return plans.Address{Block: "service", Name: name, Type: typ}
}

// vmService is what the planner declares for a service on VMs.
func vmService(cluster, ns, name string, ips []string, ports []Port) []providers.Resource {
	return []providers.Resource{
		Namespace(cluster, ns),
		Service(svcAddr(name, "service"), cluster, ns, name, ports, map[string]string{"app": name},
			map[string]string{ServiceAccountsAnnotation: "default"}),
		Endpoints(svcAddr(name, "endpoints"), cluster, ns, name, ips, ports, map[string]string{"app": name}),
	}
}

func pilotILB(cluster, ns string, wait time.Duration) providers.Resource {
	return LoadBalancer(cluster, "istio-pilot-ilb", LoadBalancerOptions{
		Namespace:   ns,
		Name:        "istio-pilot-ilb",
		Ports:       []Port{{Name: "https-pilot", Port: 15005}, {Name: "http-pilot", Port: 8080}, {Name: "grpc-pilot", Port: 15010}, {Name: "tls-grpc-pilot", Port: 15011}},
		Selector:    map[string]string{"istio": "pilot"},
		Annotations: map[string]string{"cloud.google.com/load-balancer-type": "Internal"},
		Wait:        wait,
	})
}

// assertNoChanges plans rs again and fails on any change: the "second plan
// after apply is empty" property.
func assertNoChanges(t *testing.T, w *world, rs []providers.Resource) []step {
	t.Helper()
	steps := w.plan(rs)
	if c := changes(steps); len(c) > 0 {
		for _, s := range steps {
			for _, k := range s.diff {
				t.Logf("%s.%s: rendered %#v, observed %#v", s.r.Addr, k, s.rendered[k], s.obs.Object[k])
			}
		}
		t.Fatalf("second plan is not empty: %v", c)
	}
	for _, s := range steps {
		if s.obs.Drift {
			t.Errorf("%s: drift reported right after apply", s.r.Addr)
		}
		if !s.obs.Owned && !s.r.UseExisting {
			t.Errorf("%s: not owned after apply (owner %q)", s.r.Addr, s.obs.Owner)
		}
	}
	return steps
}

func TestLoadBalancerAddress(t *testing.T) {
	l := lab.Get(t)
	ctx := context.Background()
	p := providerFor(t, l, "control")
	for _, mode := range []string{"ip", "hostname"} {
		t.Run(mode, func(t *testing.T) {
			if err := l.SetLBMode(ctx, "control", mode); err != nil {
				t.Fatal(err)
			}
			w := newWorld(t, env(t), p)
			ns := env(t)
			rs := []providers.Resource{Namespace("control", ns), pilotILB("control", ns, time.Minute)}
			t.Cleanup(w.destroy)
			w.apply(rs)
			out := w.outputs[rs[1].Addr]
			switch mode {
			case "ip":
				if out["ip"] == "" || out["address"] != out["ip"] || out["hostname"] != "" {
					t.Errorf("outputs = %v, want an ip as the address", out)
				}
			case "hostname":
				if out["hostname"] == "" || out["address"] != out["hostname"] || out["ip"] != "" {
					t.Errorf("outputs = %v, want a hostname as the address", out)
				}
			}
			steps := assertNoChanges(t, w, rs)
			if diff := cmp.Diff(map[string]any(out), map[string]any(steps[1].obs.Outputs)); diff != "" {
				t.Errorf("Observe outputs differ from Apply's (-apply +observe):\n%s", diff)
			}
			// A port change keeps the address and needs no new wait.
			changed := LoadBalancer("control", "istio-pilot-ilb", LoadBalancerOptions{
				Namespace:   ns,
				Name:        "istio-pilot-ilb",
				Ports:       []Port{{Name: "https-pilot", Port: 15005}},
				Selector:    map[string]string{"istio": "pilot"},
				Annotations: map[string]string{"cloud.google.com/load-balancer-type": "Internal"},
				Wait:        time.Minute,
			})
			rs2 := []providers.Resource{rs[0], changed}
			steps = w.apply(rs2)
			if got := changes(steps); len(got) != 1 || !strings.Contains(got[0], "update [ports]") {
				t.Errorf("port removal planned %v, want one update of ports", got)
			}
			assertNoChanges(t, w, rs2)
			if w.outputs[rs[1].Addr]["address"] != out["address"] {
				t.Errorf("address changed on a port update: %v → %v", out["address"], w.outputs[rs[1].Addr]["address"])
			}
		})
	}
}

func TestLoadBalancerTimeout(t *testing.T) {
	l := lab.Get(t)
	ctx := context.Background()
	if err := l.SetLBMode(ctx, "control", "never"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.SetLBMode(ctx, "control", "ip") })
	p := providerFor(t, l, "control")
	p.progressEvery = 500 * time.Millisecond
	w := newWorld(t, env(t), p)
	t.Cleanup(w.destroy)
	ns := env(t)
	w.apply([]providers.Resource{Namespace("control", ns)})
	ilb := pilotILB("control", ns, 2*time.Second)
	steps := w.plan([]providers.Resource{ilb})
	resp := w.applyOne(steps[0])
	if resp.Err == nil {
		t.Fatal("apply succeeded without a load-balancer address")
	}
	msg := resp.Err.Error()
	for _, want := range []string{`cluster.control.ilb["istio-pilot-ilb"]`, "Service " + ns + "/istio-pilot-ilb", "after 2s",
		"load-balancer controller", "kubectl -n " + ns + " describe svc istio-pilot-ilb"} {
		if !strings.Contains(msg, want) {
			t.Errorf("timeout error %q does not contain %q", msg, want)
		}
	}
	if len(w.progress) == 0 || !strings.Contains(w.progress[0], "elapsed") || !strings.Contains(w.progress[0], ns+"/istio-pilot-ilb") {
		t.Errorf("progress = %q, want messages with the service and the elapsed time", w.progress)
	}
	// No address yet: Observe gives no outputs, so dependants stay unknown.
	obs, _ := w.observe([]providers.Resource{ilb})
	if o := obs[ilb.Addr]; !o.Exists || len(o.Outputs) != 0 {
		t.Errorf("observed %+v, want an existing service without outputs", o)
	}
}

// TestSecondPlanEmpty applies one instance of every kind and checks that
// planning again changes nothing, that Observe returns the outputs, and
// that a second Apply changes nothing.
func TestSecondPlanEmpty(t *testing.T) {
	l := lab.Get(t)
	ps := providersFor(t, l, "control", "remote1")
	control, remote := ps[0], ps[1]
	w := newWorld(t, env(t), control, remote)
	ns := env(t)
	istioNS := ns + "-istio"
	t.Cleanup(w.destroy)
	cs := l.Clientset(t, "control")
	// The Istio namespace of the control cluster is Istio's, not meshx's.
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Namespaces().Delete(context.Background(), istioNS, metav1.DeleteOptions{}) })

	rs := []providers.Resource{Namespace("control", istioNS), pilotILB("control", istioNS, time.Minute), ClusterInfo("control")}
	rs = append(rs, vmService("control", ns, "details", []string{"10.251.0.12", "10.251.0.11"}, []Port{{Name: "http", Port: 9080}})...)
	rs = append(rs, Remote("control", "remote1", RemoteOptions{Namespace: istioNS, ClusterID: "remote1"})...)
	rs = append(rs, IstioSecret("control", ns, "default"))
	first := w.apply(rs)
	for _, s := range first {
		if s.r.Addr.Type == "namespace" && s.r.Addr.Key == istioNS && s.r.Target == "cluster.control" && s.action != plans.NoOp {
			t.Errorf("an existing namespace someone else created planned %s", s.action)
		}
	}
	steps := assertNoChanges(t, w, rs)
	byAddr := map[plans.Address]step{}
	for _, s := range steps {
		byAddr[s.r.Addr] = s
	}
	c := l.Cluster("control")
	info := byAddr[ClusterInfo("control").Addr].obs.Outputs
	if info["service_cidr"] != c.ServiceCIDR || info["server"] != c.Server {
		t.Errorf("cluster info = %v, want service_cidr %s and server %s", info, c.ServiceCIDR, c.Server)
	}
	reader := byAddr[ReaderAddress("remote1")].obs.Outputs
	if _, ok := reader["token"].(plans.Sensitive); !ok || reader["server"] != l.Cluster("remote1").Server || reader["ca"] == nil {
		t.Errorf("reader outputs at plan time = %v, want server, ca and a sensitive token", reader)
	}
	is := byAddr[IstioSecret("control", ns, "default").Addr].obs
	if _, ok := is.Outputs["key.pem"].(plans.Sensitive); !ok || !strings.Contains(fmt.Sprint(is.Outputs["root-cert.pem"]), "BEGIN CERTIFICATE") {
		t.Errorf("istio secret outputs = %v", is.Outputs)
	}
	// Applying again modifies nothing.
	for _, s := range steps {
		if s.r.ReadOnly || (s.r.UseExisting && !s.obs.Owned) {
			continue
		}
		s.action = plans.Update
		if resp := w.applyOne(s); resp.Err != nil || resp.Changed {
			t.Errorf("%s: second apply: changed=%v err=%v", s.r.Addr, resp.Changed, resp.Err)
		}
	}
	// The existing namespace was used, not taken.
	got, err := cs.CoreV1().Namespaces().Get(context.Background(), istioNS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Labels[LabelManagedBy]; ok {
		t.Errorf("meshx labelled a namespace it did not create: %v", got.Labels)
	}
}

func TestEndpointsMirroredToSlices(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	w := newWorld(t, env(t), p)
	t.Cleanup(w.destroy)
	ns := env(t)
	w.apply(vmService("control", ns, "mysqldb", []string{"10.251.0.20"}, []Port{{Name: "mysql", Port: 3306}}))
	cs := l.Clientset(t, "control")
	waitFor(t, "a mirrored EndpointSlice", 30*time.Second, func() bool {
		l, err := cs.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=mysqldb"})
		return err == nil && len(l.Items) == 1 && len(l.Items[0].Endpoints) == 1 && l.Items[0].Endpoints[0].Addresses[0] == "10.251.0.20"
	})
}

func TestDriftAfterHandEdit(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	w := newWorld(t, env(t), p)
	t.Cleanup(w.destroy)
	ns := env(t)
	rs := vmService("control", ns, "details", []string{"10.251.0.11"}, []Port{{Name: "http", Port: 9080}})
	w.apply(rs)
	cs := l.Clientset(t, "control")
	ctx := context.Background()
	// kubectl edit: change the port number.
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "details", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Ports[0].Port = 9081
	if _, err := cs.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	steps := w.plan(rs)
	s := steps[1]
	if !s.obs.Drift {
		t.Error("hand-edited Service: Drift not reported")
	}
	if s.action != plans.Update || !cmp.Equal(s.diff, []string{"ports"}) {
		t.Errorf("hand-edited Service planned %s %v, want update [ports]", s.action, s.diff)
	}
	if steps[2].obs.Drift || steps[2].action != plans.NoOp {
		t.Errorf("untouched Endpoints: drift=%v action=%s", steps[2].obs.Drift, steps[2].action)
	}
	// The renumbered port is kubectl-edit's, so server-side apply cannot
	// remove it: a change that is not a reviewed drift repair says so.
	resp := w.applyOne(s)
	if resp.Err == nil || !strings.Contains(resp.Err.Error(), `9081/TCP "http" (field manager "kubectl-edit")`) || !strings.Contains(resp.Err.Error(), "-force-conflicts") {
		t.Fatalf("repairing a renumbered port without force: err = %v", resp.Err)
	}
	// The planner marks the change as repairing drift (the plan showed it):
	// applying it takes meshx's fields back without -force-conflicts.
	if resp := w.applyDriftRepair(s); resp.Err != nil {
		t.Fatalf("reviewed drift repair: %v", resp.Err)
	}
	assertNoChanges(t, w, rs)

	// kubectl edit of the endpoints (an atomic list): drift, and repairing it
	// conflicts with kubectl-edit unless forced.
	ep, err := cs.CoreV1().Endpoints(ns).Get(ctx, "details", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep.Subsets[0].Addresses[0].IP = "10.251.0.99"
	if _, err := cs.CoreV1().Endpoints(ns).Update(ctx, ep, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	steps = w.plan(rs)
	if !steps[2].obs.Drift || !cmp.Equal(steps[2].diff, []string{"subsets"}) {
		t.Fatalf("hand-edited Endpoints: drift=%v diff=%v", steps[2].obs.Drift, steps[2].diff)
	}
	resp = w.applyOne(steps[2])
	if resp.Err == nil || !strings.Contains(resp.Err.Error(), `field manager "kubectl-edit" owns .subsets`) {
		t.Fatalf("repairing a hand edit: err = %v, want a conflict naming kubectl-edit and .subsets", resp.Err)
	}
	forced := steps[2]
	forced.r.Settings.ForceConflicts = true
	if resp := w.applyOne(forced); resp.Err != nil {
		t.Fatal(resp.Err)
	}
	assertNoChanges(t, w, rs)
}

func TestUnownedObjects(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	w := newWorld(t, env(t), p)
	t.Cleanup(w.destroy)
	ns := env(t)
	cs := l.Clientset(t, "control")
	ctx := context.Background()
	w.apply([]providers.Resource{Namespace("control", ns)})
	// Someone ran kubectl create service.
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "details"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9080}}},
	}, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatal(err)
	}
	// Another environment owns a second one.
	other := newWorld(t, "other-env", p)
	t.Cleanup(other.destroy)
	other.apply([]providers.Resource{Service(svcAddr("ratings", "service"), "control", ns, "ratings", []Port{{Name: "http", Port: 9080}}, nil, nil)})

	details := Service(svcAddr("details", "service"), "control", ns, "details", []Port{{Name: "http", Port: 9080}}, nil, nil)
	ratings := Service(svcAddr("ratings", "service"), "control", ns, "ratings", []Port{{Name: "http", Port: 9080}}, nil, nil)
	steps := w.plan([]providers.Resource{details, ratings})
	tests := []struct {
		s     step
		owner string
	}{
		{steps[0], `field manager "kubectl-create"`},
		{steps[1], `meshx environment "other-env"`},
	}
	for _, tt := range tests {
		o := tt.s.obs
		if !o.Exists || o.Owned || o.Owner != tt.owner {
			t.Errorf("%s: exists=%v owned=%v owner=%q, want an unowned object of %s", tt.s.r.Addr, o.Exists, o.Owned, o.Owner, tt.owner)
		}
		tt.s.action = plans.Update // what an adopt-less apply would try
		resp := w.applyOne(tt.s)
		if resp.Err == nil || !strings.Contains(resp.Err.Error(), "not managed by meshx environment") || !strings.Contains(resp.Err.Error(), tt.owner) {
			t.Errorf("%s: apply without adopt: err = %v, want a refusal naming %s", tt.s.r.Addr, resp.Err, tt.owner)
		}
	}
	// Nothing was modified.
	got, err := cs.CoreV1().Services(ns).Get(ctx, "details", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Labels) != 0 {
		t.Errorf("refused apply still labelled the object: %v", got.Labels)
	}
	// With adopt, meshx takes it over.
	adopt := steps[0]
	adopt.r.Settings.Adopt = true
	adopt.action = plans.Update
	if resp := w.applyOne(adopt); resp.Err != nil {
		t.Fatal(resp.Err)
	}
	assertNoChanges(t, w, []providers.Resource{details})
}

// TestApplyAssertsWhatThePlanSaw: Services and Endpoints are written
// without reading them again, asserting what the plan saw; whatever
// happened to them since the plan is then found by the write itself and
// handled as a read before it would have been (issue 9's ownership rules).
func TestApplyAssertsWhatThePlanSaw(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	ns := env(t)
	w := newWorld(t, ns, p)
	t.Cleanup(w.destroy)
	other := newWorld(t, "other-"+ns, p)
	t.Cleanup(other.destroy)
	cs := l.Clientset(t, "control")
	ctx := context.Background()
	w.apply([]providers.Resource{Namespace("control", ns)})
	http := []Port{{Name: "http", Port: 9080}}
	svc := func(name string, ports []Port) providers.Resource {
		return Service(svcAddr(name, "service"), "control", ns, name, ports, nil, nil)
	}
	labelsOf := func(name string) map[string]string {
		t.Helper()
		got, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Labels
	}

	// Planned as a create; another environment (the same field manager,
	// so server-side apply would not conflict) makes it first.
	planned := w.plan([]providers.Resource{svc("details", http)})[0]
	if planned.action != plans.Create {
		t.Fatalf("details: %s, want create", planned.action)
	}
	other.apply([]providers.Resource{svc("details", http)})
	resp := w.applyOne(planned)
	if resp.Err == nil || !strings.Contains(resp.Err.Error(), `not managed by meshx environment`) || !strings.Contains(resp.Err.Error(), `"other-`+ns+`"`) {
		t.Errorf("create of a Service made since the plan: err = %v, want a refusal naming the other environment", resp.Err)
	}
	if got := labelsOf("details")[LabelEnvironment]; got != "other-"+ns {
		t.Errorf("details now belongs to environment %q, want it left to other-%s", got, ns)
	}

	// Planned as an update of this environment's Service; edited by hand
	// since: the apply reads it again, finds it still this
	// environment's, and applies.
	w.apply([]providers.Resource{svc("ratings", http)})
	both := []Port{{Name: "http", Port: 9080}, {Name: "grpc", Port: 9090}}
	planned = w.plan([]providers.Resource{svc("ratings", both)})[0]
	if planned.action != plans.Update {
		t.Fatalf("ratings: %s, want update", planned.action)
	}
	if _, err := cs.CoreV1().Services(ns).Apply(ctx, corev1ac.Service("ratings", ns).WithLabels(map[string]string{"team": "ratings"}),
		metav1.ApplyOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	if resp := w.applyOne(planned); resp.Err != nil || !resp.Changed {
		t.Fatalf("update of a Service edited since the plan: changed=%v err=%v, want applied", resp.Changed, resp.Err)
	}
	if l := labelsOf("ratings"); l["team"] != "ratings" || l[LabelEnvironment] != ns {
		t.Errorf("ratings labels after the apply: %v, want the hand-added one and this environment's", l)
	}
	assertNoChanges(t, w, []providers.Resource{Namespace("control", ns), svc("ratings", both)})

	// Planned as an update; given to another environment since: refused,
	// and left as it is.
	planned = w.plan([]providers.Resource{svc("ratings", http)})[0]
	if _, err := cs.CoreV1().Services(ns).Apply(ctx, corev1ac.Service("ratings", ns).WithLabels(map[string]string{LabelEnvironment: "other-" + ns}),
		metav1.ApplyOptions{FieldManager: "kubectl", Force: true}); err != nil {
		t.Fatal(err)
	}
	resp = w.applyOne(planned)
	if resp.Err == nil || !strings.Contains(resp.Err.Error(), `not managed by meshx environment`) {
		t.Errorf("update of a Service given away since the plan: err = %v, want a refusal", resp.Err)
	}
	if got, err := cs.CoreV1().Services(ns).Get(ctx, "ratings", metav1.GetOptions{}); err != nil || len(got.Spec.Ports) != 2 {
		t.Errorf("the refused update changed ratings: %v %+v", err, got.Spec.Ports)
	}
}

func TestOrphans(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	w := newWorld(t, env(t), p)
	t.Cleanup(w.destroy)
	ns := env(t)
	keep := vmService("control", ns, "details", []string{"10.251.0.11"}, []Port{{Name: "http", Port: 9080}})
	gone := vmService("control", ns, "mysqldb", []string{"10.251.0.11"}, []Port{{Name: "mysql", Port: 3306}})[1:]
	w.apply(append(append([]providers.Resource{}, keep...), gone...))
	// Another environment's objects are never orphans of this one.
	other := newWorld(t, "other-env2", p)
	t.Cleanup(other.destroy)
	other.apply([]providers.Resource{Service(svcAddr("ratings", "service"), "control", ns, "ratings", []Port{{Name: "http", Port: 9080}}, nil, nil)})

	_, orphans := w.observe(keep)
	var got []string
	for _, o := range orphans {
		got = append(got, fmt.Sprintf("%s %s %s", o.Addr, o.Kind, o.Details["objects"]))
		if !o.Owned || !o.Exists || o.Object["name"] != "mysqldb" {
			t.Errorf("orphan %s: %+v", o.Addr, o)
		}
	}
	want := []string{
		"service.mysqldb.endpoints kube_endpoints endpoints/" + ns + "/mysqldb",
		"service.mysqldb.service kube_service services/" + ns + "/mysqldb",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("orphans (-want +got):\n%s", diff)
	}
	for _, o := range orphans {
		resp := p.Apply(context.Background(), providers.ApplyRequest{Environment: w.env, Change: plans.Change{Addr: o.Addr, Action: plans.Delete}, Observed: o})
		if resp.Err != nil || !resp.Changed {
			t.Errorf("delete %s: changed=%v err=%v", o.Addr, resp.Changed, resp.Err)
		}
	}
	if _, orphans := w.observe(keep); len(orphans) != 0 {
		t.Errorf("orphans after deleting them: %v", orphans)
	}
	assertNoChanges(t, w, keep)
}

func TestNamespaceDeletionIsCareful(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	w := newWorld(t, env(t), p)
	ns := env(t)
	w.apply([]providers.Resource{Namespace("control", ns)})
	cs := l.Clientset(t, "control")
	ctx := context.Background()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "users-data"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, orphans := w.observe(nil)
	if len(orphans) != 1 || orphans[0].Kind != KindNamespace {
		t.Fatalf("orphans = %+v, want the namespace", orphans)
	}
	resp := p.Apply(ctx, providers.ApplyRequest{Environment: w.env, Change: plans.Change{Addr: orphans[0].Addr, Action: plans.Delete}, Observed: orphans[0]})
	if resp.Err == nil || !strings.Contains(resp.Err.Error(), "configmaps/users-data") {
		t.Fatalf("deleting a namespace holding a user's config map: err = %v", resp.Err)
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "users-data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	resp = p.Apply(ctx, providers.ApplyRequest{Environment: w.env, Change: plans.Change{Addr: orphans[0].Addr, Action: plans.Delete}, Observed: orphans[0]})
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
}

func TestSSAConflictNamesFields(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	w := newWorld(t, env(t), p)
	t.Cleanup(w.destroy)
	ns := env(t)
	ilb := func(ann string) providers.Resource {
		return LoadBalancer("control", "mixer-ilb", LoadBalancerOptions{
			Namespace:   ns,
			Name:        "mixer-ilb",
			Ports:       []Port{{Name: "grpc-mixer", Port: 15004}},
			Selector:    map[string]string{"istio": "mixer"},
			Annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-internal": ann},
			Wait:        time.Minute,
		})
	}
	rs := []providers.Resource{Namespace("control", ns), ilb("true")}
	w.apply(rs)
	// Another tool applies the same annotation with another value and the
	// selector (forcing, so it owns them now).
	cs := l.Clientset(t, "control")
	_, err := cs.CoreV1().Services(ns).Apply(context.Background(),
		corev1ac.Service("mixer-ilb", ns).
			WithAnnotations(map[string]string{"service.beta.kubernetes.io/aws-load-balancer-internal": "false"}).
			WithSpec(corev1ac.ServiceSpec().WithSelector(map[string]string{"istio": "mixer", "x": "y"})),
		metav1.ApplyOptions{FieldManager: "other-tool", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	steps := w.plan(rs)
	if !steps[1].obs.Drift || steps[1].action != plans.Update {
		t.Fatalf("another tool's change: drift=%v action=%s", steps[1].obs.Drift, steps[1].action)
	}
	resp := w.applyOne(steps[1])
	if resp.Err == nil {
		t.Fatal("apply over another manager's fields succeeded without force_conflicts")
	}
	for _, want := range []string{`field manager "other-tool" owns`, ".metadata.annotations.service.beta.kubernetes.io/aws-load-balancer-internal", ".spec.selector", "force_conflicts"} {
		if !strings.Contains(resp.Err.Error(), want) {
			t.Errorf("conflict error %q does not contain %q", resp.Err, want)
		}
	}
	forced := steps[1]
	forced.r.Settings.ForceConflicts = true
	if resp := w.applyOne(forced); resp.Err != nil {
		t.Fatal(resp.Err)
	}
	assertNoChanges(t, w, rs)
}

// remoteSecretClient builds a client from the kubeconfig meshx stored in
// the control cluster, as Istio's secret controller does.
func remoteSecretClient(t *testing.T, l *lab.Lab, ns, id string) (kubernetes.Interface, []byte) {
	t.Helper()
	sec, err := l.Clientset(t, "control").CoreV1().Secrets(ns).Get(context.Background(), id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Labels["istio/multiCluster"] != "true" || sec.Annotations["networking.istio.io/cluster"] != id || len(sec.Data) != 1 {
		t.Fatalf("secret labels %v annotations %v keys %d", sec.Labels, sec.Annotations, len(sec.Data))
	}
	kc := sec.Data[id]
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs, kc
}

func TestRemoteSecretWorks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
	}{{"long-lived", 0}, {"token-request", time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			l := lab.Get(t)
			ps := providersFor(t, l, "control", "remote1")
			control, remote := ps[0], ps[1]
			w := newWorld(t, env(t), control, remote)
			t.Cleanup(w.destroy)
			istioNS := env(t)
			id := "remote1-" + tc.name[:4]
			rs := []providers.Resource{Namespace("control", istioNS), Namespace("remote1", istioNS)}
			reader := Reader("remote1", RemoteOptions{Namespace: istioNS, ServiceAccount: "istio-multi-" + tc.name[:4], TokenLifetime: tc.lifetime})
			rs = append(rs, reader, RemoteSecret("control", "remote1", RemoteOptions{Namespace: istioNS, ClusterID: id}, reader.Addr))
			w.apply(rs)
			steps := assertNoChanges(t, w, rs)
			if _, ok := steps[3].obs.Object["token"].(plans.Sensitive); !ok {
				t.Errorf("observed token is %T, want plans.Sensitive", steps[3].obs.Object["token"])
			}

			cs, kc := remoteSecretClient(t, l, istioNS, id)
			if _, err := cs.CoreV1().Pods("kube-system").List(context.Background(), metav1.ListOptions{}); err != nil {
				t.Errorf("the remote kubeconfig cannot list pods: %v", err)
			}
			if _, err := cs.CoreV1().Services("").List(context.Background(), metav1.ListOptions{}); err != nil {
				t.Errorf("the remote kubeconfig cannot list services: %v", err)
			}
			_, err := cs.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "nope"}}, metav1.CreateOptions{})
			if !apierrors.IsForbidden(err) {
				t.Errorf("creating with the reader's token: err = %v, want Forbidden", err)
			}
			assertNoSecrets(t, w, rs, kc)

			if tc.lifetime == 0 {
				return
			}
			// Rotation: a third of the lifetime before expiry, the plan
			// mints a new token and rewrites the secret; nothing else.
			sec, _ := l.Clientset(t, "control").CoreV1().Secrets(istioNS).Get(context.Background(), id, metav1.GetOptions{})
			exp, err := time.Parse(time.RFC3339, sec.Annotations[AnnotationTokenExpires])
			if err != nil {
				t.Fatalf("no token expiry on the secret: %v", sec.Annotations)
			}
			remote.now = func() time.Time { return exp.Add(-tc.lifetime / 4) }
			t.Cleanup(func() { remote.now = time.Now })
			got := changes(w.plan(rs))
			want := []string{`cluster.remote1.reader: update [token]`, `cluster.remote1.secret: update [kubeconfig token]`}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("rotation plan (-want +got):\n%s", diff)
			}
			w.apply(rs)
			_, kc2 := remoteSecretClient(t, l, istioNS, id)
			if string(kc2) == string(kc) {
				t.Error("rotation kept the old kubeconfig")
			}
			remote.now = time.Now
			assertNoChanges(t, w, rs)

			// The control secret, the token's only copy, is deleted by hand:
			// the plan re-creates it and a new token is minted for it.
			if err := l.Clientset(t, "control").CoreV1().Secrets(istioNS).Delete(context.Background(), id, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			got = changes(w.apply(rs))
			if diff := cmp.Diff([]string{`cluster.remote1.secret: create []`}, got); diff != "" {
				t.Fatalf("plan after deleting the secret (-want +got):\n%s", diff)
			}
			cs3, kc3 := remoteSecretClient(t, l, istioNS, id)
			if _, err := cs3.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{}); err != nil {
				t.Errorf("the re-created kubeconfig cannot list pods: %v", err)
			}
			assertNoChanges(t, w, rs)
			assertNoSecrets(t, w, rs, kc3)
		})
	}
}

// assertNoSecrets checks that no token or kubeconfig byte sequence shows
// up in what observation and errors produce.
func assertNoSecrets(t *testing.T, w *world, rs []providers.Resource, kubeconfig []byte) {
	t.Helper()
	k, err := parseKubeconfig(kubeconfig)
	if err != nil || len(k.token) < 20 {
		t.Fatalf("kubeconfig: %v", err)
	}
	var texts []string
	obs, orphans := w.observe(rs)
	for _, o := range obs {
		red, _ := plans.Redact(o.Object)
		b, _ := json.Marshal(map[string]any{"object": o.Object, "redacted": red, "outputs": o.Outputs, "details": o.Details})
		texts = append(texts, string(b), fmt.Sprintf("%v %+v %#v", o, o, o))
	}
	for _, o := range orphans {
		texts = append(texts, fmt.Sprintf("%+v", o))
	}
	// An apply that fails after the token is in hand: the control
	// namespace does not exist.
	bad := RemoteSecret("control", "remote1", RemoteOptions{Namespace: "no-such-namespace", ClusterID: "remote1-bad"}, ReaderAddress("remote1"))
	for _, r := range rs {
		if r.Addr == ReaderAddress("remote1") {
			bad = RemoteSecret("control", "remote1", RemoteOptions{Namespace: "no-such-namespace", ClusterID: "remote1-bad"}, r.Addr)
		}
	}
	resp := w.applyOne(step{r: bad, action: plans.Create})
	if resp.Err == nil {
		t.Fatal("apply into a missing namespace succeeded")
	}
	texts = append(texts, resp.Err.Error(), fmt.Sprintf("%+v", resp))
	texts = append(texts, w.progress...)
	for _, s := range texts {
		for name, secret := range map[string]string{
			"token":             k.token,
			"token (base64)":    base64.StdEncoding.EncodeToString([]byte(k.token)),
			"kubeconfig":        string(kubeconfig),
			"kubeconfig(b64)":   base64.StdEncoding.EncodeToString(kubeconfig),
			"token first half":  k.token[:len(k.token)/2],
			"token second half": k.token[len(k.token)/2:],
		} {
			if strings.Contains(s, secret) {
				t.Errorf("%s appears in output: %.200s…", name, s)
			}
		}
	}
}

func TestServiceCIDRProbe(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	got, err := p.probeServiceCIDR(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := l.Cluster("control").ServiceCIDR; got != want {
		t.Errorf("dry-run probe found %s, want %s", got, want)
	}
}

func TestIstioSecretWait(t *testing.T) {
	l := lab.Get(t)
	p := providerFor(t, l, "control")
	w := newWorld(t, env(t), p)
	t.Cleanup(w.destroy)
	ns := env(t)
	w.apply([]providers.Resource{Namespace("control", ns)})
	r := IstioSecret("control", ns, "vm-sa")
	steps := w.plan([]providers.Resource{r})
	if steps[0].obs.Exists || len(steps[0].obs.Outputs) != 0 {
		t.Fatalf("observed %+v before the service account exists", steps[0].obs)
	}
	cs := l.Clientset(t, "control")
	go func() {
		time.Sleep(time.Second)
		cs.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "vm-sa"}}, metav1.CreateOptions{})
	}()
	resp := w.applyOne(step{r: r, obs: steps[0].obs, action: plans.Create})
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	if _, ok := resp.Outputs["key.pem"].(plans.Sensitive); !ok || resp.Outputs["cert-chain.pem"] == nil {
		t.Errorf("outputs after waiting = %v", resp.Outputs)
	}
	short := IstioSecret("control", ns, "never-created")
	short.Settings.WaitTimeout = time.Second
	resp = w.applyOne(step{r: short, action: plans.Create})
	if resp.Err == nil || !strings.Contains(resp.Err.Error(), ns+"/istio.never-created") || !strings.Contains(resp.Err.Error(), "Citadel") {
		t.Errorf("timeout error = %v", resp.Err)
	}
}
