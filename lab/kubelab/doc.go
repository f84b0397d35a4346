// Package kubelab runs the Kubernetes half of the meshx lab: for each
// cluster a real etcd, kube-apiserver and kube-controller-manager of the
// pinned release, listening on loopback only, plus a small lab controller
// that stands in for what a cloud and a kubelet would do.
//
// The lab controller (RunController) gives LoadBalancer Services an address
// from the cluster's pool (or a hostname, or never, switchable at run time
// through ConfigMap kube-system/meshx-lab), keeps an Istio 1.0 Citadel-style
// Secret istio.<sa> for every ServiceAccount, binds unscheduled Pods to one
// fake Node and reports Pods on that Node as Running with an IP from the
// cluster's pod CIDR, the way kwok does. No container ever runs. With
// Config.LBDevice it also makes LoadBalancer addresses carry traffic: each
// address goes on that device and a userspace forwarder relays its ports to
// the real processes named by the selected pods' BackendsAnnotation.
//
// kubelab does not build the binaries (package lab does), does not choose
// CIDRs, ports pools or directories for several clusters (package lab does),
// and knows nothing about VMs.
package kubelab
