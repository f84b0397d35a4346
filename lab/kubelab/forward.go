package kubelab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// BackendsAnnotation on a lab pod says which real process serves which of
// its ports: the lab controller's load-balancer forwarders send a
// connection for that port there. Format: Backends.String.
const BackendsAnnotation = "lab.meshx.dev/backends"

// Backend is where a real process serves one port of a lab pod.
type Backend struct {
	Port     int32
	Protocol corev1.Protocol // TCP or UDP
	Target   string          // host:port on the lab host, usually loopback
}

// Backends are the real ports of a pod.
type Backends []Backend

// String formats b as "port/PROTO=host:port,...", sorted.
func (b Backends) String() string {
	var parts []string
	for _, x := range b {
		parts = append(parts, fmt.Sprintf("%d/%s=%s", x.Port, x.Protocol, x.Target))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// ParseBackends parses Backends.String's format.
func ParseBackends(s string) (Backends, error) {
	var out Backends
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		k, target, ok := strings.Cut(part, "=")
		port, proto, ok2 := strings.Cut(k, "/")
		n, err := strconv.ParseUint(port, 10, 16)
		if !ok || !ok2 || err != nil || (proto != "TCP" && proto != "UDP") {
			return nil, fmt.Errorf("backend %q: want port/TCP=host:port or port/UDP=host:port", part)
		}
		if _, _, err := net.SplitHostPort(target); err != nil {
			return nil, fmt.Errorf("backend %q: %w", part, err)
		}
		out = append(out, Backend{Port: int32(n), Protocol: corev1.Protocol(proto), Target: target})
	}
	return out, nil
}

// BackedPod is a lab pod whose ports a real process on the host serves.
type BackedPod struct {
	Namespace, Name, ServiceAccount, Image string
	Labels                                 map[string]string
	Backends                               Backends
}

// EnsureBackedPod creates the pod p describes (and its ServiceAccount), or
// brings an existing one's labels and backends up to date. The lab
// controller runs it like every lab pod.
func EnsureBackedPod(ctx context.Context, cs kubernetes.Interface, p BackedPod) error {
	_, err := cs.CoreV1().ServiceAccounts(p.Namespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: p.ServiceAccount, Namespace: p.Namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("serviceaccount %s/%s: %w", p.Namespace, p.ServiceAccount, err)
	}
	ann := map[string]string{BackendsAnnotation: p.Backends.String()}
	pods := cs.CoreV1().Pods(p.Namespace)
	for attempt := 0; ; attempt++ {
		cur, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			var ports []corev1.ContainerPort
			seen := map[string]bool{}
			for _, b := range p.Backends {
				k := fmt.Sprint(b.Port, b.Protocol)
				if !seen[k] {
					seen[k] = true
					ports = append(ports, corev1.ContainerPort{ContainerPort: b.Port, Protocol: b.Protocol})
				}
			}
			_, err = pods.Create(ctx, nodePod(p.Namespace, p.Name, p.ServiceAccount, p.Image, p.Labels, ann, ports), metav1.CreateOptions{})
		} else if err == nil {
			if cur.Annotations[BackendsAnnotation] == ann[BackendsAnnotation] && labels.SelectorFromSet(p.Labels).Matches(labels.Set(cur.Labels)) {
				return nil
			}
			cur = cur.DeepCopy()
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[BackendsAnnotation] = ann[BackendsAnnotation]
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			for k, v := range p.Labels {
				cur.Labels[k] = v
			}
			_, err = pods.Update(ctx, cur, metav1.UpdateOptions{})
		}
		if err == nil {
			return nil
		}
		if !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) || attempt > 5 {
			return fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
}

// forwarders make the addresses the controller gives LoadBalancer Services
// carry traffic: each address is put on the lab's VM bridge (Config.LBDevice)
// and for each Service port a listener on address:port relays a connection
// (or UDP exchange) to the real process behind the pod the Service selects
// (BackendsAnnotation), or, for a selected pod with no real process behind
// that port, accepts the connection and holds it open until the client
// closes it, as a stand-in.
type forwarders struct {
	c      *controller
	dev    string
	mu     sync.Mutex
	bySvc  map[string]map[string]io.Closer // service key -> "ip port/proto" -> listener
	addrs  map[netip.Addr]int              // address -> listeners on it
	closed bool
}

func newForwarders(c *controller, dev string) *forwarders {
	return &forwarders{c: c, dev: dev, bySvc: map[string]map[string]io.Closer{}, addrs: map[netip.Addr]int{}}
}

// sync makes the listeners of service key match svc (nil: none).
func (f *forwarders) sync(ctx context.Context, key string, svc *corev1.Service) error {
	if f == nil {
		return nil
	}
	want := map[string]corev1.ServicePort{}
	var ip netip.Addr
	if svc != nil && ownsLB(svc) && len(svc.Status.LoadBalancer.Ingress) > 0 {
		a, err := netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
		if h, ok := hostnameAddress(svc); ok {
			a, err = h, nil
		}
		if err == nil {
			ip = a
			for _, p := range svc.Spec.Ports {
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				if proto == corev1.ProtocolTCP || proto == corev1.ProtocolUDP {
					p.Protocol = proto
					want[fmt.Sprintf("%s %d/%s", a, p.Port, proto)] = p
				}
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	have := f.bySvc[key]
	for k, l := range have {
		if _, ok := want[k]; !ok {
			l.Close()
			delete(have, k)
			f.release(addrOf(k))
		}
	}
	if len(want) == 0 {
		delete(f.bySvc, key)
		return nil
	}
	if have == nil {
		have = map[string]io.Closer{}
		f.bySvc[key] = have
	}
	ns, name, _ := strings.Cut(key, "/")
	var errs []error
	for k, p := range want {
		if _, ok := have[k]; ok {
			continue
		}
		if err := f.hold(ctx, ip); err != nil {
			return err
		}
		l, err := f.listen(ns, name, ip, p)
		if err != nil {
			f.release(ip)
			errs = append(errs, err)
			continue
		}
		have[k] = l
		f.c.log.Printf("service %s: forwarding %s:%d/%s", key, ip, p.Port, p.Protocol)
	}
	return errors.Join(errs...)
}

func addrOf(k string) netip.Addr {
	a, _ := netip.ParseAddr(strings.Fields(k)[0])
	return a
}

// hold puts ip on the device unless listeners use it already.
func (f *forwarders) hold(ctx context.Context, ip netip.Addr) error {
	if f.addrs[ip] == 0 {
		out, err := exec.CommandContext(ctx, "ip", "addr", "replace", ip.String()+"/32", "dev", f.dev).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip addr replace %s/32 dev %s: %w: %s", ip, f.dev, err, strings.TrimSpace(string(out)))
		}
	}
	f.addrs[ip]++
	return nil
}

// release takes ip off the device when its last listener is gone.
func (f *forwarders) release(ip netip.Addr) {
	if f.addrs[ip]--; f.addrs[ip] > 0 {
		return
	}
	delete(f.addrs, ip)
	if out, err := exec.Command("ip", "addr", "del", ip.String()+"/32", "dev", f.dev).CombinedOutput(); err != nil {
		f.c.log.Printf("ip addr del %s/32 dev %s: %v: %s", ip, f.dev, err, strings.TrimSpace(string(out)))
	}
}

// closeAll ends every listener and takes every address off the device.
func (f *forwarders) closeAll() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, ls := range f.bySvc {
		for k, l := range ls {
			l.Close()
			f.release(addrOf(k))
		}
	}
	f.bySvc = map[string]map[string]io.Closer{}
}

// backend finds where a connection to port p of Service ns/name goes: the
// target of the first selected running pod with a real process behind the
// target port; "" with ok when selected pods exist but none has one.
func (f *forwarders) backend(ns, name string, p corev1.ServicePort) (target string, ok bool) {
	svc, err := f.c.services.Services(ns).Get(name)
	if err != nil || len(svc.Spec.Selector) == 0 {
		return "", false
	}
	pods, err := f.c.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return "", false
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		ok = true
		port := targetPort(pod, p)
		bs, _ := ParseBackends(pod.Annotations[BackendsAnnotation])
		for _, b := range bs {
			if b.Port == port && b.Protocol == p.Protocol {
				return b.Target, true
			}
		}
	}
	return "", ok
}

func targetPort(pod *corev1.Pod, p corev1.ServicePort) int32 {
	switch {
	case p.TargetPort.Type == intstr.String && p.TargetPort.StrVal != "":
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == p.TargetPort.StrVal {
					return cp.ContainerPort
				}
			}
		}
		return p.Port
	case p.TargetPort.IntVal != 0:
		return p.TargetPort.IntVal
	default:
		return p.Port
	}
}

