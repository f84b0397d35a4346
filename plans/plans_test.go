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
	} {
		a, err := ParseAddress(s)
		if err != nil {
			t.Fatalf("ParseAddress(%q): %v", s, err)
		}
		if got := a.String(); got != s {
			t.Errorf("ParseAddress(%q).String() = %q", s, got)
		}
	}
	for _, bad := range []string{"", "vm", "nope.x", `vm.a[x]`, `vm.a["x"]`, "vm..file", `vm.a.file["x"`} {
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
