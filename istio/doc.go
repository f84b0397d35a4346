// Package istio knows what each Istio generation expects of mesh
// expansion: the names, ports and selectors of the internal load balancers
// (mesh-expansion.yaml), the keys of cluster.env, the lines of the dnsmasq
// kubedns file, the certificate files, the units on a VM, and the
// internal-load-balancer annotations of each cloud. It renders those files
// from known values.
//
// It is pure data and text: it talks to no cluster and no VM, and imports no
// other meshx package, so config (for validation), the planner (for
// expansion) and tests can all use it. Facts come from each release's own
// sources: install/kubernetes/mesh-expansion.yaml, install/tools/
// setupMeshEx.sh and setupIstioVM.sh, and the istio-sidecar.deb packaging.
//
// Profiles "1.0", "0.8", "0.7", "0.4", "0.3" and "0.2" cover the
// setupMeshEx.sh era. What differs between generations is data in the
// profile table (ILB ports, cluster.env keys, kubedns names, the sidecar's
// packages, the mutual-TLS pilot port), not branches in the renderers. A modern
// profile (istiod, east-west gateway, WorkloadEntry, istio-token) would be a
// new Profile value whose Legacy is false; the planner checks Legacy before
// expanding node-agent units and Citadel secrets.
package istio
