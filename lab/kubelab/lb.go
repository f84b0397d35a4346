package kubelab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Keys of ConfigMap kube-system/meshx-lab (and of meshx-lab-status, which
// also carries "applied": the resourceVersion of meshx-lab it reflects).
const (
	KeyLBMode  = "lb-mode"
	KeyLBDelay = "lb-delay"
	keyApplied = "applied"
)

// HostnameSuffix ends every hostname the lab gives a LoadBalancer in
// hostname mode. .test is reserved (RFC 6761): it never resolves outside.
const HostnameSuffix = ".elb.meshx.test"

// AddressAnnotation on a LoadBalancer Service of hostname mode holds the
// address its hostname stands for, as a cloud's DNS answers for an ELB
// name: the address from the pool that carries its traffic.
const AddressAnnotation = "lab.meshx.dev/lb-address"

// ELBHostsFile is the hosts file, in the cluster's directory dir, in which
// the lab controller keeps one "address hostname" line per LoadBalancer of
// hostname mode; the lab's DNS server answers the hostnames from it.
func ELBHostsFile(dir string) string { return filepath.Join(dir, "elb-hosts") }

// hostnameAddress returns the address behind the hostname of a Service of
// hostname mode.
func hostnameAddress(svc *corev1.Service) (netip.Addr, bool) {
	in := svc.Status.LoadBalancer.Ingress
	if len(in) == 0 || in[0].Hostname == "" || in[0].IP != "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(svc.Annotations[AddressAnnotation])
	return a, err == nil
}

// writeELBHosts rewrites the hosts file of the hostname-mode addresses
// from the Services as the informer has them, plus svc (just given its
// hostname, not yet seen there).
func (c *controller) writeELBHosts(svc *corev1.Service) error {
	if c.elbHosts == "" {
		return nil
	}
	lines := map[string]string{}
	add := func(s *corev1.Service) {
		if a, ok := hostnameAddress(s); ok {
			lines[keyOf(&s.ObjectMeta)] = a.String() + " " + s.Status.LoadBalancer.Ingress[0].Hostname + "\n"
		}
	}
	svcs, _ := c.services.List(everything)
	for _, s := range svcs {
		add(s)
	}
	if svc != nil {
		add(svc)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(lines)) {
		b.WriteString(lines[k])
	}
	tmp := c.elbHosts + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, c.elbHosts)
}

type lbConfig struct {
	Mode  string
	Delay time.Duration
}

// ValidLBMode reports whether m is an lb-mode the controller understands.
func ValidLBMode(m string) bool {
	return m == LBModeIP || m == LBModeHostname || m == LBModeNever
}

// configChanged applies ConfigMap meshx-lab (nil: deleted or absent, so
// the cluster's initial settings), acknowledges it in meshx-lab-status and
// looks at every LoadBalancer again.
func (c *controller) configChanged(ctx context.Context, cm *corev1.ConfigMap) {
	delay, _ := time.ParseDuration(c.st.LBDelay)
	cfg := lbConfig{Mode: c.st.LBMode, Delay: delay}
	applied := ""
	if cm != nil {
		applied = cm.ResourceVersion
		if m, ok := cm.Data[KeyLBMode]; ok {
			if ValidLBMode(m) {
				cfg.Mode = m
			} else {
				c.log.Printf("configmap %s: %s %q is not ip, hostname or never; keeping %s", ConfigMapName, KeyLBMode, m, cfg.Mode)
			}
		}
		if d, ok := cm.Data[KeyLBDelay]; ok {
			if v, err := time.ParseDuration(d); err == nil && v >= 0 {
				cfg.Delay = v
			} else {
				c.log.Printf("configmap %s: %s %q is not a duration; keeping %s", ConfigMapName, KeyLBDelay, d, cfg.Delay)
			}
		}
	}
	c.mu.Lock()
	c.lbCfg = cfg
	c.mu.Unlock()
	c.log.Printf("lb mode %s, delay %s (configmap version %q)", cfg.Mode, cfg.Delay, applied)

	status := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: StatusConfigMap, Namespace: ConfigNamespace},
		Data:       map[string]string{KeyLBMode: cfg.Mode, KeyLBDelay: cfg.Delay.String(), keyApplied: applied},
	}
	if err := upsertConfigMap(ctx, c.cs, status); err != nil {
		c.log.Printf("write %s: %v", StatusConfigMap, err)
	}
	svcs, _ := c.services.List(everything)
	for _, s := range svcs {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			c.lbQ.Add(keyOf(&s.ObjectMeta))
		}
	}
}

