package istio

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestExposeIstiod: the specs of istiod-gateway and istiod-vs are those
// of Istio's samples/multicluster/expose-istiod.yaml, and for a revision
// those of expose-istiod-rev.yaml.tmpl with the revision filled in (the
// e2e test modern.TestEastWest compares the objects it applied with the
// files of the lab's Istio module).
func TestExposeIstiod(t *testing.T) {
	for _, tc := range []struct {
		revision, wantName, gateway, vs string
	}{
		{"", "istiod-vs", `
selector: {istio: eastwestgateway}
servers:
- port: {name: tls-istiod, number: 15012, protocol: tls}
  tls: {mode: PASSTHROUGH}
  hosts: ["*"]
- port: {name: tls-istiodwebhook, number: 15017, protocol: tls}
  tls: {mode: PASSTHROUGH}
  hosts: ["*"]
`, `
hosts: ["*"]
gateways: [istiod-gateway]
tls:
- match: [{port: 15012, sniHosts: ["*"]}]
  route: [{destination: {host: istiod.istio-system.svc.cluster.local, port: {number: 15012}}}]
- match: [{port: 15017, sniHosts: ["*"]}]
  route: [{destination: {host: istiod.istio-system.svc.cluster.local, port: {number: 443}}}]
`},
		{"canary", "istiod-vs-canary", `
selector: {istio: eastwestgateway}
servers:
- port: {name: tls-istiod, number: 15012, protocol: tls}
  tls: {mode: PASSTHROUGH}
  hosts: ["*"]
- port: {name: tls-webhook, number: 15017, protocol: tls}
  tls: {mode: PASSTHROUGH}
  hosts: ["*"]
`, `
hosts: ["*"]
gateways: [istiod-gateway]
tls:
- match: [{port: 15012, sniHosts: [istiod-canary.istio-system.svc, istiod-canary.istio-system.svc.cluster.local]}]
  route: [{destination: {host: istiod-canary.istio-system.svc.cluster.local, port: {number: 15012}}}]
- match: [{port: 15017, sniHosts: [istiod-canary.istio-system.svc, istiod-canary.istio-system.svc.cluster.local]}]
  route: [{destination: {host: istiod-canary.istio-system.svc.cluster.local, port: {number: 443}}}]
`},
	} {
		name, vs := IstiodVirtualService("istio-system", tc.revision)
		if name != tc.wantName {
			t.Errorf("revision %q: VirtualService %q, want %q", tc.revision, name, tc.wantName)
		}
		for what, got := range map[string]map[string]any{"Gateway": IstiodGatewaySpec(tc.revision), "VirtualService": vs} {
			want := tc.gateway
			if what == "VirtualService" {
				want = tc.vs
			}
			var w, g any
			if err := yaml.Unmarshal([]byte(want), &w); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("revision %q: %s spec (-want +got):\n%s", tc.revision, what, diff)
			}
		}
	}
}