func (f *forwarders) listen(ns, name string, ip netip.Addr, p corev1.ServicePort) (io.Closer, error) {
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(int(p.Port)))
	if p.Protocol == corev1.ProtocolUDP {
		pc, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return nil, err
		}
		go f.serveUDP(pc, ns, name, p)
		return pc, nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go f.serveTCP(conn, ns, name, p)
		}
	}()
	return l, nil
}

func (f *forwarders) serveTCP(conn net.Conn, ns, name string, p corev1.ServicePort) {
	defer conn.Close()
	target, ok := f.backend(ns, name, p)
	if !ok {
		return // nothing selected: the connection is reset
	}
	if target == "" {
		io.Copy(io.Discard, conn) // a stand-in: accept, hold until closed
		return
	}
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		f.c.log.Printf("service %s/%s port %d: dial %s: %v", ns, name, p.Port, target, err)
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	relay := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go relay(up, conn)
	go relay(conn, up)
	<-done
	<-done
}

// serveUDP relays datagrams: each client address gets its own upstream
// socket, dropped after a minute without traffic.
func (f *forwarders) serveUDP(pc net.PacketConn, ns, name string, p corev1.ServicePort) {
	var mu sync.Mutex
	clients := map[string]net.Conn{}
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			mu.Lock()
			for _, c := range clients {
				c.Close()
			}
			mu.Unlock()
			return
		}
		mu.Lock()
		up, ok := clients[from.String()]
		mu.Unlock()
		if !ok {
			target, _ := f.backend(ns, name, p)
			if target == "" {
				continue
			}
			if up, err = net.Dial("udp", target); err != nil {
				continue
			}
			mu.Lock()
			clients[from.String()] = up
			mu.Unlock()
			go func() {
				b := make([]byte, 64<<10)
				for {
					up.SetReadDeadline(time.Now().Add(time.Minute))
					n, err := up.Read(b)
					if err != nil {
						break
					}
					pc.WriteTo(b[:n], from)
				}
				mu.Lock()
				delete(clients, from.String())
				mu.Unlock()
				up.Close()
			}()
		}
		up.Write(buf[:n])
	}
}
