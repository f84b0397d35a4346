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
// With Options.Istio (on for `meshx-lab up`, `make lab-up` and the demo; off
// unless a test package asks for it) the lab also runs a real Istio control
// plane built from source (BuildIstio, from the separate Go module
// lab/istiotools, pinned to IstioVersion and CoreDNSVersion): the Istio CRDs
// are applied to every cluster, istiod (pilot-discovery) runs out of cluster
// against the control cluster with its admin kubeconfig,
// POD_NAMESPACE=istio-system, the cluster's name as cluster ID and
// WorkloadEntry auto-registration and health checks on, and CoreDNS runs per
// cluster as its kube-dns (kubernetes plugin, watching that cluster's API).
// The control cluster gets the istio mesh ConfigMap and the istiod and
// istio-pilot Services an install has, in front of the pod istiod-0 that
// stands for istiod. Each process listens on kernel-chosen loopback ports,
// recorded in lab.json (Lab.Istio), together with the paths of istioctl,
// pilot-agent and the modern istio-sidecar .deb (the real pilot-agent,
// istio-start.sh, istio.service, sidecar.env and postinst of the pinned
// module, and the lab's stand-in envoy, lab/istiotools/envoy, which opens
// the agent's ADS and SDS streams so that istiod sees a connected proxy,
// and answers the agent's readiness checks on Envoy's admin port; it
// serves no traffic).
// istiod's CA signs workload certificates for TokenRequest tokens of
// audience istio-ca, which it checks by TokenReview against the lab's
// kube-apiserver. They are started and stopped by PID like every lab
// process.
//
// Load-balancer addresses carry traffic when the instance has VMs: the lab
// controller of each cluster puts every address it gives a LoadBalancer
// Service on the VM bridge (as a /32) and runs a userspace forwarder on
// address:port for each TCP and UDP port of the Service. A connection (or
// datagram) goes to the real process behind the selected pod's target port,
// as the pod's annotation lab.meshx.dev/backends says (istiod-0, labelled
// app: istiod, istio: pilot, for istiod's 8080, 15010, 15012, 15014 and
// 15017; kube-dns-0 for CoreDNS on 53); a selected pod without a real
// process behind the port (the 1.0-era pilot, mixer and citadel stand-ins)
// accepts the connection and holds it open. The addresses go when the
// Service does, when the controller stops, and with the bridge at Down.
// In hostname mode (SetLBMode) a Service's status carries only a name
// under elb.meshx.test, as AWS reports an ELB; the address behind it
// carries the traffic all the same, is recorded in the Service's
// annotation lab.meshx.dev/lb-address, and the cluster's CoreDNS answers
// the name with it.
//
// Build compiles the Kubernetes binaries from the separate Go module in
// lab/tools; BuildIstio compiles pilot-discovery, pilot-agent, istioctl and
// CoreDNS of IstioVersion and CoreDNSVersion from the separate module in
// lab/istiotools and copies the Istio CRDs and VM packaging files from the
// module cache beside them. Both print progress while they build.
//
// lab does not build anything at Up, does not run systemd or Envoy, and never addresses anything outside loopback and the
// namespaces and bridge it created.
package lab
