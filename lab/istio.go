package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshx-dev/meshx/lab/internal/proc"
	"github.com/meshx-dev/meshx/lab/kubelab"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Istio is the real Istio control plane of a lab (Options.Istio): istiod
// (pilot-discovery of IstioVersion) running out of cluster against the
// control cluster, and the Istio tools built beside it.
type Istio struct {
	Version   string // IstioVersion
	ClusterID string // istiod's cluster ID: the control cluster's name
	// DebugURL is istiod's plain HTTP server: /ready, /debug/registryz,
	// /debug/endpointz, /debug/clusterz, /debug/connections, ...
	DebugURL string
	// XDSAddress is istiod's TLS gRPC server (port 15012 in a cluster):
	// xDS and the CA (Istio certificate service).
	XDSAddress string
	// PlaintextXDSAddress is its plain gRPC xDS server (15010).
	PlaintextXDSAddress string
	// WebhookAddress is its HTTPS server (15017): webhooks and debug.
	WebhookAddress string
	// MonitoringAddress serves /metrics (15014).
	MonitoringAddress string
	Istioctl          string // path of istioctl
	PilotAgent        string // path of pilot-agent
	BinDir            string // IstioBinDir: binaries, CRDs, packaging files
	// SidecarDeb is the modern istio-sidecar .deb (real pilot-agent, stand-in
	// envoy); "" until the lab builds one.
	SidecarDeb string
	Log        string // istiod's log file
	// DNS maps each cluster's name to the address (127.0.0.1:port, UDP and
	// TCP) of its CoreDNS, the cluster's kube-dns, which also answers the
	// elb.meshx.test names of its load balancers in hostname mode.
	DNS map[string]string
}

type istioFile struct {
	Version             string            `json:"version"`
	ClusterID           string            `json:"clusterID"`
	DebugURL            string            `json:"debugURL"`
	XDSAddress          string            `json:"xdsAddress"`
	PlaintextXDSAddress string            `json:"plaintextXDSAddress"`
	WebhookAddress      string            `json:"webhookAddress"`
	MonitoringAddress   string            `json:"monitoringAddress"`
	Istioctl            string            `json:"istioctl"`
	PilotAgent          string            `json:"pilotAgent"`
	BinDir              string            `json:"binDir"`
	SidecarDeb          string            `json:"sidecarDeb,omitempty"`
	Log                 string            `json:"log"`
	DNS                 map[string]string `json:"dns"`
}

func (i *Istio) file() *istioFile {
	if i == nil {
		return nil
	}
	f := istioFile(*i)
	return &f
}

func (f *istioFile) istio() *Istio {
	if f == nil {
		return nil
	}
	i := Istio(*f)
	return &i
}

// Istio ports as a cluster install has them; the lab's istiod listens on
// kernel-chosen loopback ports instead and the lab controller's
// load-balancer forwarders map these to them.
const (
	IstiodPortHTTP       = 8080
	IstiodPortXDS        = 15010
	IstiodPortSecureXDS  = 15012
	IstiodPortMonitoring = 15014
	IstiodPortWebhook    = 15017
)

// IstiodPod is the pod that stands for istiod in the control cluster, with
// the labels an Istio install gives istiod's pods, so a Service selecting
// istiod selects something.
const IstiodPod = "istiod-0"

func istioDir(dir string) string { return filepath.Join(dir, "istio") }

func istioProcessesFile(dir string) string {
	return filepath.Join(istioDir(dir), "processes.json")
}

