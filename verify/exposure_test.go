package verify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
)

// fakeCluster answers Observe from live, per requested resource: the
// control cluster as the checks of the control cluster read it.
type fakeCluster struct {
	live func(r providers.Resource) providers.Observed
}

func (f fakeCluster) Observe(_ context.Context, req providers.ObserveRequest) providers.ObserveResponse {
	objs := map[plans.Address]providers.Observed{}
	for _, r := range req.Resources {
		objs[r.Addr] = f.live(r)
	}
	return providers.ObserveResponse{Objects: objs}
}

func (fakeCluster) Apply(context.Context, providers.ApplyRequest) providers.ApplyResponse {
	return providers.ApplyResponse{Err: errors.New("verify must not apply")}
}

func (fakeCluster) Close() error { return nil }

// exposureConfig loads an istiod-era environment whose control cluster
// exposes istiod as exposure says.
func exposureConfig(t *testing.T, exposure string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	src := `
meshx {
  environment = "demo"
  istio { profile = "1.28" }
}
cluster "control" {
  role            = "control"
  pod_cidr        = "10.0.0.0/16"
  istiod_exposure = "` + exposure + `"
  mesh_expansion { load_balancer = "none" }
}
vm "vm1" {
  address   = "192.168.1.5"
  namespace = "bookinfo"
  ssh { use_agent = true }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return cfg
}

// TestControlChecksByExposure: with istiod_exposure = "ilb" the control
// cluster's check is istiod-ilb's address; with "eastwest" it is the
// east-west gateway's address and istiod's port on it, and the Gateway and
// VirtualService meshx writes, each failing alone, with what to do, when
// it is broken.
func TestControlChecksByExposure(t *testing.T) {
	xdsPort := []any{map[string]any{"name": "tls-istiod", "port": int64(15012), "protocol": "TCP"}}
	// Labels other than the sample's istio=eastwestgateway, as a gateway
	// installed by the istio/gateway chart has.
	gatewaySelector := map[string]any{"istio": "eastwestgateway", "app": "istio-eastwestgateway", "topology.istio.io/network": "net1"}
	healthy := func(r providers.Resource) providers.Observed {
		switch r.Kind {
		case kube.KindLoadBalancer:
			return providers.Observed{Exists: true, Outputs: plans.Object{"address": "10.0.0.5", "selector": gatewaySelector}, Object: plans.Object{"ports": xdsPort}}
		case kube.KindGateway, kube.KindVirtualService:
			// As apply wrote them: the Gateway selects what the gateway
			// Service selects.
			obj, err := r.Render(planner.AppliedOutputs(map[plans.Address]plans.Object{r.DependsOn[0]: {"selector": gatewaySelector}}))
			if err != nil {
				t.Fatal(err)
			}
			return providers.Observed{Exists: true, Object: obj}
		}
		return providers.Observed{}
	}
	breaking := func(kind string, broken func(providers.Observed) providers.Observed) func(providers.Resource) providers.Observed {
		return func(r providers.Resource) providers.Observed {
			o := healthy(r)
			if r.Kind == kind {
				o = broken(o)
			}
			return o
		}
	}
	const (
		gwCheck = "eastwest gateway istio-eastwestgateway"
		gateway = "gateway istio-system/istiod-gateway"
		vs      = "virtualservice istio-system/istiod-vs"
	)
	for _, tc := range []struct {
		name, exposure string
		live           func(providers.Resource) providers.Observed
		want           []string // "check status"
		fix            string   // of the failing check
	}{
		{"ilb", "ilb", healthy, []string{"ilb istiod-ilb pass"}, ""},
		{"eastwest", "eastwest", healthy, []string{gwCheck + " pass", gateway + " pass", vs + " pass"}, ""},
		{"gateway Service missing", "eastwest", breaking(kube.KindLoadBalancer, func(providers.Observed) providers.Observed { return providers.Observed{} }),
			[]string{gwCheck + " fail", gateway + " pass", vs + " pass"}, "gen-eastwest-gateway.sh"},
		{"gateway without istiod's port", "eastwest", breaking(kube.KindLoadBalancer, func(o providers.Observed) providers.Observed {
			o.Object = plans.Object{"ports": []any{map[string]any{"name": "tls", "port": int64(15443), "protocol": "TCP"}}}
			return o
		}), []string{gwCheck + " fail", gateway + " pass", vs + " pass"}, "port 15012"},
		{"VirtualService deleted", "eastwest", breaking(kube.KindVirtualService, func(providers.Observed) providers.Observed { return providers.Observed{} }),
			[]string{gwCheck + " pass", gateway + " pass", vs + " fail"}, "Run meshx apply: it writes istiod-vs"},
		{"Gateway changed", "eastwest", breaking(kube.KindGateway, func(o providers.Observed) providers.Observed {
			o.Object = plans.Object{"spec": map[string]any{"selector": map[string]any{"istio": "ingressgateway"}}}
			return o
		}), []string{gwCheck + " pass", gateway + " fail", vs + " pass"}, "restores the spec of istiod-gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := exposureConfig(t, tc.exposure)
			rep, diags := Run(t.Context(), cfg, Options{Connect: func(context.Context, *config.Config) (map[string]providers.Provider, error) {
				return map[string]providers.Provider{"cluster.control": fakeCluster{tc.live}}, nil
			}})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			var got []string
			for _, c := range rep.Checks {
				if c.Subject == "cluster.control" {
					got = append(got, c.Name+" "+string(c.Status))
					if c.Status == Fail && !strings.Contains(c.Fix, tc.fix) {
						t.Errorf("%s: fix %q lacks %q", c.Name, c.Fix, tc.fix)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("control cluster checks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIstiodFrontJudge: a VM's tcp check names istiod's front as the
// exposure has it, and a VM whose /etc/hosts still holds the front's old
// address fails dns and tcp saying where it is now.
func TestIstiodFrontJudge(t *testing.T) {
	name := "istiod.istio-system.svc"
	for _, tc := range []struct {
		exposure, tcp, what string
	}{
		{"ilb", "tcp istiod-ilb 10.0.0.5:15012", "istiod-ilb"},
		{"eastwest", "tcp eastwest gateway istio-eastwestgateway 10.0.0.5:15012", "the east-west gateway istio-eastwestgateway"},
	} {
		f := frontOf(exposureConfig(t, tc.exposure).Control(), "istio-system")
		ok := f.judge("vm.vm1", istiodInput{name: name, want: "10.0.0.5", onVM: "10.0.0.5"},
			vmProbe{resolved: map[string][]string{name: {"10.0.0.5"}}, tcp: map[string]string{"10.0.0.5:15012": "ok"}})
		var got []string
		for _, c := range ok {
			got = append(got, c.Name+" "+string(c.Status))
		}
		if diff := cmp.Diff([]string{"dns " + name + " pass", tc.tcp + " pass"}, got); diff != "" {
			t.Errorf("%s: checks (-want +got):\n%s", tc.exposure, diff)
		}

		moved := f.judge("vm.vm1", istiodInput{name: name, want: "10.0.0.6", onVM: "10.0.0.5"},
			vmProbe{resolved: map[string][]string{name: {"10.0.0.5"}}, tcp: map[string]string{"10.0.0.5:15012": "Connection refused"}})
		if len(moved) != 2 || moved[0].Status != Fail || moved[1].Status != Fail || moved[1].Name != tc.tcp {
			t.Fatalf("%s: moved: %+v", tc.exposure, moved)
		}
		e := moved[0].Fix + " " + moved[1].Fix
		for _, want := range []string{"address " + tc.what + " no longer has", "no longer the address of " + tc.what + " (it is 10.0.0.6 now)"} {
			if !strings.Contains(e, want) {
				t.Errorf("%s: fixes %q lack %q", tc.exposure, e, want)
			}
		}
		if strings.Contains(e, "ilb") != (tc.exposure == "ilb") {
			t.Errorf("%s: fixes %q", tc.exposure, e)
		}
	}
}
