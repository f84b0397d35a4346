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
// packages, the mutual-TLS pilot port), not branches in the renderers.
//
// Profiles "1.20" and later (any "1.N" from 20) are the istiod era
// (Profile.Modern): istiod behind one load balancer (IstiodILB), a
// WorkloadGroup per group of VMs, and on each VM the files `istioctl x
// workload entry configure` writes, rendered by Workload (cluster.env as
// sorted K='v' lines, the mesh config, the /etc/hosts line) plus the
// istio-token. What differs between minors is one row each of a table
// (Minor: the networking API version). The planner checks Modern before
// expanding; the legacy renderers never see a modern profile.
//
// Where an istiod-era VM keeps what `meshx verify` and operators look for
// (constants here, documented in docs/modern-istio.md):
//
//   - istiod's address: IstiodHost (istiod[-<rev>].<ns>.svc) on port
//     IstiodXDSPort, mapped to the load balancer's IP by a line in
//     HostsPath, and discoveryAddress in MeshConfigPath;
//   - the token: TokenPath (0600 istio-proxy, on disk, renewed by apply in
//     the last third of its life), linked from TokenLinkPath (where
//     pilot-agent reads it) by the unit drop-in TokenDropInPath;
//   - certificates: RootCertPath (from istio-ca-root-cert) and
//     WorkloadCertPath, which pilot-agent writes when istiod signs its CSR.
package istio
