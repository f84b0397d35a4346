// Package modernmc joins a remote cluster to an istiod-era mesh end to end
// against a lab with a real istiod: what istioctl create-remote-secret
// makes (the reader account, the istio-discovery chart's ClusterRole and
// binding, a token, Secret istio-remote-secret-<id>), read by the real
// istiod, which reports the remote synced and serves a Service created in
// it; the reader token rotated while istiod stays synced; a TLS server
// name istiod checks the API server's certificate against; an existing
// secret registering the same cluster ID refused at plan time; meshx
// verify on the modern reader; the undo when the cluster block goes, and
// destroy.
//
// It has its own lab instance ("modernmc"): the control cluster with
// istiod and remote1, no VMs.
package modernmc
