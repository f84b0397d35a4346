package istio

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// Istio 0.2's GCE tutorial output (`cat kubedns`), line for line.
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

func TestClusterEnvIsSafeToSource(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to source cluster.env with")
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "executed")
	extra := map[string]string{
		"A_SEMI":   "x; touch " + marker,
		"B_SUBST":  "$(touch " + marker + ")",
		"C_TICK":   "`touch " + marker + "`",
		"D_QUOTE":  "it's \"quoted\" \\ $HOME",
		"E_NL":     "line1\ntouch " + marker,
		"F_SPACE":  "two words",
		"G_EMPTY":  "",
		"H_PLAIN":  "host.example:15011,a=b",
		"I_GLOB":   "* ?",
		"J_HASH":   "#not-a-comment",
		"K_TILDE":  "~root",
		"L_AMPERS": "a && touch " + marker,
	}
	p, _ := Lookup("1.0")
	content := p.ClusterEnv("172.19.0.0/20", "istio-system", "MUTUAL_TLS", extra)
	file := filepath.Join(dir, "cluster.env")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	// As the sidecar's start script does: source the file, then use the
	// values. Each value is printed NUL-terminated to compare exactly.
	want := map[string]string{"ISTIO_SERVICE_CIDR": "172.19.0.0/20", "ISTIO_SYSTEM_NAMESPACE": "istio-system", "ISTIO_CP_AUTH": "MUTUAL_TLS"}
	keys := []string{"ISTIO_SERVICE_CIDR", "ISTIO_SYSTEM_NAMESPACE", "ISTIO_CP_AUTH"}
	for k, v := range extra {
		want[k] = v
		keys = append(keys, k)
	}
	script := `. "$1"; shift; for k in "$@"; do eval "v=\${$k-UNSET}"; printf '%s=%s\0' "$k" "$v"; done`
	cmd := exec.Command(sh, append([]string{"-c", script, "sh", file}, keys...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing cluster.env: %v\n%s", err, content)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("sourcing cluster.env ran a command:\n%s", content)
	}
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values after sourcing (-want +got):\n%s\nfile:\n%s", diff, content)
	}
}