// startIstio applies the Istio CRDs to every cluster and starts istiod
// against the control cluster, or reuses the istiod that runs already.
func startIstio(ctx context.Context, o Options, l *Lab) (*Istio, error) {
	dir := istioDir(o.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	crds := filepath.Join(o.IstioBinDir, "crd-all.gen.yaml")
	var wg sync.WaitGroup
	errs := make([]error, len(l.Clusters))
	for i, c := range l.Clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := applyCRDs(ctx, c.Kubeconfig, crds); err != nil {
				errs[i] = fmt.Errorf("cluster %s: istio CRDs: %w", c.Name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ctl := l.ControlCluster()
	if ctl == nil {
		return nil, fmt.Errorf("lab %s: istiod needs a control cluster", o.Name)
	}
	if err := ensureMeshConfigMap(ctx, ctl); err != nil {
		return nil, fmt.Errorf("lab %s: %w", o.Name, err)
	}
	t0 := time.Now()
	ist, err := reuseIstiod(ctx, o, l)
	if err != nil {
		if err := stopIstio(o.Dir); err != nil {
			return nil, err
		}
		if ist, err = startIstiod(ctx, o, ctl); err != nil {
			return nil, fmt.Errorf("lab %s: istiod: %w", o.Name, err)
		}
		ist.DNS = map[string]string{}
		for _, c := range l.Clusters {
			addr, err := startCoreDNS(ctx, o, &c)
			if err != nil {
				return nil, fmt.Errorf("lab %s: cluster %s: coredns: %w", o.Name, c.Name, err)
			}
			ist.DNS[c.Name] = addr
		}
		if err := proc.WriteJSON(istioStateFile(o.Dir), ist.file(), 0o644); err != nil {
			return nil, err
		}
	}
	if err := ensureIstiodPod(ctx, ctl, ist); err != nil {
		return nil, fmt.Errorf("lab %s: %w", o.Name, err)
	}
	for _, c := range l.Clusters {
		if err := ensureCoreDNSPod(ctx, &c, ist.DNS[c.Name]); err != nil {
			return nil, fmt.Errorf("lab %s: cluster %s: %w", o.Name, c.Name, err)
		}
	}
	if o.VMs > 0 {
		if ist.SidecarDeb, err = buildModernDeb(ctx, o.IstioBinDir, dir); err != nil {
			return nil, fmt.Errorf("lab %s: %w", o.Name, err)
		}
	}
	fmt.Fprintf(o.Log, "istiod %s: ready in %s (debug %s, xDS/CA %s)\n", ist.ClusterID, time.Since(t0).Round(10*time.Millisecond), ist.DebugURL, ist.XDSAddress)
	return ist, nil
}

func istioStateFile(dir string) string { return filepath.Join(istioDir(dir), "istio.json") }

func reuseIstiod(ctx context.Context, o Options, l *Lab) (*Istio, error) {
	ctl := l.ControlCluster()
	var f istioFile
	if err := proc.ReadJSON(istioStateFile(o.Dir), &f); err != nil {
		return nil, err
	}
	if f.Version != IstioVersion || f.ClusterID != ctl.Name || f.BinDir != o.IstioBinDir || len(f.DNS) != len(l.Clusters) {
		return nil, errors.New("configuration changed")
	}
	recs, err := proc.Load(istioProcessesFile(o.Dir))
	if err != nil || len(recs) == 0 {
		return nil, errors.New("istiod not recorded")
	}
	for _, r := range recs {
		if !r.Alive() {
			return nil, fmt.Errorf("%s is not running", r.Name)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := waitIstiodReady(cctx, f.DebugURL, recs[0]); err != nil {
		return nil, err
	}
	for _, c := range l.Clusters {
		if err := waitDNS(cctx, f.DNS[c.Name]); err != nil {
			return nil, fmt.Errorf("coredns of %s: %w", c.Name, err)
		}
	}
	return f.istio(), nil
}

// startIstiod runs pilot-discovery out of cluster with the control
// cluster's admin kubeconfig. Every listener gets a kernel-chosen loopback
// port: several labs run side by side.
func startIstiod(ctx context.Context, o Options, ctl *Cluster) (*Istio, error) {
	dir := istioDir(o.Dir)
	work := filepath.Join(dir, "istiod")
	// istiod resolves ./etc/istio/config/mesh, ./var/run/secrets/... and
	// ./etc/cacerts against its working directory: a fresh one each time.
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := kubelab.FreePorts(6)
		if err != nil {
			return nil, err
		}
		addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
		ist := &Istio{
			Version:             IstioVersion,
			ClusterID:           ctl.Name,
			DebugURL:            "http://" + addr(0),
			XDSAddress:          addr(1),
			PlaintextXDSAddress: addr(2),
			WebhookAddress:      addr(3),
			MonitoringAddress:   addr(4),
			Istioctl:            filepath.Join(o.IstioBinDir, "istioctl"),
			PilotAgent:          filepath.Join(o.IstioBinDir, "pilot-agent"),
			BinDir:              o.IstioBinDir,
			Log:                 filepath.Join(dir, "istiod.log"),
		}
		r, err := proc.Start(proc.Spec{
			Name: "istiod",
			Argv: []string{filepath.Join(o.IstioBinDir, "pilot-discovery"), "discovery",
				"--kubeconfig=" + ctl.Kubeconfig,
				"--clusterID=" + ctl.Name,
				"--httpAddr=" + addr(0),
				"--secureGRPCAddr=" + addr(1),
				"--grpcAddr=" + addr(2),
				"--httpsAddr=" + addr(3),
				"--monitoringAddr=" + addr(4),
				"--ctrlz_address=127.0.0.1",
				"--ctrlz_port=" + strconv.Itoa(ports[5]),
				"--profile=false",
				"--log_output_level=default:info",
			},
			Env: []string{
				"POD_NAMESPACE=" + kubelab.IstioNamespace,
				"POD_NAME=" + IstiodPod,
				"REVISION=default",
				"CLUSTER_ID=" + ctl.Name,
				"PILOT_ENABLE_WORKLOAD_ENTRY_AUTOREGISTRATION=true",
				"PILOT_ENABLE_WORKLOAD_ENTRY_HEALTHCHECKS=true",
				// No injector or validation webhook configurations exist to
				// patch: the lab runs no pods.
				"INJECTION_WEBHOOK_CONFIG_NAME=",
				"VALIDATION_WEBHOOK_CONFIG_NAME=",
				"KUBECONFIG=" + ctl.Kubeconfig,
			},
			Dir: work,
			Log: ist.Log,
		})
		if err != nil {
			return nil, err
		}
		if err := addIstioProcess(o.Dir, r); err != nil {
			r.Stop(time.Second)
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = waitIstiodReady(wctx, ist.DebugURL, r)
		cancel()
		if err == nil {
			return ist, nil
		}
		r.Stop(5 * time.Second)
		tail := proc.Tail(ist.Log, 20)
		lastErr = fmt.Errorf("%w\n%s", err, tail)
		if !strings.Contains(tail, "address already in use") {
			break
		}
	}
	return nil, lastErr
}

// waitIstiodReady polls istiod's /ready until it answers 200.
func waitIstiodReady(ctx context.Context, debugURL string, r proc.Record) error {
	cl := &http.Client{Timeout: 2 * time.Second}
	defer cl.CloseIdleConnections()
	var last error
	for {
		if !r.Alive() {
			return errors.New("istiod exited")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, debugURL+"/ready", nil)
		resp, err := cl.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/ready: %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %v", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ensureIstiodPod makes the pod that stands for istiod exist in the control
// cluster, labelled as an Istio install labels istiod and annotated with
// where its ports really are, for the lab controller's forwarders.
func ensureIstiodPod(ctx context.Context, ctl *Cluster, ist *Istio) error {
	cs, err := kubelab.NewClientset(ctl.Kubeconfig)
	if err != nil {
		return err
	}
	backends := kubelab.Backends{
		{Port: IstiodPortHTTP, Protocol: corev1.ProtocolTCP, Target: strings.TrimPrefix(ist.DebugURL, "http://")},
		{Port: IstiodPortXDS, Protocol: corev1.ProtocolTCP, Target: ist.PlaintextXDSAddress},
		{Port: IstiodPortSecureXDS, Protocol: corev1.ProtocolTCP, Target: ist.XDSAddress},
		{Port: IstiodPortMonitoring, Protocol: corev1.ProtocolTCP, Target: ist.MonitoringAddress},
		{Port: IstiodPortWebhook, Protocol: corev1.ProtocolTCP, Target: ist.WebhookAddress},
	}
	if err := ensureIstiodServices(ctx, cs); err != nil {
		return err
	}
	return kubelab.EnsureBackedPod(ctx, cs, kubelab.BackedPod{
		Namespace: kubelab.IstioNamespace, Name: IstiodPod, ServiceAccount: "istiod",
		Image:    "docker.io/istio/pilot:meshx-lab",
		Labels:   map[string]string{"app": "istiod", "istio": "pilot", "istio.io/rev": "default"},
		Backends: backends,
	})
}

// ensureIstiodServices creates the Services in front of istiod that an
// install has: istiod (a modern install) and istio-pilot (Istio 1.0's name,
// which the VMs of the 1.0 flow resolve through kube-dns).
func ensureIstiodServices(ctx context.Context, cs kubernetes.Interface) error {
	port := func(name string, p, target int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: p, TargetPort: intstr.FromInt32(target)}
	}
	svcs := []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: kubelab.IstioNamespace, Labels: map[string]string{"app": "istiod", "istio": "pilot"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "istiod", "istio": "pilot"}, Ports: []corev1.ServicePort{
				port("grpc-xds", IstiodPortXDS, IstiodPortXDS), port("https-dns", IstiodPortSecureXDS, IstiodPortSecureXDS),
				port("https-webhook", 443, IstiodPortWebhook), port("http-monitoring", IstiodPortMonitoring, IstiodPortMonitoring)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "istio-pilot", Namespace: kubelab.IstioNamespace, Labels: map[string]string{"app": "pilot", "istio": "pilot"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"istio": "pilot"}, Ports: []corev1.ServicePort{
				port("grpc-xds", IstiodPortXDS, IstiodPortXDS), port("https-xds", 15011, 15011),
				port("http-legacy-discovery", IstiodPortHTTP, IstiodPortHTTP), port("http-monitoring", IstiodPortMonitoring, IstiodPortMonitoring)}}},
	}
	for _, svc := range svcs {
		if _, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
	}
	return nil
}

// applyCRDs creates the CustomResourceDefinitions in file (multi-document
// YAML) that do not exist yet and waits until all are established.
func applyCRDs(ctx context.Context, kubeconfig, file string) error {
	rc, err := kubelab.RESTConfig(kubeconfig)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crds := dyn.Resource(gvr)
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 1<<20)
	var names []string
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		names = append(names, u.GetName())
		if _, err := crds.Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s: %w", u.GetName(), err)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("%s: no CustomResourceDefinitions", file)
	}
	deadline := time.Now().Add(time.Minute)
	for _, n := range names {
		for {
			u, err := crds.Get(ctx, n, metav1.GetOptions{})
			if err == nil && crdEstablished(u) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not established within a minute (%v)", n, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func crdEstablished(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// stopIstio ends the Istio processes recorded for the instance in dir.
func stopIstio(dir string) error {
	recs, err := proc.Load(istioProcessesFile(dir))
	if err != nil || len(recs) == 0 {
		return err
	}
	var errs []error
	for _, r := range recs {
		if err := r.Stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return proc.Save(istioProcessesFile(dir), nil)
}

func addIstioProcess(dir string, r proc.Record) error {
	recs, err := proc.Load(istioProcessesFile(dir))
	if err != nil {
		return err
	}
	return proc.Save(istioProcessesFile(dir), append(recs, r))
}

// startCoreDNS runs CoreDNS as the cluster's kube-dns: its kubernetes
// plugin watches the cluster's API with the admin kubeconfig and answers
// for cluster.local on a kernel-chosen loopback port (UDP and TCP). On the
// same port it answers the hostnames the lab controller gives load
// balancers in hostname mode (elb.meshx.test), from the controller's
// kubelab.ELBHostsFile, as a cloud's DNS answers its ELB names. It returns
// that address.
func startCoreDNS(ctx context.Context, o Options, c *Cluster) (string, error) {
	dir := filepath.Join(istioDir(o.Dir), "coredns-"+c.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	hosts := kubelab.ELBHostsFile(clusterDir(o.Dir, c.Name))
	if _, err := os.Stat(hosts); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(hosts, nil, 0o644); err != nil {
			return "", err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := kubelab.FreePorts(1)
		if err != nil {
			return "", err
		}
		addr := "127.0.0.1:" + strconv.Itoa(ports[0])
		corefile := fmt.Sprintf(`cluster.local:%[1]d in-addr.arpa:%[1]d ip6.arpa:%[1]d {
    bind 127.0.0.1
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %[2]s %[3]s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
}
%[4]s:%[1]d {
    bind 127.0.0.1
    errors
    hosts %[5]s {
        reload 1s
    }
}
`, ports[0], c.Kubeconfig, c.Name, strings.TrimPrefix(kubelab.HostnameSuffix, "."), hosts)
		file := filepath.Join(dir, "Corefile")
		if err := os.WriteFile(file, []byte(corefile), 0o644); err != nil {
			return "", err
		}
		log := filepath.Join(dir, "coredns.log")
		r, err := proc.Start(proc.Spec{
			Name: "coredns-" + c.Name,
			Argv: []string{filepath.Join(o.IstioBinDir, "coredns"), "-conf", file},
			Dir:  dir,
			Log:  log,
		})
		if err != nil {
			return "", err
		}
		if err := addIstioProcess(o.Dir, r); err != nil {
			r.Stop(time.Second)
			return "", err
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = waitDNS(wctx, addr)
		cancel()
		if err == nil {
			return addr, nil
		}
		r.Stop(3 * time.Second)
		tail := proc.Tail(log, 20)
		lastErr = fmt.Errorf("%w\n%s", err, tail)
		if !strings.Contains(tail, "address already in use") {
			break
		}
	}
	return "", lastErr
}

// waitDNS asks the DNS server at addr for the kubernetes Service, which
// every cluster has, until it answers.
func waitDNS(ctx context.Context, addr string) error {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	var last error
	for {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := r.LookupHost(qctx, "kubernetes.default.svc.cluster.local.")
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s: %v", addr, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ensureCoreDNSPod marks the cluster's kube-dns pod as served by its
// CoreDNS, so dns-ilb's address reaches CoreDNS.
func ensureCoreDNSPod(ctx context.Context, c *Cluster, addr string) error {
	cs, err := kubelab.NewClientset(c.Kubeconfig)
	if err != nil {
		return err
	}
	return kubelab.EnsureBackedPod(ctx, cs, kubelab.BackedPod{
		Namespace: "kube-system", Name: "kube-dns-0", ServiceAccount: "kube-dns",
		Image:  "registry.k8s.io/coredns/coredns:v1.11.1",
		Labels: map[string]string{"k8s-app": "kube-dns"},
		Backends: kubelab.Backends{
			{Port: 53, Protocol: corev1.ProtocolUDP, Target: addr},
			{Port: 53, Protocol: corev1.ProtocolTCP, Target: addr},
		},
	})
}

// MeshConfig is the mesh configuration the lab's istiod runs with, in
// ConfigMap istio-system/istio (key mesh) as an install writes it; istiod
// and istioctl read it there.
const MeshConfig = `defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
trustDomain: cluster.local
`

func ensureMeshConfigMap(ctx context.Context, ctl *Cluster) error {
	cs, err := kubelab.NewClientset(ctl.Kubeconfig)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().ConfigMaps(kubelab.IstioNamespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "istio", Namespace: kubelab.IstioNamespace,
			Labels: map[string]string{"istio.io/rev": "default", "app": "istiod"}},
		Data: map[string]string{"mesh": MeshConfig, "meshNetworks": "networks: {}\n"},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("configmap istio-system/istio: %w", err)
	}
	return nil
}