func upsertConfigMap(ctx context.Context, cs kubernetes.Interface, cm *corev1.ConfigMap) error {
	cur, err := cs.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	cur.Data = cm.Data
	_, err = cs.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

// ownsLB reports whether svc asks for a load balancer this controller
// provides: type LoadBalancer without a loadBalancerClass of its own.
func ownsLB(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
}

// syncService gives a LoadBalancer Service its address and makes the
// address carry traffic (see forwarders).
func (c *controller) syncService(ctx context.Context, key string) error {
	if err := c.syncLB(ctx, key); err != nil {
		return err
	}
	// Listeners follow the Service as the informer has it; an address
	// just given is in it from the next event on (syncLB set up its
	// listeners already).
	ns, name, _ := strings.Cut(key, "/")
	svc, err := c.services.Services(ns).Get(name)
	if err != nil {
		svc = nil
	} else if ownsLB(svc) && len(svc.Status.LoadBalancer.Ingress) == 0 {
		return nil
	}
	return c.fwd.sync(ctx, key, svc)
}

func (c *controller) syncLB(ctx context.Context, key string) error {
	ns, name, _ := strings.Cut(key, "/")
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.lb.release(key)
		delete(c.firstSeen, key)
		return c.writeELBHosts(nil)
	}
	if err != nil {
		return err
	}
	if !ownsLB(svc) {
		c.lb.release(key)
		delete(c.firstSeen, key)
		if len(svc.Status.LoadBalancer.Ingress) == 0 || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			return nil
		}
		// No longer a LoadBalancer: a cloud takes the address back.
		svc = svc.DeepCopy()
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
		_, err := c.cs.CoreV1().Services(ns).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
		return ignoreNotFound(err)
	}
	if len(svc.Status.LoadBalancer.Ingress) > 0 {
		return nil
	}
	now := time.Now()
	first, ok := c.firstSeen[key]
	if !ok {
		first = now
		c.firstSeen[key] = now
	}
	c.mu.Lock()
	cfg := c.lbCfg
	c.mu.Unlock()
	if cfg.Mode == LBModeNever {
		return nil // looked at again when the mode changes
	}
	if wait := first.Add(cfg.Delay).Sub(now); wait > 0 {
		c.lbQ.AddAfter(key, wait)
		return nil
	}
	a, ok := netip.Addr{}, false
	if want, err := netip.ParseAddr(svc.Spec.LoadBalancerIP); err == nil && c.lb.take(want, key) {
		a, ok = want, true
	} else {
		a, ok = c.lb.get(key)
	}
	if !ok {
		return fmt.Errorf("load balancer pool %s-%s is exhausted", c.st.LBFirst, c.st.LBLast)
	}
	var ingress corev1.LoadBalancerIngress
	switch cfg.Mode {
	case LBModeHostname:
		// Only the name, as AWS reports an ELB; the address it stands for
		// carries the traffic, and the lab's DNS answers the name with it.
		ingress.Hostname = lbHostname(c.st.Name, ns, name)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, AddressAnnotation, a)
		got, err := c.cs.CoreV1().Services(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return ignoreNotFound(err)
		}
		svc = got
	default:
		vip := corev1.LoadBalancerIPModeVIP
		ingress.IP, ingress.IPMode = a.String(), &vip
	}
	svc = svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{ingress}
	if err := c.writeELBHosts(svc); err != nil {
		return err
	}
	// The address carries traffic before anyone can read it.
	if err := c.fwd.sync(ctx, key, svc); err != nil {
		return err
	}
	if _, err := c.cs.CoreV1().Services(ns).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		return ignoreNotFound(err)
	}
	c.log.Printf("service %s: load balancer %s%s", key, ingress.IP, ingress.Hostname)
	return nil
}

// lbHostname makes an AWS-like hostname that is unique per Service and a
// valid DNS name: "<name>-<hash>.<cluster>.elb.meshx.test".
func lbHostname(cluster, ns, name string) string {
	h := sha256.Sum256([]byte(ns + "/" + name))
	label := name
	if len(label) > 50 {
		label = label[:50]
	}
	return strings.ToLower(fmt.Sprintf("%s-%s.%s%s", label, hex.EncodeToString(h[:4]), cluster, HostnameSuffix))
}

// SetLB changes the lb-mode and/or lb-delay of the cluster behind cs
// (empty mode or negative delay: unchanged) and returns once the lab
// controller has applied the change, so a Service created afterwards is
// handled under the new settings.
func SetLB(ctx context.Context, cs kubernetes.Interface, mode string, delay time.Duration) error {
	if mode != "" && !ValidLBMode(mode) {
		return fmt.Errorf("lb mode %q: want ip, hostname or never", mode)
	}
	cms := cs.CoreV1().ConfigMaps(ConfigNamespace)
	var rv string
	for attempt := 0; ; attempt++ {
		cm, err := cms.Get(ctx, ConfigMapName, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		if err != nil && !create {
			return fmt.Errorf("configmap %s/%s: %w", ConfigNamespace, ConfigMapName, err)
		}
		if create {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: ConfigNamespace}}
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		if mode != "" {
			cm.Data[KeyLBMode] = mode
		}
		if delay >= 0 {
			cm.Data[KeyLBDelay] = delay.String()
		}
		if create {
			cm, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		} else {
			cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		if err == nil {
			rv = cm.ResourceVersion
			break
		}
		if !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) || attempt > 5 {
			return fmt.Errorf("configmap %s/%s: %w", ConfigNamespace, ConfigMapName, err)
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
	for {
		st, err := cms.Get(ctx, StatusConfigMap, metav1.GetOptions{})
		if err == nil && appliedSince(st.Data[keyApplied], rv) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("lab controller did not apply %s/%s version %s within 30s (is it running?)", ConfigNamespace, ConfigMapName, rv)
		case <-tick.C:
		}
	}
}

// appliedSince reports whether the controller's acknowledged version is rv
// or later. resourceVersions are opaque in general; with one etcd behind one
// API server they are increasing integers, which the lab relies on so that
// a later concurrent change also acknowledges an earlier one.
func appliedSince(applied, rv string) bool {
	if applied == rv {
		return true
	}
	a, err1 := strconv.ParseUint(applied, 10, 64)
	r, err2 := strconv.ParseUint(rv, 10, 64)
	return err1 == nil && err2 == nil && a >= r
}
