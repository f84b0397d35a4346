package kubelab

import "testing"

func TestBackendsRoundTrip(t *testing.T) {
	in := "15012/TCP=127.0.0.1:4000,53/UDP=127.0.0.1:5353"
	b, err := ParseBackends(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != in {
		t.Errorf("round trip %q -> %q", in, got)
	}
	for _, bad := range []string{"15012=127.0.0.1:1", "x/TCP=127.0.0.1:1", "53/SCTP=127.0.0.1:1", "53/UDP=nohost"} {
		if _, err := ParseBackends(bad); err == nil {
			t.Errorf("ParseBackends(%q) accepted it", bad)
		}
	}
}
