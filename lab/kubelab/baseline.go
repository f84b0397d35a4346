package kubelab

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// labPod is one of the pods the lab makes exist, with the labels Istio's
// mesh-expansion.yaml and setupMeshEx.sh select on.
type labPod struct {
	Namespace, Name, ServiceAccount, Image string
	Labels                                 map[string]string
	Ports                                  []int32
	ControlOnly                            bool // only in the control cluster
}

// LabPods are the pods every lab cluster has (kube-dns) and the Istio 1.0
// control-plane pods the control cluster has.
var LabPods = []labPod{
	{Namespace: "kube-system", Name: "kube-dns-0", ServiceAccount: "kube-dns", Image: "registry.k8s.io/coredns/coredns:v1.11.1",
		Labels: map[string]string{"k8s-app": "kube-dns"}, Ports: []int32{53}},
	{Namespace: IstioNamespace, Name: "istio-pilot-0", ServiceAccount: "istio-pilot-service-account", Image: "docker.io/istio/pilot:1.0.6",
		Labels: map[string]string{"istio": "pilot", "app": "pilot"}, Ports: []int32{8080, 15003, 15005, 15007, 15010, 15011}, ControlOnly: true},
	{Namespace: IstioNamespace, Name: "istio-policy-0", ServiceAccount: "istio-mixer-service-account", Image: "docker.io/istio/mixer:1.0.6",
		Labels: map[string]string{"istio": "mixer", "istio-mixer-type": "policy", "app": "policy"}, Ports: []int32{9091, 15004}, ControlOnly: true},
	{Namespace: IstioNamespace, Name: "istio-telemetry-0", ServiceAccount: "istio-mixer-service-account", Image: "docker.io/istio/mixer:1.0.6",
		Labels: map[string]string{"istio": "mixer", "istio-mixer-type": "telemetry", "app": "telemetry"}, Ports: []int32{9091, 15004}, ControlOnly: true},
	{Namespace: IstioNamespace, Name: "istio-citadel-0", ServiceAccount: "istio-citadel-service-account", Image: "docker.io/istio/citadel:1.0.6",
		Labels: map[string]string{"istio": "citadel"}, Ports: []int32{8060}, ControlOnly: true},
	{Namespace: IstioNamespace, Name: "istio-statsd-prom-bridge-0", ServiceAccount: "istio-mixer-service-account", Image: "docker.io/prom/statsd-exporter:v0.6.0",
		Labels: map[string]string{"istio": "statsd-prom-bridge"}, Ports: []int32{9102, 9125}, ControlOnly: true},
	{Namespace: IstioNamespace, Name: "istio-tracing-0", ServiceAccount: "default", Image: "docker.io/jaegertracing/all-in-one:1.5",
		Labels: map[string]string{"app": "jaeger"}, Ports: []int32{9411, 16686}, ControlOnly: true},
}

func (c *controller) podsFor() []labPod {
	var out []labPod
	for _, p := range LabPods {
		if !p.ControlOnly || c.st.Role == RoleControl {
			out = append(out, p)
		}
	}
	return out
}

