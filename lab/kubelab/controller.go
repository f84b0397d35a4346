package kubelab

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// controller is the lab controller of one cluster: a cloud controller's
// LoadBalancer half, Citadel's secret half and a kubelet's status half.
type controller struct {
	st   *State
	cs   kubernetes.Interface
	log  *log.Logger
	node netip.Addr // the lab node's InternalIP, also hostIP of every pod

	services corelisters.ServiceLister
	sas      corelisters.ServiceAccountLister
	secrets  corelisters.SecretLister
	pods     corelisters.PodLister

	lbQ, saQ, podQ workqueue.TypedRateLimitingInterface[string]

	// LB state, touched only by the single LB worker (and by the config
	// handler under mu).
	mu        sync.Mutex
	lbCfg     lbConfig
	lb        *pool
	firstSeen map[string]time.Time

	podIPs *pool // touched only by the single pod worker

	fwd *forwarders // nil without Config.LBDevice
	// elbHosts is the hosts file of the addresses behind the hostnames of
	// hostname mode (ELBHostsFile); "" when not written.
	elbHosts string

	ca *CA
}

// RunController runs the lab controller for the cluster recorded in dir
// until ctx ends. Its log goes to w.
func RunController(ctx context.Context, dir string, w io.Writer) error {
	st, err := LoadState(dir)
	if err != nil {
		return err
	}
	rc, err := RESTConfig(st.Kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	c, err := newController(st, cs, log.New(w, "lab-controller["+st.Name+"] ", log.LstdFlags|log.Lmicroseconds))
	if err != nil {
		return err
	}
	c.elbHosts = ELBHostsFile(dir)
	return c.run(ctx)
}

func newController(st *State, cs kubernetes.Interface, l *log.Logger) (*controller, error) {
	podCIDR, err := netip.ParsePrefix(st.PodCIDR)
	if err != nil {
		return nil, err
	}
	first, err := netip.ParseAddr(st.LBFirst)
	if err != nil {
		return nil, err
	}
	last, err := netip.ParseAddr(st.LBLast)
	if err != nil {
		return nil, err
	}
	delay, err := time.ParseDuration(st.LBDelay)
	if err != nil {
		return nil, err
	}
	ca, err := LoadCA(st.IstioCACert, st.IstioCAKey)
	if err != nil {
		return nil, fmt.Errorf("istio CA: %w", err)
	}
	node := nthAddr(podCIDR, 1)
	// Pod IPs: the CIDR minus its network address, the node's address and
	// the broadcast address.
	podFirst, podLast := nthAddr(podCIDR, 2), lastAddr(podCIDR).Prev()
	rl := func() workqueue.TypedRateLimitingInterface[string] {
		return workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second))
	}
	c := &controller{
		st: st, cs: cs, log: l, node: node,
		lbQ: rl(), saQ: rl(), podQ: rl(),
		lbCfg:     lbConfig{Mode: st.LBMode, Delay: delay},
		lb:        newPool(first, last),
		firstSeen: map[string]time.Time{},
		podIPs:    newPool(podFirst, podLast),
		ca:        ca,
	}
	if st.LBDevice != "" {
		c.fwd = newForwarders(c, st.LBDevice)
	}
	return c, nil
}

func (c *controller) run(ctx context.Context) error {
	defer c.lbQ.ShutDown()
	defer c.saQ.ShutDown()
	defer c.podQ.ShutDown()
	defer c.fwd.closeAll()

	if err := c.ensureBaseline(ctx); err != nil {
		return err
	}

	all := informers.NewSharedInformerFactory(c.cs, 0)
	istioSecrets := informers.NewSharedInformerFactoryWithOptions(c.cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", SecretType).String()
		}))
	labConfig := informers.NewSharedInformerFactoryWithOptions(c.cs, 0,
		informers.WithNamespace(ConfigNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", ConfigMapName).String()
		}))

	svcInf := all.Core().V1().Services()
	saInf := all.Core().V1().ServiceAccounts()
	podInf := all.Core().V1().Pods()
	secInf := istioSecrets.Core().V1().Secrets()
	cmInf := labConfig.Core().V1().ConfigMaps()
	c.services, c.sas, c.pods, c.secrets = svcInf.Lister(), saInf.Lister(), podInf.Lister(), secInf.Lister()

	svcInf.Informer().AddEventHandler(enqueue(c.lbQ, nil))
	saInf.Informer().AddEventHandler(enqueue(c.saQ, nil))
	secInf.Informer().AddEventHandler(enqueue(c.saQ, secretToSA))
	podInf.Informer().AddEventHandler(enqueue(c.podQ, nil))
	cmInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.configChanged(ctx, obj.(*corev1.ConfigMap)) },
		UpdateFunc: func(_, obj any) { c.configChanged(ctx, obj.(*corev1.ConfigMap)) },
		DeleteFunc: func(any) { c.configChanged(ctx, nil) },
	})

	all.Start(ctx.Done())
	istioSecrets.Start(ctx.Done())
	labConfig.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(),
		svcInf.Informer().HasSynced, saInf.Informer().HasSynced, podInf.Informer().HasSynced,
		secInf.Informer().HasSynced, cmInf.Informer().HasSynced) {
		return ctx.Err()
	}
	c.recordAllocations()
	if len(cmInf.Informer().GetStore().List()) == 0 {
		c.configChanged(ctx, nil)
	}
	c.log.Printf("synced; lb pool %s-%s, pod CIDR %s", c.st.LBFirst, c.st.LBLast, c.st.PodCIDR)

	var wg sync.WaitGroup
	for _, w := range []struct {
		q  workqueue.TypedRateLimitingInterface[string]
		fn func(context.Context, string) error
	}{{c.lbQ, c.syncService}, {c.saQ, c.syncServiceAccount}, {c.podQ, c.syncPod}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.work(ctx, w.q, w.fn) {
			}
		}()
	}
	<-ctx.Done()
	c.lbQ.ShutDown()
	c.saQ.ShutDown()
	c.podQ.ShutDown()
	wg.Wait()
	return nil
}

// work processes one key; it returns false when the queue shuts down.
func (c *controller) work(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], fn func(context.Context, string) error) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := fn(ctx, key); err != nil {
		if ctx.Err() == nil {
			c.log.Printf("%s: %v (retrying)", key, err)
		}
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

// enqueue returns handlers that add the object's namespace/name key (or
// what mapKey makes of it) to q.
func enqueue(q workqueue.TypedRateLimitingInterface[string], mapKey func(string) (string, bool)) cache.ResourceEventHandler {
	add := func(obj any) {
		key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		if err != nil {
			return
		}
		if mapKey != nil {
			var ok bool
			if key, ok = mapKey(key); !ok {
				return
			}
		}
		q.Add(key)
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: add,
	}
}

// recordAllocations marks the LB and pod addresses already in use, so a
// restarted controller never hands out an address twice.
func (c *controller) recordAllocations() {
	svcs, _ := c.services.List(everything)
	for _, s := range svcs {
		for _, in := range s.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil {
				c.lb.take(a, keyOf(&s.ObjectMeta))
			}
		}
		if a, ok := hostnameAddress(s); ok {
			c.lb.take(a, keyOf(&s.ObjectMeta))
		}
	}
	pods, _ := c.pods.List(everything)
	for _, p := range pods {
		if p.Spec.NodeName != NodeName || p.Spec.HostNetwork {
			continue
		}
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			c.podIPs.take(a, keyOf(&p.ObjectMeta))
		}
	}
}

var everything = labels.Everything()

func keyOf(m *metav1.ObjectMeta) string { return m.Namespace + "/" + m.Name }

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
