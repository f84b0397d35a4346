package kube

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

func TestNormalizePorts(t *testing.T) {
	tests := []struct {
		name    string
		in      []Port
		want    []Port
		wantErr string
	}{
		{
			name: "sorted and defaulted",
			in:   []Port{{Name: "https-pilot", Port: 15005}, {Name: "http-pilot", Port: 8080, Protocol: "tcp"}, {Name: "dns", Port: 53, Protocol: "UDP"}},
			want: []Port{{Name: "dns", Port: 53, Protocol: "UDP"}, {Name: "http-pilot", Port: 8080, Protocol: "TCP"}, {Name: "https-pilot", Port: 15005, Protocol: "TCP"}},
		},
		{name: "single unnamed", in: []Port{{Port: 80}}, want: []Port{{Port: 80, Protocol: "TCP"}}},
		{name: "same number two protocols", in: []Port{{Name: "dns-tcp", Port: 53}, {Name: "dns", Port: 53, Protocol: "UDP"}},
			want: []Port{{Name: "dns-tcp", Port: 53, Protocol: "TCP"}, {Name: "dns", Port: 53, Protocol: "UDP"}}},
		{name: "none", wantErr: "at least one port"},
		{name: "unnamed among several", in: []Port{{Port: 80}, {Name: "b", Port: 81}}, wantErr: "needs a name"},
		{name: "duplicate name", in: []Port{{Name: "a", Port: 80}, {Name: "a", Port: 81}}, wantErr: "used twice"},
		{name: "duplicate port", in: []Port{{Name: "a", Port: 80}, {Name: "b", Port: 80, Protocol: "TCP"}}, wantErr: "declared twice"},
		{name: "out of range", in: []Port{{Name: "a", Port: 70000}}, wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizePorts(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeIPs(t *testing.T) {
	got, err := normalizeIPs([]string{"10.0.0.10", "10.0.0.9", "10.0.0.10", "::ffff:10.0.0.1", "fd00::1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"10.0.0.1", "10.0.0.9", "10.0.0.10", "fd00::1"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := normalizeIPs([]string{"vm1.example"}); err == nil {
		t.Error("a host name was accepted as an endpoint address")
	}
}

// fields builds a managedFields entry for meshx from a fieldsV1 JSON.
func fields(manager, js string) []metav1.ManagedFieldsEntry {
	return []metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(js)}}}
}

func mustRender(t *testing.T, r providers.Resource, in providers.Outputs) plans.Object {
	t.Helper()
	o, err := r.Render(in)
	if err != nil {
		t.Fatalf("%s: Render: %v", r.Addr, err)
	}
	return o
}

func assertEqualObjects(t *testing.T, want, got plans.Object) {
	t.Helper()
	for _, k := range want.Keys() {
		if !plans.Equal(want[k], got[k]) {
			t.Errorf("attribute %s: rendered %#v, projected %#v", k, want[k], got[k])
		}
	}
	if diff := cmp.Diff(want.Keys(), got.Keys()); diff != "" {
		t.Errorf("attribute names (-rendered +projected):\n%s", diff)
	}
}

// TestProjectionMatchesRender checks, for live objects shaped as the API
// server returns them after meshx's apply (defaults filled in, fields of
// other managers present), that the projection equals Render's output:
// the pure half of "a second plan after apply is empty".
func TestProjectionMatchesRender(t *testing.T) {
	ports := []Port{{Name: "https-pilot", Port: 15005}, {Name: "http-pilot", Port: 8080}}
	lb := LoadBalancer("control", "istio-pilot-ilb", LoadBalancerOptions{
		Namespace:   "istio-system",
		Name:        "istio-pilot-ilb",
		Ports:       ports,
		Selector:    map[string]string{"istio": "pilot"},
		Annotations: map[string]string{"cloud.google.com/load-balancer-type": "Internal"},
	})
	liveLB := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "istio-pilot-ilb", Namespace: "istio-system",
			Labels: map[string]string{LabelManagedBy: "meshx", LabelEnvironment: "prod"},
			Annotations: map[string]string{
				"cloud.google.com/load-balancer-type": "Internal", AnnotationAddress: "x", AnnotationDigest: "d",
				"cloud.example/added-by-controller": "yes",
			},
			ManagedFields: fields("meshx", `{"f:metadata":{"f:annotations":{"f:cloud.google.com/load-balancer-type":{},"f:meshx.dev/address":{}}},"f:spec":{"f:ports":{"k:{\"port\":8080,\"protocol\":\"TCP\"}":{},"k:{\"port\":15005,\"protocol\":\"TCP\"}":{}}}}`),
		},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"istio": "pilot"},
			Ports: []corev1.ServicePort{
				{Name: "http-pilot", Port: 8080, Protocol: "TCP", NodePort: 30001},
				{Name: "https-pilot", Port: 15005, Protocol: "TCP", NodePort: 30002},
			},
			ClusterIP:       "10.0.0.12",
			SessionAffinity: corev1.ServiceAffinityNone,
		},
	}
	assertEqualObjects(t, mustRender(t, lb, nil), lb.Private.(*loadBalancer).project(liveLB))

	svc := Service(plans.Address{Block: "service", Name: "details", Type: "service"}, "control", "bookinfo", "details",
		[]Port{{Name: "http", Port: 9080}}, map[string]string{"app": "details"}, map[string]string{ServiceAccountsAnnotation: "default"})
	liveSvc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "details", Namespace: "bookinfo",
			Labels:        map[string]string{LabelManagedBy: "meshx", LabelEnvironment: "prod", "app": "details", "team": "someone-else"},
			Annotations:   map[string]string{ServiceAccountsAnnotation: "default", AnnotationKind: KindService},
			ManagedFields: fields("meshx", `{"f:metadata":{"f:labels":{"f:app":{},"f:app.kubernetes.io/managed-by":{},"f:meshx.dev/environment":{}},"f:annotations":{"f:alpha.istio.io/kubernetes-serviceaccounts":{}}}}`),
		},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9080, Protocol: "TCP"}}, Type: corev1.ServiceTypeClusterIP},
	}
	assertEqualObjects(t, mustRender(t, svc, nil), svc.Private.(*service).project(liveSvc))

	ep := Endpoints(plans.Address{Block: "service", Name: "details", Type: "endpoints"}, "control", "bookinfo", "details",
		[]string{"10.251.0.11", "10.251.0.10", "10.251.0.11"}, []Port{{Name: "http", Port: 9080}}, nil)
	liveEP := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "details", Namespace: "bookinfo", Labels: map[string]string{LabelManagedBy: "meshx", LabelEnvironment: "prod"},
			ManagedFields: fields("meshx", `{"f:metadata":{"f:labels":{}},"f:subsets":{}}`)},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.251.0.11"}, {IP: "10.251.0.10"}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: 9080, Protocol: "TCP"}},
		}},
	}
	assertEqualObjects(t, mustRender(t, ep, nil), ep.Private.(*endpoints).project(liveEP))

	ns := Namespace("control", "bookinfo")
	assertEqualObjects(t, mustRender(t, ns, nil), projectNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo"}}))
}

