// Package lab brings up and tears down "the lab": real Kubernetes clusters
// (etcd, kube-apiserver and kube-controller-manager of a pinned release, on
// loopback, see package kubelab) and real OpenSSH VMs in network namespaces
// (package vmlab), and records what a user or a test needs in lab.json.
//
// Several lab instances can run at once: each has a name, its own directory,
// its own subnet index (recorded under /run/meshx-lab) and kernel-chosen
// ports, so integration test packages under `go test ./...` never collide.
// The default instance "meshx" lives in <repo>/.lab and is what `make
// lab-up` starts. Tests use RunTests and Get.
//
// Processes are ended only by the PID and start time the lab recorded when
// it started them. The lab controller of each cluster runs as a child
// process of whatever binary imports this package: the binary re-executes
// itself with MESHX_LAB_CONTROLLER set, which this package's init handles.
//
// Build compiles the Kubernetes binaries from the separate Go module in
// lab/tools; BuildIstio compiles pilot-discovery, pilot-agent, istioctl and
// CoreDNS of IstioVersion and CoreDNSVersion from the separate module in
// lab/istiotools and copies the Istio CRDs and VM packaging files from the
// module cache beside them. Both print progress while they build.
//
// lab does not build anything at Up, does not run systemd, and never addresses anything
// outside loopback and the namespaces it created.
package lab
