package istio

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKubedns10(t *testing.T) {
	p, _ := Lookup("1.0")
	got, err := p.Kubedns("istio-system", map[string]string{"dns": "10.0.0.7", "mixer": "10.0.0.8", "pilot": "10.0.0.6", "citadel": "10.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	want := `server=/svc.cluster.local/10.0.0.7
address=/istio-policy/10.0.0.8
address=/istio-telemetry/10.0.0.8
address=/istio-pilot/10.0.0.6
address=/istio-citadel/10.0.0.9
address=/istio-ca/10.0.0.9
address=/istio-policy.istio-system/10.0.0.8
address=/istio-telemetry.istio-system/10.0.0.8
address=/istio-pilot.istio-system/10.0.0.6
address=/istio-citadel.istio-system/10.0.0.9
address=/istio-ca.istio-system/10.0.0.9
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kubedns (-want +got):\n%s", diff)
	}
	if _, err := p.Kubedns("istio-system", map[string]string{"dns": "1.1.1.1"}); err == nil {
		t.Error("missing ILB address must fail")
	}
}

func TestKubedns07(t *testing.T) {
	p, _ := Lookup("0.7")
	got, err := p.Kubedns("istio-system", map[string]string{"dns": "10.150.0.7", "mixer": "10.150.0.8", "pilot": "10.150.0.6", "ca": "10.150.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	// The seeds' GCE tutorial output, line for line.
	want := `server=/svc.cluster.local/10.150.0.7
address=/istio-mixer/10.150.0.8
address=/istio-pilot/10.150.0.6
address=/istio-ca/10.150.0.9
address=/istio-mixer.istio-system/10.150.0.8
address=/istio-pilot.istio-system/10.150.0.6
address=/istio-ca.istio-system/10.150.0.9
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kubedns (-want +got):\n%s", diff)
	}
}

func TestClusterEnvKeyPerProfile(t *testing.T) {
	for _, tc := range []struct{ profile, want string }{
		{"1.0", "ISTIO_SERVICE_CIDR=172.19.0.0/20\nISTIO_SYSTEM_NAMESPACE=istio-system\nISTIO_CP_AUTH=MUTUAL_TLS\nX=1\n"},
		// 0.8's sidecar read only ISTIO_CP_AUTH: both keys are written.
		{"0.8", "ISTIO_SERVICE_CIDR=172.19.0.0/20\nISTIO_SYSTEM_NAMESPACE=istio-system\nCONTROL_PLANE_AUTH_POLICY=MUTUAL_TLS\nISTIO_CP_AUTH=MUTUAL_TLS\nX=1\n"},
	} {
		p, _ := Lookup(tc.profile)
		got := p.ClusterEnv("172.19.0.0/20", "istio-system", "MUTUAL_TLS", map[string]string{"X": "1", "ISTIO_CP_AUTH": "ignored"})
		if tc.profile == "0.8" {
			got = p.ClusterEnv("172.19.0.0/20", "istio-system", "MUTUAL_TLS", map[string]string{"X": "1"})
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s cluster.env (-want +got):\n%s", tc.profile, diff)
		}
	}
}

func TestILBsPerProfile(t *testing.T) {
	p10, _ := Lookup("1.0")
	pilot, _ := p10.ILB("pilot")
	var ports []int
	for _, p := range pilot.Ports {
		ports = append(ports, p.Port)
	}
	if diff := cmp.Diff([]int{15005, 8080, 15010, 15011}, ports); diff != "" {
		t.Errorf("1.0 pilot ports (-want +got):\n%s", diff)
	}
	if dns, _ := p10.ILB("dns"); dns.Namespace("istio-system") != "kube-system" || dns.Ports[0].Protocol != "UDP" {
		t.Errorf("dns-ilb = %+v", dns)
	}
	p07, _ := Lookup("0.7")
	if ca, ok := p07.ILB("ca"); !ok || ca.Name != "istio-ca-ilb" {
		t.Errorf("0.7 CA ILB = %+v", ca)
	}
	if _, ok := p07.ILB("citadel"); ok {
		t.Error("0.7 has no citadel-ilb")
	}
}

func TestPortNameAndSidecarKeys(t *testing.T) {
	for port, want := range map[int]string{80: "http", 8080: "http", 443: "https", 3306: "mysql", 9080: "9080"} {
		if got := PortName(port); got != want {
			t.Errorf("PortName(%d) = %q, want %q", port, got, want)
		}
	}
	got := SidecarEnvKeys([]int{9080, 3306, 9080}, "details", "bookinfo", nil)
	want := map[string]string{"ISTIO_INBOUND_PORTS": "3306,9080", "ISTIO_SERVICE": "details", "ISTIO_NAMESPACE": "bookinfo"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sidecar keys (-want +got):\n%s", diff)
	}
}

func TestAnnotations(t *testing.T) {
	a, err := LoadBalancerAnnotations("alibaba")
	if err != nil || a["service.beta.kubernetes.io/alicloud-loadbalancer-address-type"] != "intranet" {
		t.Errorf("alibaba = %v, %v", a, err)
	}
	if _, err := LoadBalancerAnnotations("openstack"); err == nil {
		t.Error("unknown cloud must fail")
	}
}
