package verify

import (
	"fmt"
	"strings"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
	"github.com/meshx-dev/meshx/providers/kube"
)

// eastWestType is the address type of the east-west gateway Service the
// planner reads with istiod_exposure = "eastwest" (kube.EastWestGateway).
const eastWestType = "eastwest_gateway"

// istiodFront is what VMs of the istiod era reach istiod through, as the
// control cluster's istiod_exposure says: meshx's istiod-ilb, or an
// existing east-west gateway (Istio's samples/multicluster/
// gen-eastwest-gateway.sh) with the Gateway and VirtualService of
// expose-istiod.yaml. Its address is the one meshx writes into the VMs'
// /etc/hosts line for istiod's name.
type istiodFront struct {
	// label names it in check names: "istiod-ilb", or "eastwest gateway
	// istio-eastwestgateway".
	label string
	// what names it in sentences.
	what string
	// check is the name of the control cluster's check of its address.
	check string
	// backends says, in a sentence, where to look when the VMs cannot
	// connect to it.
	backends string
}

// istiodFront is how the configuration exposes istiod to its VMs.
func (v *verifier) istiodFront() istiodFront {
	return frontOf(v.cfg.Control(), v.cfg.Meshx.Istio.Namespace)
}

// frontOf is control's istiodFront, whose Services are in istioNS.
func frontOf(control *config.Cluster, istioNS string) istiodFront {
	if control != nil && control.IstiodExposure == config.ExposureEastWest {
		name := control.EastWestGateway
		return istiodFront{
			label: "eastwest gateway " + name,
			what:  "the east-west gateway " + name,
			check: "eastwest gateway " + name,
			backends: fmt.Sprintf("check the gateway's pods (kubectl -n %s get endpoints %s), that its Service has port %d, the gateway and virtualservice checks, and any firewall between the VM and it.",
				istioNS, name, istio.IstiodXDSPort),
		}
	}
	name := istio.IstiodILB.Name
	return istiodFront{
		label:    name,
		what:     name,
		check:    "ilb " + name,
		backends: fmt.Sprintf("check %s's backends (kubectl -n %s get endpoints %s) and any firewall between the VM and it.", name, istioNS, name),
	}
}

// lbCheckName names the control cluster's check of load balancer r: "ilb
// NAME" for one meshx manages, "eastwest gateway NAME" for the east-west
// gateway it reads.
func lbCheckName(r providers.Resource) string {
	if r.Addr.Type == eastWestType {
		_, name, _ := strings.Cut(r.Addr.Key, "/")
		return "eastwest gateway " + name
	}
	return "ilb " + r.Addr.Key
}

// gatewayPortCheck fails ck, an east-west gateway's passing check, when
// its Service has no TCP port for istiod's xDS/CA port: the port VMs
// connect to, which gen-eastwest-gateway.sh adds as tls-istiod.
func gatewayPortCheck(ck *Check, o providers.Observed, namespace, name string) {
	ports, _ := o.Object["ports"].([]any)
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok && plans.Equal(m["port"], int64(istio.IstiodXDSPort)) && m["protocol"] == "TCP" {
			return
		}
	}
	ck.Status, ck.Expected = Fail, fmt.Sprintf("port %d", istio.IstiodXDSPort)
	ck.Observed += fmt.Sprintf(", no port %d", istio.IstiodXDSPort)
	ck.Fix = fmt.Sprintf("VMs reach istiod on the gateway's port %d, which the Service %s/%s does not have: install the gateway with Istio's samples/multicluster/gen-eastwest-gateway.sh (its tls-istiod port), or add the port.",
		istio.IstiodXDSPort, namespace, name)
}

// routeChecks says, for the control cluster with istiod_exposure =
// "eastwest", whether the istiod-gateway Gateway and the istiod-vs
// VirtualService meshx writes are there as it wrote them: without them
// the east-west gateway passes nothing through to istiod.
func (v *verifier) routeChecks(c *config.Cluster) []Check {
	subject := "cluster." + c.Name
	var out []Check
	for _, r := range v.exp.Resources {
		if r.Target != subject || (r.Kind != kube.KindGateway && r.Kind != kube.KindVirtualService) {
			continue
		}
		kind, role := "gateway", "makes the east-west gateway pass ports 15012 and 15017 through to istiod"
		if r.Kind == kube.KindVirtualService {
			kind, role = "virtualservice", "routes what the east-west gateway passes through to istiod's Service"
		}
		ns, name, _ := strings.Cut(r.Addr.Key, "/")
		ck := Check{Subject: subject, Name: kind + " " + r.Addr.Key}
		o := v.observed[r.Addr]
		// The Gateway selects what the gateway Service selects: render
		// it from what the cluster holds, as apply did. Without the
		// Service there is nothing to judge its selector by, and the
		// Service's own check fails.
		want, err := r.Render(observedOutputs(v.outputs))
		if spec, ok := want["spec"].(map[string]any); ok && plans.IsUnknown(spec["selector"]) {
			live, _ := o.Object["spec"].(map[string]any)
			spec["selector"] = live["selector"]
		}
		switch cerr := v.clusterErr[subject]; {
		case cerr != nil:
			ck.Status, ck.Observed = Fail, "cannot read the cluster: "+firstLine(cerr)
			ck.Fix = fixUnreachable
		case err != nil:
			ck.Status, ck.Observed, ck.Fix = Fail, firstLine(err), "This is a bug in meshx: please report it."
		case !o.Exists:
			ck.Status, ck.Observed, ck.Expected = Fail, "missing", "present"
			ck.Fix = fmt.Sprintf("Run meshx apply: it writes %s, which %s (Istio's samples/multicluster/expose-istiod.yaml).", name, role)
		case !plans.Equal(want["spec"], o.Object["spec"]):
			ck.Status, ck.Observed, ck.Expected = Fail, "spec changed", "the spec meshx applied"
			ck.Fix = fmt.Sprintf("Run meshx apply: it restores the spec of %s, which %s (kubectl -n %s get %s %s -o yaml shows what is there).", name, role, ns, kind, name)
		default:
			ck.Status, ck.Observed = Pass, "present"
		}
		out = append(out, ck)
	}
	return out
}

// observedOutputs answers Render from the outputs verify observed; one it
// did not observe (of a resource that is not there) is unknown.
type observedOutputs map[plans.Address]plans.Object

func (o observedOutputs) Output(addr plans.Address, name string) (any, bool) {
	if v, ok := o[addr][name]; ok {
		return v, true
	}
	return plans.Unknown, true
}