func TestProjectionSeesHandEdits(t *testing.T) {
	lb := LoadBalancer("control", "k", LoadBalancerOptions{
		Namespace: "istio-system",
		Name:      "ilb",
		Ports:     []Port{{Name: "grpc", Port: 15010}},
		Selector:  map[string]string{"istio": "pilot"},
	})
	live := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ilb", Namespace: "istio-system",
			ManagedFields: fields("meshx", `{"f:spec":{"f:ports":{"k:{\"port\":15010,\"protocol\":\"TCP\"}":{}}}}`)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"istio": "pilot"},
			// kubectl edit changed 15010 to 15011: a new list entry owned by kubectl-edit.
			Ports: []corev1.ServicePort{{Name: "grpc", Port: 15011, Protocol: "TCP"}}},
	}
	got := lb.Private.(*loadBalancer).project(live)
	if plans.Equal(mustRender(t, lb, nil)["ports"], got["ports"]) {
		t.Errorf("a hand-edited port projects equal to the configuration: %v", got["ports"])
	}
	// A port someone added next to meshx's is a difference too.
	live.Spec.Ports = append(live.Spec.Ports, corev1.ServicePort{Name: "grpc", Port: 15010, Protocol: "TCP"})
	live.Spec.Ports[0].Name = "extra"
	if got := lb.Private.(*loadBalancer).project(live); plans.Equal(mustRender(t, lb, nil)["ports"], got["ports"]) {
		t.Errorf("an added port projects equal to the configuration: %v", got["ports"])
	}
}

