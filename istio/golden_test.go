package istio

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "cmp"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/profiles")

// TestProfilesGolden renders, for every profile, what meshx makes of it:
// the ILB Services, the sidecar packages and units, cluster.env and the
// kubedns file, with the GCE tutorial's addresses. Each golden file is what
// one release's mesh-expansion.yaml, setupMeshEx.sh and setupIstioVM.sh
// make; go test -update rewrites them.
func TestProfilesGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "profiles", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var goldens, legacy []string
	for _, f := range files {
		goldens = append(goldens, strings.TrimSuffix(filepath.Base(f), ".txt"))
	}
	for _, name := range Names() {
		if p, _ := Lookup(name); p.Modern == nil {
			legacy = append(legacy, name)
		}
	}
	if diff := cmp.Diff(goldens, legacy); diff != "" && !*update {
		t.Errorf("golden files (-testdata/profiles +profiles):\n%s", diff)
	}
	addrs := map[string]string{"pilot": "10.150.0.6", "dns": "10.150.0.7", "mixer": "10.150.0.8", "ca": "10.150.0.9", "citadel": "10.150.0.9"}
	for _, name := range legacy {
		t.Run(name, func(t *testing.T) {
			p, _ := Lookup(name)
			var b strings.Builder
			fmt.Fprintf(&b, "# profile %s\n\n## ILBs (mesh-expansion.yaml)\n", p.Name)
			for _, l := range p.ILBs {
				var ports []string
				for _, pt := range l.Ports {
					ports = append(ports, fmt.Sprintf("%s %d/%s", gocmp.Or(pt.Name, "(unnamed)"), pt.Port, pt.Protocol))
				}
				var sel []string
				for _, k := range slices.Sorted(maps.Keys(l.Selector)) {
					sel = append(sel, k+"="+l.Selector[k])
				}
				fmt.Fprintf(&b, "%s %s/%s: %s; selector %s\n", l.Key, l.Namespace("istio-system"), l.Name, strings.Join(ports, ", "), strings.Join(sel, ","))
			}
			fmt.Fprintf(&b, "\n## packages\n%s\n\n## units\n%s\n\n## pilot port for MUTUAL_TLS\n%d\n",
				strings.Join(p.Packages, " "), strings.Join(p.Units, " "), p.MTLSPilotPort)
			auth := AuthNone
			if p.HasCPAuth() {
				auth = AuthMutualTLS
			}
			fmt.Fprintf(&b, "\n## cluster.env (%s)\n%s", auth, p.ClusterEnv("10.63.240.0/20", "istio-system", auth, nil))
			kd, err := p.Kubedns("istio-system", addrs)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "\n## kubedns\n%s", kd)
			golden := filepath.Join("testdata", "profiles", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			checkGolden(t, golden, b.String())
		})
	}
}

// checkGolden compares got with the golden file, rewriting it first with
// -update.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", golden, diff)
	}
}

// TestModernGolden renders what meshx writes on a VM of the istiod era
// for bookinfo's VM (details and mysqldb): cluster.env, the mesh config,
// the /etc/hosts line and the unit drop-in, default and revisioned, plus
// the networking API of each minor of the table.
func TestModernGolden(t *testing.T) {
	var b strings.Builder
	for _, m := range minors {
		p, _ := Lookup(fmt.Sprintf("1.%d", m.Minor))
		fmt.Fprintf(&b, "profile %s: %s; ILB %s\n", p.Name, p.Modern.NetworkingAPI, p.ILBs[0].Name)
	}
	if p, ok := Lookup("1.31"); !ok || p.Modern.NetworkingAPI != minors[len(minors)-1].NetworkingAPI {
		t.Errorf("a minor newer than the table is not the last row: %+v", p)
	}
	for _, bad := range []string{"1.19", "1.020", "1.x", "2.0"} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) accepted it", bad)
		}
	}
	for _, rev := range []string{"", "1-28"} {
		w := Workload{Group: "bookinfo-vm", Namespace: "bookinfo", ServiceAccount: "bookinfo-vm",
			Labels: map[string]string{"app": "bookinfo-vm", "version": "v1"}, Ports: map[string]int{"http": 9080, "mysql": 3306},
			IstioNamespace: "istio-system", Revision: rev, ClusterID: "control", MeshID: "mesh1", Network: "",
			TrustDomain: "cluster.local", MeshIP: "10.150.0.20", CaptureDNS: true}
		if rev != "" {
			w.Probe = &Probe{HTTPPath: "/details/0", HTTPPort: 9080, InitialDelay: 5 * time.Second, Period: 10 * time.Second,
				Timeout: 2 * time.Second, SuccessThreshold: 1, FailureThreshold: 3}
		}
		mesh, err := w.MeshConfig()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n## revision %q\n### cluster.env\n%s### mesh\n%s### hosts\n%s\n",
			rev, ModernClusterEnv(w.ClusterEnvKeys(nil)), mesh, HostsLine("10.150.0.9", w.IstioNamespace, rev))
	}
	fmt.Fprintf(&b, "\n## WorkloadGroup spec.probe\n")
	for _, p := range []*Probe{{TCPPort: 3306}, {Exec: []string{"mysqladmin", "ping"}, Period: 30 * time.Second, FailureThreshold: 5}} {
		j, err := json.Marshal(p.Spec())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n", j)
	}
	fmt.Fprintf(&b, "\n## %s\n%s", TokenDropInPath, TokenDropIn)
	checkGolden(t, filepath.Join("testdata", "modern.txt"), b.String())
}
