package kubelab

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestPool(t *testing.T) {
	p := newPool(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.3"))
	get := func(key string) string {
		a, ok := p.get(key)
		if !ok {
			return "full"
		}
		return a.String()
	}
	var got []string
	got = append(got, get("a"), get("b"), get("a"), get("c"), get("d"))
	p.release("b")
	got = append(got, get("d"))
	// take refuses an address outside the range or held by another key.
	if p.take(netip.MustParseAddr("10.0.0.9"), "e") || p.take(netip.MustParseAddr("10.0.0.1"), "e") {
		t.Error("take gave away an address it should not")
	}
	want := []string{"10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.3", "full", "10.0.0.2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPoolDoesNotReuseAtOnce(t *testing.T) {
	p := newPool(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.9"))
	a, _ := p.get("a")
	p.release("a")
	b, _ := p.get("b")
	if a == b {
		t.Errorf("released %s handed out again at once", a)
	}
}

func TestAddrs(t *testing.T) {
	tests := []struct{ prefix, nth1, last string }{
		{"10.20.0.0/16", "10.20.0.1", "10.20.255.255"},
		{"10.100.0.0/20", "10.100.0.1", "10.100.15.255"},
		{"192.168.1.128/25", "192.168.1.129", "192.168.1.255"},
	}
	for _, tt := range tests {
		p := netip.MustParsePrefix(tt.prefix)
		if got := nthAddr(p, 1).String(); got != tt.nth1 {
			t.Errorf("nthAddr(%s, 1) = %s, want %s", p, got, tt.nth1)
		}
		if got := lastAddr(p).String(); got != tt.last {
			t.Errorf("lastAddr(%s) = %s, want %s", p, got, tt.last)
		}
	}
}

func TestLBHostname(t *testing.T) {
	long := "a-very-long-service-name-that-goes-on-and-on-and-on-and-on-and-on"
	for _, tt := range []struct{ ns, name string }{{"istio-system", "istio-pilot-ilb"}, {"default", long}} {
		h := lbHostname("remote1", tt.ns, tt.name)
		if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
			t.Errorf("%s: %v", h, errs)
		}
		if h != lbHostname("remote1", tt.ns, tt.name) {
			t.Errorf("hostname of %s/%s is not stable", tt.ns, tt.name)
		}
	}
	if lbHostname("c", "a", "x") == lbHostname("c", "b", "x") {
		t.Error("services of the same name in two namespaces share a hostname")
	}
}

func TestAppliedSince(t *testing.T) {
	tests := []struct {
		applied, rv string
		want        bool
	}{
		{"10", "10", true}, {"11", "10", true}, {"9", "10", false}, {"", "10", false}, {"abc", "abc", true},
	}
	for _, tt := range tests {
		if got := appliedSince(tt.applied, tt.rv); got != tt.want {
			t.Errorf("appliedSince(%q, %q) = %v", tt.applied, tt.rv, got)
		}
	}
}

func TestSecretToSA(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ns/istio.default", "ns/default", true},
		{"ns/istio.", "", false},
		{"ns/other", "", false},
	}
	for _, tt := range tests {
		got, ok := secretToSA(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("secretToSA(%q) = %q, %v", tt.in, got, ok)
		}
	}
}
