package config

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/meshx-dev/meshx/plans"
)

// FuzzLoad feeds arbitrary bytes to the loader as one configuration file.
// The loader must not panic, must give every diagnostic a source range, and
// whatever it accepts must satisfy the invariants the planner relies on.
// The seed corpus is testdata/fuzz/FuzzLoad plus every testdata .hcl file.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	more, _ := filepath.Glob("testdata/*/*/*.hcl")
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, diags := load(dir, []source{{"main.hcl", data}}, nil, LoadOptions{HomeDir: "/home/fuzz"})
		if cfg == nil {
			t.Fatal("nil Config")
		}
		for _, d := range diags {
			if d.Subject == nil {
				t.Fatalf("diagnostic without a range: %s: %s", d.Summary, d.Detail)
			}
			if d.Subject.Filename == "main.hcl" && (d.Subject.Start.Byte > d.Subject.End.Byte || d.Subject.End.Byte > len(data)) {
				t.Fatalf("diagnostic %q has range %v outside the %d-byte input", d.Summary, d.Subject, len(data))
			}
			if d.Summary == "" || d.Detail == "" {
				t.Fatalf("diagnostic without summary or detail: %#v", d)
			}
		}
		if diags.HasErrors() {
			return
		}
		checkInvariants(t, cfg)
	})
}

// checkInvariants checks what a configuration Load accepts always holds.
func checkInvariants(t *testing.T, cfg *Config) {
	t.Helper()
	controls := 0
	for _, c := range cfg.Clusters {
		if c.IsControl() {
			controls++
			if c.MeshExpansion == nil {
				t.Errorf("control cluster %q without MeshExpansion", c.Name)
			}
		}
		if !c.PodPrefix.IsValid() || c.ClusterID == "" {
			t.Errorf("cluster %q accepted with pod prefix %v, ID %q", c.Name, c.PodPrefix, c.ClusterID)
		}
	}
	if controls != 1 {
		t.Errorf("accepted with %d control clusters", controls)
	}
	if cfg.Meshx.Environment == "" {
		t.Errorf("accepted without an environment")
	}
	for _, v := range cfg.VMs {
		if v.MeshIP == "" || v.Namespace == "" || v.Cluster == "" || cfg.Cluster(v.Cluster) == nil {
			t.Errorf("vm %q accepted incomplete: %+v", v.Name, v)
		}
		if v.SSH.Port < 1 || v.SSH.Port > 65535 || (v.SSH.PrivateKeyFile == "" && !v.SSH.UseAgent) {
			t.Errorf("vm %q accepted with SSH %+v", v.Name, v.SSH)
		}
	}
	// Every instance's name is its label and key, as addresses write it.
	names := map[string]plans.InstanceKey{}
	for _, c := range cfg.Clusters {
		names["cluster."+c.Name] = c.Key
	}
	for _, v := range cfg.VMs {
		names["vm."+v.Name] = v.Key
	}
	for _, s := range cfg.Services {
		names["service."+s.Name] = s.Key
	}
	for name, key := range names {
		a, err := plans.ParseAddress(name)
		if err != nil {
			t.Errorf("instance %s does not parse as an address: %v", name, err)
			continue
		}
		if _, k := a.Instance(); k != key || a.Target() != name {
			t.Errorf("instance %s has key %v, its address %v", name, key, a)
		}
	}
	for _, s := range cfg.Services {
		// A service may have no VMs: a list over a fleet can come out empty.
		if len(s.Ports) == 0 || s.Namespace == "" || s.ServiceName == "" || cfg.Cluster(s.Cluster) == nil {
			t.Errorf("service %q accepted incomplete: %+v", s.Name, s)
		}
		for _, v := range s.VMs {
			if cfg.VM(v) == nil {
				t.Errorf("service %q refers to unknown vm %q", s.Name, v)
			}
		}
		if !sort.SliceIsSorted(s.Ports, func(i, j int) bool { return s.Ports[i].Port < s.Ports[j].Port }) {
			t.Errorf("service %q ports not sorted: %v", s.Name, s.Ports)
		}
		for _, p := range s.Ports {
			if p.Port < 1 || p.Port > 65535 || p.Name == "" {
				t.Errorf("service %q has port %+v", s.Name, p)
			}
		}
	}
	if _, diags := cfg.EvalContext(Known{}); diags.HasErrors() {
		t.Errorf("EvalContext of an accepted configuration: %s", diags.Error())
	}
}
