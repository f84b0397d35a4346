package e2etest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/lab/kubelab"
)

// EastWestGateway creates what samples/multicluster/gen-eastwest-gateway.sh
// installs as far as meshx sees it: the LoadBalancer Service
// istio-eastwestgateway with its four ports, selecting the gateway's pod
// (labels istio: eastwestgateway, app: istio-eastwestgateway). The lab
// controller gives the Service an address on the VM bridge that carries
// traffic, and relays 15012 and 15017 of it to the lab's istiod. Both are
// deleted when the test ends.
//
// A relay is a faithful stand-in for the gateway on the VM's side: the
// istiod-gateway Gateway makes 15012 and 15017 TLS PASSTHROUGH, so the
// real gateway's Envoy terminates nothing; it reads the SNI of the
// agent's ClientHello, picks istiod by istiod-vs, and relays the bytes.
// The agent's TLS session, its certificate check of istiod's name and its
// token reach istiod exactly as they would through Envoy. What the relay
// does not do, pick the route from the VirtualService, is the gateway's
// job, not meshx's: tests check that istiod accepted the Gateway and
// VirtualService meshx wrote.
func EastWestGateway(t *testing.T, l *lab.Lab) *corev1.Service {
	t.Helper()
	cs := l.Clientset(t, "control")
	ctx := t.Context()
	labels := map[string]string{"istio": "eastwestgateway", "app": "istio-eastwestgateway"}
	err := kubelab.EnsureBackedPod(ctx, cs, kubelab.BackedPod{
		Namespace: "istio-system", Name: "istio-eastwestgateway-0", ServiceAccount: "istio-eastwestgateway",
		Image: "docker.io/istio/proxyv2", Labels: labels,
		Backends: kubelab.Backends{
			{Port: istio.IstiodXDSPort, Protocol: corev1.ProtocolTCP, Target: l.Istio.XDSAddress},
			{Port: istio.IstiodWebhookPort, Protocol: corev1.ProtocolTCP, Target: l.Istio.WebhookAddress},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	port := func(name string, p int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: p, TargetPort: intstr.FromInt32(p), Protocol: corev1.ProtocolTCP}
	}
	svc, err := cs.CoreV1().Services("istio-system").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-eastwestgateway", Namespace: "istio-system", Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"istio": "eastwestgateway"},
			Ports: []corev1.ServicePort{port("status-port", 15021), port("tls", 15443),
				port("tls-istiod", istio.IstiodXDSPort), port("tls-webhook", istio.IstiodWebhookPort)},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := Step(t)
		cs.CoreV1().Services("istio-system").Delete(ctx, "istio-eastwestgateway", metav1.DeleteOptions{})
		cs.CoreV1().Pods("istio-system").Delete(ctx, "istio-eastwestgateway-0", metav1.DeleteOptions{})
	})
	return svc
}