type outputs map[string]any

func (o outputs) Output(_ plans.Address, name string) (any, bool) {
	v, ok := o[name]
	if !ok {
		return plans.Unknown, true
	}
	return v, true
}

const testCA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

func TestRemoteSecretKubeconfig(t *testing.T) {
	token := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1900000000}`)) + ".sig"
	r := RemoteSecret("control", "remote1", RemoteOptions{Namespace: "istio-system", ClusterID: "remote1"}, ReaderAddress("remote1"))
	kc, err := buildKubeconfig("remote1", remoteKubeconfig{server: "https://10.0.0.1:6443", ca: []byte(testCA), token: token})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(kc)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "remote1" || cfg.Contexts["remote1"].Cluster != "remote1" || cfg.Contexts["remote1"].AuthInfo != "remote1" ||
		cfg.Clusters["remote1"].Server != "https://10.0.0.1:6443" || string(cfg.Clusters["remote1"].CertificateAuthorityData) != testCA ||
		cfg.AuthInfos["remote1"].Token != token {
		t.Fatalf("kubeconfig does not name everything remote1 / carry server, CA and token")
	}
	if !strings.Contains(string(kc), "certificate-authority-data: ") {
		t.Error("kubeconfig has no certificate-authority-data")
	}
	live := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "remote1", Namespace: "istio-system",
			Labels:      map[string]string{istioMultiClusterLabel: "true", LabelManagedBy: "meshx", LabelEnvironment: "e"},
			Annotations: map[string]string{istioClusterAnnotation: "remote1", AnnotationTokenExpires: "x"},
		},
		Data: map[string][]byte{"remote1": kc},
	}
	proj := r.Private.(*remoteSecret).project(live)

	tests := []struct {
		name  string
		token any
	}{
		{"long-lived token known at plan", plans.NewSensitive([]byte(token))},
		{"TokenRequest token between rotations: its fingerprint", plans.Fingerprint([]byte(token))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustRender(t, r, outputs{"server": "https://10.0.0.1:6443", "ca": testCA, "token": tt.token})
			assertEqualObjects(t, want, proj)
		})
	}
	t.Run("new token unknown", func(t *testing.T) {
		want := mustRender(t, r, outputs{"server": "https://10.0.0.1:6443", "ca": testCA})
		if !plans.IsUnknown(want["kubeconfig"]) || !plans.IsUnknown(want["token"]) {
			t.Errorf("kubeconfig/token should be unknown, got %v / %v", want["kubeconfig"], want["token"])
		}
	})
	t.Run("edited kubeconfig differs", func(t *testing.T) {
		edited := strings.Replace(string(kc), "current-context: remote1", "current-context: remote1\npreferences: {colors: true}", 1)
		l := live.DeepCopy()
		l.Data["remote1"] = []byte(edited)
		p := r.Private.(*remoteSecret).project(l)
		want := mustRender(t, r, outputs{"server": "https://10.0.0.1:6443", "ca": testCA, "token": plans.NewSensitive([]byte(token))})
		if plans.Equal(want["kubeconfig"], p["kubeconfig"]) {
			t.Error("an edited kubeconfig projects equal to the rendered one")
		}
	})
	t.Run("server and TLS server name for istiod", func(t *testing.T) {
		o := RemoteOptions{Namespace: "istio-system", ClusterID: "remote1", Server: "https://10.9.0.1:443", TLSServerName: "api.remote1.internal"}
		r := RemoteSecret("control", "remote1", o, ReaderAddress("remote1"))
		in := outputs{"server": "https://10.0.0.1:6443", "ca": testCA, "token": plans.NewSensitive([]byte(token))}
		want := mustRender(t, r, in)
		if want["server"] != "https://10.9.0.1:443" {
			t.Errorf("server = %v, want the configured one", want["server"])
		}
		if plans.Equal(want["kubeconfig"], r.Private.(*remoteSecret).project(live)["kubeconfig"]) {
			t.Error("a kubeconfig without the server and TLS server name projects equal to one with them")
		}
		kc, err := buildKubeconfig("remote1", remoteKubeconfig{server: o.Server, tlsServerName: o.TLSServerName, ca: []byte(testCA), token: token})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
		if err != nil || rc.Host != o.Server || rc.TLSClientConfig.ServerName != o.TLSServerName {
			t.Fatalf("kubeconfig: %v, host %s, server name %q", err, rc.Host, rc.TLSClientConfig.ServerName)
		}
		l := live.DeepCopy()
		l.Data["remote1"] = kc
		assertEqualObjects(t, want, r.Private.(*remoteSecret).project(l))
	})
	if exp, ok := jwtExpiry(token); !ok || exp.Unix() != 1900000000 {
		t.Errorf("jwtExpiry = %v, %v", exp, ok)
	}
	// Nothing secret in what a plan shows.
	red, _ := plans.Redact(proj)
	if s := fmt.Sprintf("%v %#v", red, proj); strings.Contains(s, token) || strings.Contains(s, base64.StdEncoding.EncodeToString(kc)) {
		t.Error("token or kubeconfig visible in the projection's printed form")
	}
}

func TestReaderTokenRotation(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "istio-multi", Namespace: "istio-system", Annotations: map[string]string{
		annotationTokenIssued:      issued.Format(time.RFC3339),
		AnnotationTokenExpires:     issued.Add(24 * time.Hour).Format(time.RFC3339),
		annotationTokenLifetime:    "24h0m0s",
		annotationTokenFingerprint: "sha256:0123456789ab",
	}}}
	tests := []struct {
		at    time.Duration
		ready bool
	}{
		{time.Hour, true},
		{15*time.Hour + 59*time.Minute, true},
		{16*time.Hour + time.Minute, false}, // within a third of the lifetime of expiry
		{25 * time.Hour, false},
	}
	for _, tt := range tests {
		got := readerToken(readerParts{sa: sa}, issued.Add(tt.at))
		if got.ready != tt.ready || got.source != "request" || got.fingerprint != "sha256:0123456789ab" {
			t.Errorf("at +%s: %+v, want ready=%v", tt.at, got, tt.ready)
		}
	}
	r := Reader("remote1", RemoteOptions{Namespace: "istio-system", TokenLifetime: 24 * time.Hour})
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "istio-reader"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"pods", "nodes", "services", "endpoints"}, Verbs: []string{"watch", "get", "list"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "istio-multi"},
		RoleRef:  rbacv1.RoleRef{Kind: "ClusterRole", Name: "istio-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "istio-multi", Namespace: "istio-system"}}}
	parts := readerParts{sa: sa, role: role, binding: binding}
	fresh := r.Private.(*reader).project(parts, issued.Add(time.Hour))
	assertEqualObjects(t, mustRender(t, r, nil), fresh)
	stale := r.Private.(*reader).project(parts, issued.Add(20*time.Hour))
	if plans.Equal(mustRender(t, r, nil)["token"], stale["token"]) {
		t.Error("a token near expiry does not plan a rotation")
	}
	if appliedDigest(r.Private.(*reader), fresh) != appliedDigest(r.Private.(*reader), stale) {
		t.Error("a token nearing expiry counts as drift")
	}
	long := Reader("remote1", RemoteOptions{Namespace: "istio-system"})
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istio-multi-token"}, Data: map[string][]byte{"token": []byte("t0k3n")}}
	assertEqualObjects(t, mustRender(t, long, nil), long.Private.(*reader).project(readerParts{sa: sa, role: role, binding: binding, secret: sec}, issued))
}

// TestModernRemote checks the istiod era's names (istioctl
// create-remote-secret's) and that the live reader, as apply writes it
// with the istio-discovery chart's rules, projects to what Render wants.
func TestModernRemote(t *testing.T) {
	rs := Remote("control", "remote1", RemoteOptions{Namespace: "istio-system", ClusterID: "remote1", Format: RemoteModern})
	r, s := rs[1].Private.(*reader), rs[2].Private.(*remoteSecret)
	got := []string{}
	for _, id := range append(r.identities(), s.identities()...) {
		got = append(got, id.human())
	}
	want := []string{
		"ServiceAccount istio-system/istio-reader-service-account",
		"ClusterRole istio-reader-clusterrole-istio-system",
		"ClusterRoleBinding istio-reader-clusterrole-istio-system",
		"Secret istio-system/istio-reader-service-account-istio-remote-secret-token",
		"Secret istio-system/istio-remote-secret-remote1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}

	var rules []rbacv1.PolicyRule
	for _, r := range modernReaderRules {
		// The API server keeps the order apply gave; project sorts.
		verbs := slices.Clone(r.verbs)
		slices.Reverse(verbs)
		rules = append(rules, rbacv1.PolicyRule{APIGroups: r.apiGroups, Resources: r.resources, Verbs: verbs})
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "istio-reader-clusterrole-istio-system"}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "istio-reader-clusterrole-istio-system"},
		RoleRef:  rbacv1.RoleRef{Kind: "ClusterRole", Name: "istio-reader-clusterrole-istio-system"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "istio-reader-service-account", Namespace: "istio-system"}}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "istio-reader-service-account", Namespace: "istio-system"}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istio-reader-service-account-istio-remote-secret-token"}, Data: map[string][]byte{"token": []byte("t0k3n")}}
	assertEqualObjects(t, mustRender(t, rs[1], nil), r.project(readerParts{sa: sa, role: role, binding: binding, secret: sec}, time.Now()))

	// The legacy rules are not the modern ones: a profile change updates
	// the role.
	legacy := Reader("remote1", RemoteOptions{Namespace: "istio-system"})
	if plans.Equal(mustRender(t, legacy, nil)["rules"], mustRender(t, rs[1], nil)["rules"]) {
		t.Error("the legacy and modern readers have the same rules")
	}
}

// TestRemoteSecretConflict checks which other remote secrets stop the
// plan of remote1's: those whose data key or annotation is its ID.
func TestRemoteSecretConflict(t *testing.T) {
	s := RemoteSecret("control", "remote1", RemoteOptions{Namespace: "istio-system", ClusterID: "remote1", Format: RemoteModern}, ReaderAddress("remote1")).Private.(*remoteSecret)
	tests := []struct {
		name  string
		other remoteSecretIDs
		want  string // in the conflict; "" for none
	}{
		{"another ID", remoteSecretIDs{name: "istio-remote-secret-remote2", keys: []string{"remote2"}, annotation: "remote2"}, ""},
		{"its own name", remoteSecretIDs{name: "istio-remote-secret-remote1", keys: []string{"remote1"}, annotation: "remote1"}, ""},
		{"same key", remoteSecretIDs{name: "istio-remote-secret-old", keys: []string{"remote1"}, annotation: "old"},
			`Secret istio-system/istio-remote-secret-old in the control cluster, owned by nobody (created outside meshx), already registers cluster ID "remote1"`},
		{"same key, legacy name", remoteSecretIDs{name: "remote1", owner: `meshx environment "other"`, keys: []string{"a", "remote1"}},
			`owned by meshx environment "other", already registers cluster ID "remote1"`},
		{"annotation only", remoteSecretIDs{name: "istio-remote-secret-x", keys: []string{"remote-1"}, annotation: "remote1"},
			`is annotated networking.istio.io/cluster: "remote1", but its data keys, the IDs istiod registers, are "remote-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.conflict([]remoteSecretIDs{tt.other})
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("conflict = %q, want one containing %q", got, tt.want)
			}
			if got != "" && !strings.Contains(got, "kubectl -n istio-system delete secret "+tt.other.name) {
				t.Errorf("conflict %q does not say how to remove the secret", got)
			}
		})
	}
}

