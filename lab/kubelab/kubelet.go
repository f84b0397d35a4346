package kubelab

import (
	"context"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// syncPod does what a scheduler and a kubelet would for the one lab node:
// binds unscheduled pods to it, reports its pods Running and Ready with an
// address from the pod CIDR, and completes their deletion.
func (c *controller) syncPod(ctx context.Context, key string) error {
	ns, name, _ := strings.Cut(key, "/")
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.podIPs.release(key)
		return nil
	}
	if err != nil {
		return err
	}
	pods := c.cs.CoreV1().Pods(ns)
	if pod.Spec.NodeName == "" {
		if pod.DeletionTimestamp != nil || (pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName) {
			return nil
		}
		err := pods.Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: NodeName},
		}, metav1.CreateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return nil // bound or gone meanwhile; an event follows
		}
		return err
	}
	if pod.Spec.NodeName != NodeName {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		// A kubelet confirms deletion once containers stopped; none run.
		err := pods.Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			c.podIPs.release(key)
			return nil
		}
		return err
	}
	ip := c.node
	if !pod.Spec.HostNetwork {
		var ok bool
		if cur, err := netip.ParseAddr(pod.Status.PodIP); err == nil && c.podIPs.take(cur, key) {
			ip = cur
		} else if ip, ok = c.podIPs.get(key); !ok {
			return errPoolFull(c.st.PodCIDR)
		}
	}
	if pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP == ip.String() {
		return nil
	}
	upd := pod.DeepCopy()
	runningStatus(upd, ip, c.node)
	if _, err := pods.UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return ignoreNotFound(err)
	}
	return nil
}

type errPoolFull string

func (e errPoolFull) Error() string { return "pod CIDR " + string(e) + " has no free address" }

// runningStatus fills p.Status as a kubelet reports a pod whose containers
// all started.
func runningStatus(p *corev1.Pod, ip, node netip.Addr) {
	now := metav1.Now()
	s := &p.Status
	s.Phase = corev1.PodRunning
	s.HostIP = node.String()
	s.HostIPs = []corev1.HostIP{{IP: node.String()}}
	s.PodIP = ip.String()
	s.PodIPs = []corev1.PodIP{{IP: ip.String()}}
	if s.StartTime == nil {
		s.StartTime = &now
	}
	s.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	s.ContainerStatuses = nil
	for _, ctr := range p.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, corev1.ContainerStatus{
			Name:        ctr.Name,
			Image:       ctr.Image,
			ImageID:     ctr.Image,
			ContainerID: "lab://" + string(p.UID) + "/" + ctr.Name,
			Ready:       true,
			Started:     ptr.To(true),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
}
