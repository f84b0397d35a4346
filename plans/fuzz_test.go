package plans

import "testing"

// FuzzParseAddress: whatever ParseAddress accepts renders to a string that
// parses back to the same address, and the instance name splits into a
// label and key that make it again. -target values and addresses in
// Kubernetes annotations and plan files are untrusted text.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{`vm.ecs1`, `vm.web["a"].file["/etc/x"]`, `vm.web[10].unit["istio"]`, `cluster.remote["eu"].secret`,
		`service.app[0]`, `vm.web["a\"]"]`, `vm.web[007]`, `vm.a.file["x"`, `vm.a[-1]`, `vm.web["a"]x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.String())
		if err != nil || b != a {
			t.Fatalf("%q parses to %#v, whose String %q parses to %#v, %v", s, a, a.String(), b, err)
		}
		label, key := a.Instance()
		if InstanceName(label, key) != a.Name {
			t.Fatalf("%q: name %q splits into %q and %v", s, a.Name, label, key)
		}
		if a.Compare(b) != 0 || !a.Contains(a) {
			t.Fatalf("%q: not equal to itself", s)
		}
	})
}