func TestInstalledClusterID(t *testing.T) {
	for values, want := range map[string]string{
		`{"global":{"multiCluster":{"clusterName":"east"},"meshID":"m"}}`: "east",
		`{"global":{"meshID":"m"}}`:                                       "",
		`not json`:                                                        "",
		``:                                                                "",
	} {
		cm := &corev1.ConfigMap{Data: map[string]string{"values": values, "config": "policy: enabled"}}
		if got := installedClusterID(cm); got != want {
			t.Errorf("installedClusterID(values %q) = %q, want %q", values, got, want)
		}
	}
}

func TestOwnerOf(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		mf     []metav1.ManagedFieldsEntry
		want   string
	}{
		{"other environment", map[string]string{LabelManagedBy: "meshx", LabelEnvironment: "staging"}, nil, `meshx environment "staging"`},
		{"helm", map[string]string{LabelManagedBy: "Helm"}, nil, "Helm (app.kubernetes.io/managed-by)"},
		{"kubectl", nil, []metav1.ManagedFieldsEntry{{Manager: "kubectl-create"}, {Manager: "kube-controller-manager"}, {Manager: "kubectl-create"}},
			`field managers "kube-controller-manager", "kubectl-create"`},
		{"one manager", nil, []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply"}}, `field manager "kubectl-client-side-apply"`},
		{"nobody", nil, nil, "unmanaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Labels: tt.labels, ManagedFields: tt.mf}}
			if ownedBy(m, "prod") {
				t.Fatal("owned")
			}
			if got := ownerOf(m, "prod"); got != tt.want {
				t.Errorf("ownerOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApplyErrorNamesConflicts(t *testing.T) {
	err := apierrors.NewApplyConflict([]metav1.StatusCause{
		{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using v1`, Field: ".spec.selector"},
		{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using v1`, Field: ".metadata.annotations.a"},
		{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "helm"`, Field: ".spec.ports[port=80,protocol=\"TCP\"].name"},
	}, "Apply failed with 3 conflicts")
	got := applyError(ref{res: resServices, namespace: "ns", name: "svc"}, err).Error()
	for _, want := range []string{"Service ns/svc", `field manager "helm" owns .spec.ports[port=80,protocol="TCP"].name`,
		`field manager "kubectl-edit" owns .metadata.annotations.a, .spec.selector`, "force_conflicts"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q does not contain %q", got, want)
		}
	}
	plain := applyError(ref{res: resServices, namespace: "ns", name: "svc"}, apierrors.NewNotFound(schema.GroupResource{Resource: "services"}, "svc"))
	if !apierrors.IsNotFound(errors.Unwrap(plain)) {
		t.Errorf("non-conflict errors must wrap: %v", plain)
	}
}

func TestServiceCIDRParsing(t *testing.T) {
	conf := "apiServer: {}\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: \"10.96.0.0/12,fd00::/108\"\n"
	if got, ok := kubeadmServiceSubnet(conf); !ok || got != "10.96.0.0/12" {
		t.Errorf("kubeadmServiceSubnet = %q, %v", got, ok)
	}
	if _, ok := kubeadmServiceSubnet("networking:\n  podSubnet: x\n"); ok {
		t.Error("found a serviceSubnet where there is none")
	}
	msg := `Service "x" is invalid: spec.clusterIPs: Invalid value: ["1.1.1.1"]: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12`
	if got, ok := parseValidRange(msg); !ok || got != "10.96.0.0/12" {
		t.Errorf("parseValidRange = %q, %v", got, ok)
	}
}

func TestScrub(t *testing.T) {
	err := scrubErr(errors.New(`apply Secret a/b: invalid value "s3cr3t-tok3n"`), "s3cr3t-tok3n")
	if strings.Contains(err.Error(), "s3cr3t") || errors.Unwrap(err) != nil {
		t.Errorf("scrubErr leaked or unwraps: %v", err)
	}
}

func TestBuildersAddresses(t *testing.T) {
	rs := []providers.Resource{
		Namespace("control", "bookinfo"),
		LoadBalancer("control", "istio-pilot-ilb", LoadBalancerOptions{
			Namespace: "istio-system",
			Name:      "istio-pilot-ilb",
			Ports:     []Port{{Port: 1}},
		}),
		ClusterInfo("control"),
		IstioSecret("control", "bookinfo", "default"),
	}
	rs = append(rs, Remote("control", "remote1", RemoteOptions{Namespace: "istio-system", ClusterID: "remote1"})...)
	ew := EastWestGateway("control", "istio-system", "istio-eastwestgateway", 0)
	rs = append(rs, ew,
		Gateway(plans.Address{Block: "cluster", Name: "control", Type: "gateway", Key: "istio-system/istiod-gateway"},
			"control", "networking.istio.io/v1", "istio-system", "istiod-gateway", map[string]any{}, &ew.Addr),
		VirtualService(plans.Address{Block: "cluster", Name: "control", Type: "virtual_service", Key: "istio-system/istiod-vs"},
			"control", "networking.istio.io/v1", "istio-system", "istiod-vs", map[string]any{}),
	)
	var got []string
	for _, r := range rs {
		got = append(got, r.Addr.String()+" "+r.Target+" "+r.Kind)
		if _, err := plans.ParseAddress(r.Addr.String()); err != nil {
			t.Error(err)
		}
	}
	want := []string{
		`cluster.control.namespace["bookinfo"] cluster.control kube_namespace`,
		`cluster.control.ilb["istio-pilot-ilb"] cluster.control kube_load_balancer`,
		`cluster.control.info cluster.control kube_cluster_info`,
		`cluster.control.istio_secret["bookinfo/default"] cluster.control kube_istio_secret`,
		`cluster.remote1.namespace["istio-system"] cluster.remote1 kube_namespace`,
		`cluster.remote1.reader cluster.remote1 kube_reader`,
		`cluster.remote1.secret cluster.control kube_remote_secret`,
		`cluster.control.eastwest_gateway["istio-system/istio-eastwestgateway"] cluster.control kube_load_balancer`,
		`cluster.control.gateway["istio-system/istiod-gateway"] cluster.control kube_gateway`,
		`cluster.control.virtual_service["istio-system/istiod-vs"] cluster.control kube_virtual_service`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !ew.ReadOnly || !ew.AwaitReady {
		t.Errorf("east-west gateway: ReadOnly %v, AwaitReady %v; want it read and awaited, never written", ew.ReadOnly, ew.AwaitReady)
	}
	if d := rs[8].DependsOn; len(d) != 1 || d[0] != ew.Addr {
		t.Errorf("Gateway DependsOn = %v, want the east-west gateway whose selector it takes", d)
	}
	if obj, err := rs[8].Render(nil); err != nil || obj["spec"] == nil {
		t.Errorf("Gateway Render(nil) = %v, %v; want its spec with no outputs at hand", obj, err)
	}
	if d := rs[9].DependsOn; len(d) != 0 {
		t.Errorf("VirtualService DependsOn = %v; the planner chooses them", d)
	}
	if d := rs[5].DependsOn; len(d) != 1 || d[0] != NamespaceAddress("remote1", "istio-system") {
		t.Errorf("reader DependsOn = %v", d)
	}
	if d := rs[6].DependsOn; len(d) != 1 || d[0] != ReaderAddress("remote1") {
		t.Errorf("secret DependsOn = %v", d)
	}
}

// TestEastWestGatewayOutputs: the east-west gateway's outputs carry its
// Service's selector (for the Gateway that must select its pods) once it
// has an address; an ILB's do not, and neither has outputs before then.
func TestEastWestGatewayOutputs(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "ew"}}}
	ew := EastWestGateway("control", "istio-system", "istio-eastwestgateway", 0).Private.(*loadBalancer)
	ilb := LoadBalancer("control", "istiod", LoadBalancerOptions{Namespace: "istio-system", Name: "istiod-ilb"}).Private.(*loadBalancer)
	if out := ew.outputs(svc); out != nil {
		t.Errorf("outputs without an address = %v, want none", out)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.0.0.7"}}
	want := plans.Object{"address": "10.0.0.7", "ip": "10.0.0.7", "hostname": "", "selector": map[string]any{"app": "ew"}}
	if diff := cmp.Diff(want, ew.outputs(svc)); diff != "" {
		t.Errorf("east-west gateway outputs (-want +got):\n%s", diff)
	}
	if out := ilb.outputs(svc); out["selector"] != nil {
		t.Errorf("ILB outputs = %v; only the east-west gateway's carry its selector", out)
	}
}

func TestRenderRejects(t *testing.T) {
	tests := []struct {
		name string
		r    providers.Resource
		want string
	}{
		{"reserved label", Service(plans.Address{Block: "service", Name: "a", Type: "service"}, "c", "ns", "a", []Port{{Port: 80}},
			map[string]string{LabelManagedBy: "x"}, nil), "reserved"},
		{"bad service name", Service(plans.Address{Block: "service", Name: "a", Type: "service"}, "c", "ns", "A_b", []Port{{Port: 80}}, nil, nil), "name \"A_b\""},
		{"lb without selector", LoadBalancer("c", "k", LoadBalancerOptions{
			Namespace: "ns",
			Name:      "n",
			Ports:     []Port{{Port: 80}},
		}), "selector is required"},
		{"short token lifetime", Reader("c", RemoteOptions{Namespace: "istio-system", TokenLifetime: time.Minute}), "at least 10m0s"},
		{"bad cluster id", RemoteSecret("c", "r", RemoteOptions{Namespace: "istio-system", ClusterID: "Remote_1"}, ReaderAddress("r")), "DNS-1123"},
		{"bad endpoint ip", Endpoints(plans.Address{Block: "service", Name: "a", Type: "endpoints"}, "c", "ns", "a", []string{"x"}, []Port{{Port: 80}}, nil), "not an IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.Render(outputs{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
