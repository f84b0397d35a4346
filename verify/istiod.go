package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshx-dev/meshx/config"
)

// endpointzPath is istiod's debug view of the endpoints it serves
// (pilot/pkg/xds/debug.go: /debug/endpointz, EndpointIndex.Shardz), on its
// monitoring port 15014 and its HTTP port 8080.
const endpointzPath = "/debug/endpointz"

// endpointz is /debug/endpointz's document: by service host name, by
// namespace, the endpoint shards (model.EndpointShards), each a list of
// model.IstioEndpoint. Only the fields verify reads.
type endpointz map[string]map[string]struct {
	Shards map[string][]struct {
		Addresses []string
		// HealthStatus is model.HealthStatus: 1 healthy, 2 unhealthy,
		// 3 draining, 4 terminating (0 from an istiod that predates it).
		HealthStatus int
	}
}

// istiodView is istiod's endpointz, read once for every service; why
// says why it could not be, and how says how to make it possible.
type istiodView struct {
	once     sync.Once
	doc      endpointz
	why, how string
}

// fixPortForward is how to make istiod's debug endpoint reachable.
func (v *verifier) fixPortForward() string {
	return fmt.Sprintf("Reach istiod's monitoring port as localhost (istiod answers its debug endpoints only to localhost and to istio-system identities): run kubectl -n %s port-forward deploy/%s 15014 and set debug_url = \"http://127.0.0.1:15014\" in meshx.istio.",
		v.cfg.Meshx.Istio.Namespace, v.istiodDeployment())
}

// istiodDeployment is the name of istiod's Deployment for the revision.
func (v *verifier) istiodDeployment() string {
	if r := v.cfg.Meshx.Istio.Revision; r != "" && r != "default" {
		return "istiod-" + r
	}
	return "istiod"
}

// endpointz reads istiod's /debug/endpointz at meshx.istio.debug_url,
// once.
func (v *verifier) endpointz(ctx context.Context) (endpointz, string, string) {
	v.istiod.once.Do(func() {
		base := v.cfg.Meshx.Istio.DebugURL
		if base == "" {
			v.istiod.why, v.istiod.how = "istiod's debug endpoint is not configured", v.fixPortForward()
			return
		}
		url := strings.TrimRight(base, "/") + endpointzPath
		ctx, cancel := context.WithTimeout(ctx, v.opts.RequestTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			v.istiod.why, v.istiod.how = firstLine(err), v.fixPortForward()
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			v.istiod.why = "cannot reach " + url + ": " + firstLine(err)
			v.istiod.how = "Check that what debug_url names runs (the kubectl port-forward to istiod, say). " + v.fixPortForward()
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			v.istiod.why, v.istiod.how = url+" answered "+resp.Status, v.fixPortForward()
		case resp.StatusCode == http.StatusNotFound:
			v.istiod.why = url + " answered " + resp.Status
			v.istiod.how = "istiod serves /debug/* only with ENABLE_DEBUG_ON_HTTP=true (its default): check istiod's environment, and that debug_url names istiod's monitoring port 15014."
		case resp.StatusCode != http.StatusOK:
			v.istiod.why, v.istiod.how = url+" answered "+resp.Status, "Check that debug_url names istiod's monitoring port 15014. "+v.fixPortForward()
		case err != nil:
			v.istiod.why, v.istiod.how = "reading "+url+": "+firstLine(err), v.fixPortForward()
		default:
			if err := json.Unmarshal(body, &v.istiod.doc); err != nil {
				v.istiod.why = url + " is not istiod's endpointz: " + firstLine(err)
				v.istiod.how = "Check that debug_url names istiod's monitoring port 15014."
			}
		}
	})
	return v.istiod.doc, v.istiod.why, v.istiod.how
}

// istiodEndpointsChecks compares the endpoints istiod serves for one
// service of the istiod era with its VMs' mesh IPs: what every sidecar
// gets through EDS. istiod builds them from the WorkloadEntries the
// Service selects, so a WorkloadEntry gone, relabelled or readdressed
// shows here and nowhere in the Kubernetes API.
func (v *verifier) istiodEndpointsChecks(ctx context.Context, s *config.Service) []Check {
	id := s.Namespace + "/" + s.ServiceName
	ck := Check{Subject: "service." + s.Name, Name: "istiod endpoints " + id}
	doc, why, how := v.endpointz(ctx)
	if why != "" {
		ck.Status, ck.Observed, ck.Fix = Skip, why, how
		return []Check{ck}
	}
	var want []string
	autoRegister := false
	for _, name := range s.VMs {
		if m := v.cfg.VM(name); m != nil {
			want = append(want, m.MeshIP)
			autoRegister = autoRegister || (m.Workload != nil && m.Workload.AutoRegister)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)

	// istiod names the service by its host, <name>.<namespace>.svc.<domain>.
	prefix := s.ServiceName + "." + s.Namespace + ".svc."
	var got, unhealthy []string
	for host, byNS := range doc {
		if !strings.HasPrefix(host, prefix) {
			continue
		}
		for _, shard := range byNS {
			for _, eps := range shard.Shards {
				for _, ep := range eps {
					if ep.HealthStatus > 1 {
						unhealthy = append(unhealthy, ep.Addresses...)
					} else {
						got = append(got, ep.Addresses...)
					}
				}
			}
		}
	}
	slices.Sort(got)
	got = slices.Compact(got)
	slices.Sort(unhealthy)
	unhealthy = slices.Compact(unhealthy)
	ck.Observed = ipsText(got)
	if len(unhealthy) > 0 {
		ck.Observed += "; unhealthy " + strings.Join(unhealthy, ", ")
	}
	if slices.Equal(got, want) {
		ck.Status = Pass
		return []Check{ck}
	}
	ck.Status, ck.Expected = Fail, ipsText(want)
	what, missing := ipDiffText(want, got, "does not list", "lists")
	ck.Fix = fmt.Sprintf("istiod %s behind %s, so sidecars do not send the service's traffic where it runs. ", what, id)
	switch {
	case missing && autoRegister:
		ck.Fix += "The VM registers itself when its agent connects: look at its unit, tcp and cert checks."
	case missing:
		ck.Fix += fmt.Sprintf("Run meshx apply: it restores the VM's WorkloadEntry (kubectl -n %s get workloadentries shows what is there).", s.Namespace)
	default:
		ck.Fix += fmt.Sprintf("Look for WorkloadEntries or pods meshx does not manage that the Service selects (kubectl -n %s get workloadentries,pods --show-labels).", s.Namespace)
	}
	return []Check{ck}
}

// defaultRequestTimeout bounds the request to istiod's debug endpoint
// when Options.RequestTimeout is 0.
const defaultRequestTimeout = 30 * time.Second
