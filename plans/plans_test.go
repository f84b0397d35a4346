package plans

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestAddressRoundTrip(t *testing.T) {
	for _, s := range []string{
		`cluster.control.ilb["istio-pilot-ilb"]`,
		`vm.ecs1.file["/etc/certs/key.pem"]`,
		`service.details.service`,
		`vm.ecs1`,
		`cluster.remote1.reader`,
		`vm.web["a"]`,
		`vm.web[0]`,
		`vm.web["a.b"].file["/etc/x"]`,
		`vm.web[12].unit["istio"]`,
		`service.app["x"].endpoints`,
		`cluster.remote["eu"].secret`,
	} {
		a, err := ParseAddress(s)
		if err != nil {
			t.Fatalf("ParseAddress(%q): %v", s, err)
		}
		if got := a.String(); got != s {
			t.Errorf("ParseAddress(%q).String() = %q", s, got)
		}
	}
	for _, bad := range []string{"", "vm", "nope.x", `vm.a[x]`, "vm..file", `vm.a.file["x"`, `vm.a[-1]`, `vm.a[0`,
		`vm.a["x"`, `vm.a.file[0]`, `vm.a["x"]y`, `vm.a.file["x"].y`, `vm.[0]`} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) succeeded, want error", bad)
		}
	}
}

func TestAddressOrderAndContains(t *testing.T) {
	in := []Address{
		{Block: "vm", Name: "b", Type: "file", Key: "/z"},
		{Block: "cluster", Name: "control", Type: "ilb", Key: "mixer-ilb"},
		{Block: "vm", Name: "a", Type: "unit", Key: "istio"},
		{Block: "vm", Name: "a", Type: "file", Key: "/a"},
	}
	sort.Slice(in, func(i, j int) bool { return in[i].Less(in[j]) })
	var got []string
	for _, a := range in {
		got = append(got, a.String())
	}
	want := `cluster.control.ilb["mixer-ilb"] vm.a.file["/a"] vm.a.unit["istio"] vm.b.file["/z"]`
	if strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %v", got, want)
	}
	vm, _ := ParseAddress("vm.a")
	if !vm.Contains(in[1]) || vm.Contains(in[3]) || vm.Contains(in[0]) {
		t.Errorf("Contains wrong for %v", vm)
	}
}

func TestEqualNormalizes(t *testing.T) {
	if !Equal(map[string]string{"a": "b"}, map[string]any{"a": "b"}) {
		t.Error("map[string]string != map[string]any")
	}
	if !Equal([]int{1, 2}, []any{int64(1), float64(2)}) {
		t.Error("int slices differ")
	}
	if Equal(Unknown, Unknown) {
		t.Error("Unknown must equal nothing")
	}
	s := NewSensitive([]byte("token"))
	if !Equal(s, Fingerprint([]byte("token"))) || Equal(s, Fingerprint([]byte("other"))) {
		t.Error("Sensitive must compare by fingerprint")
	}
}

func TestSensitiveNeverPrints(t *testing.T) {
	s := NewSensitive([]byte("s3cr3t-token"))
	o := Object{"kubeconfig": s, "nested": map[string]any{"k": s}, "plain": "x"}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(b), fmt.Sprint(o), fmt.Sprintf("%#v %+v %s %q", o, o, s, s)} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("secret leaked: %s", out)
		}
	}
	r, names := Redact(o)
	if strings.Join(names, ",") != "kubeconfig,nested" {
		t.Errorf("Redact names = %v", names)
	}
	if r["kubeconfig"] != s.Fingerprint() || r["plain"] != "x" {
		t.Errorf("Redact = %v", r)
	}
	if Digest(o) != Digest(r) {
		t.Error("Digest must not depend on redaction")
	}
}

func TestInstanceAddresses(t *testing.T) {
	// Canonical names: [007] is [7].
	a, err := ParseAddress(`vm.web[007].file["/x"]`)
	if err != nil || a.Name != "web[7]" || a.String() != `vm.web[7].file["/x"]` {
		t.Fatalf("ParseAddress = %#v, %v; want name web[7]", a, err)
	}
	if label, key := a.Instance(); label != "web" || key != IntKey(7) || key.Value() != 7 {
		t.Errorf("Instance() = %q, %v", label, key)
	}
	if label, key := SplitName(`web["a\"]"]`); label != "web" || key != StringKey(`a"]`) {
		t.Errorf("SplitName of a quoted key = %q, %v", label, key)
	}
	if label, key := SplitName("ecs1"); label != "ecs1" || !key.IsNone() || key.Value() != nil {
		t.Errorf("SplitName(ecs1) = %q, %v", label, key)
	}
	// Numbers in numeric order, each instance's resources together.
	in := []string{`vm.web[10].unit["a"]`, `vm.web[2].unit["b"]`, `vm.web[2].file["/z"]`, `vm.webx.file["/a"]`, `vm.web[1].unit["z"]`}
	var addrs []Address
	for _, s := range in {
		a, err := ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	var got []string
	for _, a := range addrs {
		got = append(got, a.String())
	}
	want := `vm.web[1].unit["z"] vm.web[2].file["/z"] vm.web[2].unit["b"] vm.web[10].unit["a"] vm.webx.file["/a"]`
	if strings.Join(got, " ") != want {
		t.Errorf("order = %v\nwant    %v", got, want)
	}
	// A target without the key names every instance; with it, one.
	for _, tc := range []struct {
		target, addr string
		want         bool
	}{
		{"vm.web", `vm.web["a"].file["/x"]`, true},
		{"vm.web.file", `vm.web[3].file["/x"]`, true},
		{`vm.web["a"]`, `vm.web["a"].file["/x"]`, true},
		{`vm.web["a"]`, `vm.web["b"].file["/x"]`, false},
		{`vm.web["a"].unit`, `vm.web["a"].file["/x"]`, false},
		{"vm.we", `vm.web["a"].file["/x"]`, false},
		{"vm.web", `vm.webx.file["/x"]`, false},
	} {
		ta, _ := ParseAddress(tc.target)
		aa, _ := ParseAddress(tc.addr)
		if got := ta.Contains(aa); got != tc.want {
			t.Errorf("%s.Contains(%s) = %v, want %v", tc.target, tc.addr, got, tc.want)
		}
	}
}