// ensureBaseline creates what every lab cluster starts with; existing
// objects are left as they are.
func (c *controller) ensureBaseline(ctx context.Context) error {
	cs := c.cs.CoreV1()
	podCIDR := netip.MustParsePrefix(c.st.PodCIDR)
	create := func(what string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s: %w", what, err)
		}
		return nil
	}

	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: NodeName, Labels: map[string]string{
			"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "type": "meshx-lab"}},
		Spec: corev1.NodeSpec{PodCIDR: podCIDR.String(), PodCIDRs: []string{podCIDR.String()}},
	}
	n, err := cs.Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		n, err = cs.Nodes().Get(ctx, NodeName, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("node %s: %w", NodeName, err)
	}
	if len(n.Status.Conditions) == 0 {
		now := metav1.Now()
		n.Status = corev1.NodeStatus{
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"), corev1.ResourcePods: resource.MustParse("1000")},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"), corev1.ResourcePods: resource.MustParse("1000")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "meshx lab node: no kubelet, pods are simulated", LastHeartbeatTime: now, LastTransitionTime: now}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: c.node.String()}, {Type: corev1.NodeHostName, Address: NodeName}},
			NodeInfo:  corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64", KubeletVersion: "v1.37.2"},
		}
		if _, err := cs.Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", NodeName, err)
		}
	}

	if err := create("namespace "+IstioNamespace, func() error {
		_, err := cs.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: IstioNamespace}}, metav1.CreateOptions{})
		return err
	}()); err != nil {
		return err
	}
	if err := create("configmap "+ConfigMapName, func() error {
		_, err := cs.ConfigMaps(ConfigNamespace).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: ConfigNamespace},
			Data:       map[string]string{KeyLBMode: c.st.LBMode, KeyLBDelay: c.st.LBDelay},
		}, metav1.CreateOptions{})
		return err
	}()); err != nil {
		return err
	}
	dnsIP := c.st.DNSServiceIP
	if err := create("service kube-dns", func() error {
		_, err := cs.Services("kube-system").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system",
				Labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS"}},
			Spec: corev1.ServiceSpec{
				Selector:  map[string]string{"k8s-app": "kube-dns"},
				ClusterIP: dnsIP,
				Ports: []corev1.ServicePort{
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
					{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
				},
			},
		}, metav1.CreateOptions{})
		return err
	}()); err != nil {
		return err
	}
	for _, p := range c.podsFor() {
		if err := create("serviceaccount "+p.ServiceAccount, func() error {
			_, err := cs.ServiceAccounts(p.Namespace).Create(ctx, &corev1.ServiceAccount{
				ObjectMeta: metav1.ObjectMeta{Name: p.ServiceAccount, Namespace: p.Namespace}}, metav1.CreateOptions{})
			return err
		}()); err != nil {
			return err
		}
		var ports []corev1.ContainerPort
		for _, port := range p.Ports {
			ports = append(ports, corev1.ContainerPort{ContainerPort: port})
		}
		if err := create("pod "+p.Name, func() error {
			_, err := cs.Pods(p.Namespace).Create(ctx, nodePod(p.Namespace, p.Name, p.ServiceAccount, p.Image, p.Labels, nil, ports), metav1.CreateOptions{})
			return err
		}()); err != nil {
			return err
		}
	}
	return nil
}

// nodePod is a lab pod bound to the lab node, one container "main".
func nodePod(ns, name, sa, image string, labels, annotations map[string]string, ports []corev1.ContainerPort) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: annotations},
		Spec: corev1.PodSpec{
			NodeName:                     NodeName,
			ServiceAccountName:           sa,
			AutomountServiceAccountToken: ptr.To(false),
			Containers:                   []corev1.Container{{Name: "main", Image: image, Ports: ports}},
		},
	}
}

// waitReady returns once the cluster's lab controller, controller manager
// and baseline work: every lab pod runs with an IP, the ServiceAccount
// controller made istio-system's default account and the Citadel stand-in
// its istio.default secret.
func waitReady(ctx context.Context, cfg Config, rc *rest.Config) error {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range LabPods {
		if !p.ControlOnly || cfg.Role == RoleControl {
			want[p.Namespace+"/"+p.Name] = true
		}
	}
	var last error
	for {
		last = func() error {
			pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{
				FieldSelector: fields.OneTermEqualSelector("spec.nodeName", NodeName).String()})
			if err != nil {
				return err
			}
			running := 0
			for _, p := range pods.Items {
				if want[p.Namespace+"/"+p.Name] && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
					running++
				}
			}
			if running < len(want) {
				return fmt.Errorf("%d of %d lab pods running", running, len(want))
			}
			if _, err := cs.CoreV1().ServiceAccounts(IstioNamespace).Get(ctx, "default", metav1.GetOptions{}); err != nil {
				return fmt.Errorf("controller manager: %w", err)
			}
			if _, err := cs.CoreV1().Secrets(IstioNamespace).Get(ctx, SecretPrefix+"default", metav1.GetOptions{}); err != nil {
				return fmt.Errorf("citadel stand-in: %w", err)
			}
			if _, err := cs.CoreV1().ConfigMaps(ConfigNamespace).Get(ctx, StatusConfigMap, metav1.GetOptions{}); err != nil {
				return fmt.Errorf("lb controller: %w", err)
			}
			return nil
		}()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %v", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
