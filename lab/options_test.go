package lab

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"
)

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in      Options
		want    Options // only the fields compared below
		wantErr string
	}{
		{
			name: "zero value is the default instance",
			in:   Options{Dir: "/x"},
			want: Options{Name: "meshx", Dir: "/x", VMs: 2, Clusters: []ClusterOptions{
				{Name: "control", Role: "control", PodCIDR: "10.20.0.0/16", ServiceCIDR: "10.100.0.0/20", LBMode: "ip", LBDelay: time.Second},
				{Name: "remote1", Role: "remote", PodCIDR: "10.21.0.0/16", ServiceCIDR: "10.101.0.0/20", LBMode: "ip", LBDelay: time.Second},
			}},
		},
		{
			name: "a named instance gets exactly the VMs it asks for",
			in:   Options{Name: "kubeprov", Dir: "/y"},
			want: Options{Name: "kubeprov", Dir: "/y", VMs: 0, Clusters: []ClusterOptions{
				{Name: "control", Role: "control", PodCIDR: "10.20.0.0/16", ServiceCIDR: "10.100.0.0/20", LBMode: "ip", LBDelay: time.Second},
				{Name: "remote1", Role: "remote", PodCIDR: "10.21.0.0/16", ServiceCIDR: "10.101.0.0/20", LBMode: "ip", LBDelay: time.Second},
			}},
		},
		{
			name: "explicit clusters, negative delay means none",
			in: Options{Name: "a", Dir: "/z", VMs: 3, Clusters: []ClusterOptions{
				{Name: "east", Role: "remote", LBMode: "never", LBDelay: -1},
				{Name: "west", Role: "control", PodCIDR: "172.16.0.0/16", ServiceCIDR: "172.19.0.0/20"}}},
			want: Options{Name: "a", Dir: "/z", VMs: 3, Clusters: []ClusterOptions{
				{Name: "east", Role: "remote", PodCIDR: "10.20.0.0/16", ServiceCIDR: "10.100.0.0/20", LBMode: "never", LBDelay: 0},
				{Name: "west", Role: "control", PodCIDR: "172.16.0.0/16", ServiceCIDR: "172.19.0.0/20", LBMode: "ip", LBDelay: time.Second},
			}},
		},
		{name: "bad name", in: Options{Name: "Bad_Name", Dir: "/x"}, wantErr: "lab name"},
		{name: "too many VMs", in: Options{Name: "a", Dir: "/x", VMs: 203}, wantErr: "203 VMs: want 0 to 202"},
		{name: "duplicate cluster", in: Options{Name: "a", Dir: "/x", Clusters: []ClusterOptions{{Name: "c"}, {Name: "c"}}}, wantErr: "cluster c twice"},
		{name: "overlap", in: Options{Name: "a", Dir: "/x", Clusters: []ClusterOptions{{Name: "c", PodCIDR: "10.0.0.0/8"}}}, wantErr: "overlaps"},
		{name: "VM subnets", in: Options{Name: "a", Dir: "/x", Clusters: []ClusterOptions{{Name: "c", PodCIDR: "10.251.0.0/16"}}}, wantErr: "VM subnets"},
		{name: "bad role", in: Options{Name: "a", Dir: "/x", Clusters: []ClusterOptions{{Name: "c", Role: "primary"}}}, wantErr: "role"},
		{name: "bad lb mode", in: Options{Name: "a", Dir: "/x", Clusters: []ClusterOptions{{Name: "c", LBMode: "dns"}}}, wantErr: "lb mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			type view struct {
				Name, Dir string
				VMs       int
				Clusters  []ClusterOptions
			}
			if diff := cmp.Diff(view{tt.want.Name, tt.want.Dir, tt.want.VMs, tt.want.Clusters},
				view{got.Name, got.Dir, got.VMs, got.Clusters}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLBPoolSplit(t *testing.T) {
	s := Subnet(7)
	if s.String() != "10.251.7.0/24" {
		t.Fatalf("Subnet(7) = %s", s)
	}
	tests := []struct {
		n    int
		want []string
	}{
		{1, []string{"10.251.7.200-10.251.7.250"}},
		{2, []string{"10.251.7.200-10.251.7.224", "10.251.7.225-10.251.7.249"}},
		{3, []string{"10.251.7.200-10.251.7.216", "10.251.7.217-10.251.7.233", "10.251.7.234-10.251.7.250"}},
	}
	for _, tt := range tests {
		var got []string
		for i := 0; i < tt.n; i++ {
			f, l := lbPool(s, i, tt.n)
			got = append(got, f.String()+"-"+l.String())
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%d clusters (-want +got):\n%s", tt.n, diff)
		}
	}
}

func TestHCLString(t *testing.T) {
	tests := map[string]string{
		`/work/main/.lab/control.kubeconfig`: `"/work/main/.lab/control.kubeconfig"`,
		`a"b\c`:                              `"a\"b\\c"`,
		"${x} %{y}":                          `"$${x} %%{y}"`,
		"line\nbreak":                        `"line\nbreak"`,
	}
	for in, want := range tests {
		if got := hclString(in); got != want {
			t.Errorf("hclString(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestToolsModulePinsKubernetesVersion keeps KubernetesVersion (which
// names the cache directory) and the tools module in step.
func TestToolsModulePinsKubernetesVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("tools/go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range mf.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			got = append(got, r.Mod.Version)
		}
	}
	if diff := cmp.Diff([]string{KubernetesVersion}, got); diff != "" {
		t.Errorf("k8s.io/kubernetes in tools/go.mod (-want +got):\n%s", diff)
	}
	staging := "v0." + strings.TrimPrefix(KubernetesVersion, "v1.")
	n := 0
	for _, r := range mf.Replace {
		if strings.HasPrefix(r.Old.Path, "k8s.io/") {
			n++
			if r.New.Path != r.Old.Path || r.New.Version != staging {
				t.Errorf("replace %s => %s %s, want %s", r.Old.Path, r.New.Path, r.New.Version, staging)
			}
		}
	}
	if n != 33 {
		t.Errorf("%d staging replaces, want 33", n)
	}
	var tools []string
	for _, tl := range mf.Tool {
		tools = append(tools, tl.Path)
	}
	var want []string
	for _, b := range Binaries {
		want = append(want, buildTargets[b])
	}
	if diff := cmp.Diff(want, tools); diff != "" {
		t.Errorf("tool directives (-want +got):\n%s", diff)
	}
}

// TestIstioToolsModulePins keeps IstioVersion and CoreDNSVersion (which
// name the cache directory) and the istiotools module in step, with no
// replace directives: the module builds Istio exactly as pinned.
func TestIstioToolsModulePins(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("istiotools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("istiotools/go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range mf.Require {
		if r.Mod.Path == "istio.io/istio" || r.Mod.Path == "github.com/coredns/coredns" {
			got[r.Mod.Path] = r.Mod.Version
		}
	}
	want := map[string]string{"istio.io/istio": IstioVersion, "github.com/coredns/coredns": CoreDNSVersion}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pins in istiotools/go.mod (-want +got):\n%s", diff)
	}
	if len(mf.Replace) != 0 {
		t.Errorf("istiotools/go.mod has %d replace directives, want none", len(mf.Replace))
	}
	var tools, wantTools []string
	for _, tl := range mf.Tool {
		tools = append(tools, tl.Path)
	}
	for _, b := range IstioBinaries {
		if !strings.HasPrefix(istioBuildTargets[b], istioToolsModule+"/") {
			wantTools = append(wantTools, istioBuildTargets[b])
		}
	}
	sort.Strings(wantTools)
	if diff := cmp.Diff(wantTools, tools); diff != "" {
		t.Errorf("tool directives (-want +got):\n%s", diff)
	}
}

func TestMainName(t *testing.T) {
	for pkg, want := range map[string]string{
		"go.etcd.io/etcd/server/v3":                "server",
		"istio.io/istio/pilot/cmd/pilot-discovery": "pilot-discovery",
		"github.com/coredns/coredns":               "coredns",
		istioToolsModule + "/envoy":                "envoy",
	} {
		if got := mainName(pkg); got != want {
			t.Errorf("mainName(%s) = %s, want %s", pkg, got, want)
		}
	}
}

func TestSubnetRegistry(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "registry")
	old := registryDir
	registryDir = func() string { return reg }
	t.Cleanup(func() { registryDir = old })
	inUse := hostSubnets()

	a, b := t.TempDir(), t.TempDir()
	ia, err := allocateSubnet(a)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := allocateSubnet(b)
	if err != nil {
		t.Fatal(err)
	}
	if ia == ib || inUse[ia] || inUse[ib] {
		t.Fatalf("indexes %d and %d (host uses %v)", ia, ib, inUse)
	}
	if again, _ := allocateSubnet(a); again != ia {
		t.Errorf("same instance got %d, then %d", ia, again)
	}
	// An instance whose directory vanished without Down is reclaimed.
	if err := os.Remove(subnetFile(a)); err != nil {
		t.Fatal(err)
	}
	c := t.TempDir()
	if ic, _ := allocateSubnet(c); ic != ia {
		t.Errorf("stale index %d not reclaimed: got %d", ia, ic)
	}
	for _, d := range []string{b, c} {
		if err := releaseSubnet(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("empty registry %s not removed (%v)", reg, err)
	}
}
