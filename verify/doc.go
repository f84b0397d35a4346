// Package verify proves, read-only, that an applied environment works from
// where it matters: from inside each VM, with each remote cluster's stored
// credentials, and in the Endpoints the control plane serves. It is what
// `meshx verify` runs, in place of osswangxining/istio-meshexpansion's
// check_dns.sh and the hand `host istio-pilot.istio-system` and
// `curl …:8080/v1/registration` after setupIstioVM.sh.
//
// What meshx expects comes from the configuration as the planner expands
// it (planner.Expand): the kubedns file a VM should hold is rendered from
// the load balancers' current addresses, exactly as apply renders it; the
// units, certificate files, reader rules and Endpoints addresses are those
// of the expanded instances. What is live comes through the providers'
// own connections: the kube provider's client for each cluster, and the vm
// provider's SSH connection (vm.Exec) for each VM. Every cluster, VM,
// remote and service is checked in parallel.
//
// The checks (Check.Name says which):
//
//   - "dns NAME", per VM: every name the VM's kubedns file promises, and
//     the names meshx's own file would promise, resolve through the VM's
//     own resolver (getent, so nsswitch and resolv.conf as every program
//     on the VM sees them) to the address meshx expects now. For the
//     file's server=/svc.cluster.local/ line, the control cluster's
//     kubernetes Service name resolves to its ClusterIP through dns-ilb.
//   - "tcp ADDRESS:PORT", per VM: each control-plane address the VM's file
//     holds accepts a TCP connection from the VM on each TCP port of that
//     load balancer in the profile.
//   - "unit NAME", per VM: each unit meshx manages is enabled and active.
//   - "cert PATH", per VM: each certificate file meshx copied (never the
//     key) parses, chains to the cluster's current root (the root-cert.pem
//     of Citadel's istio.<sa> secret), and does not expire within
//     Options.ExpiryThreshold; its expiry is shown either way.
//   - "auth", "read", "no write", per remote cluster: the kubeconfig stored
//     in the control cluster's Secret authenticates, lists each resource
//     the reader's rules allow, and is refused every write to the core
//     resources it reads and to secrets (SelfSubjectAccessReview: nothing
//     is attempted).
//   - "endpoints NS/NAME", per service: the Endpoints carry exactly the
//     VMs' mesh IPs.
//
// For the istiod era (profile 1.20 and later) a VM is checked as istiod's
// agent needs it: "dns istiod.NS.svc" through meshx's /etc/hosts line to
// the address of what exposes istiod, "tcp istiod-ilb ADDRESS:15012" (or,
// with istiod_exposure = "eastwest", "tcp eastwest gateway NAME
// ADDRESS:15012"), "unit istio",
// "cert" for the root (istiod's istio-ca-root-cert ConfigMap) and for the
// workload certificate the agent obtained (valid now: the agent renews it),
// and "token PATH": the istio-token's remaining life, read on the VM as its
// exp and iat claims alone, failing in the last third of its life (when
// apply re-mints it). Per service, "istiod endpoints NS/NAME": istiod's
// /debug/endpointz, read at meshx.istio.debug_url (its monitoring port,
// which istiod answers only to localhost: a kubectl port-forward), lists
// exactly the VMs' mesh IPs. Unset or unreachable, that check is skipped
// (Skip), saying why and how to make it: never passed. On the control
// cluster, "ilb istiod-ilb", or with istiod_exposure = "eastwest" the
// east-west gateway Service meshx reads ("eastwest gateway NAME": an
// address and port 15012) and the Gateway and VirtualService meshx writes
// ("gateway NS/istiod-gateway", "virtualservice NS/istiod-vs": present as
// applied).
//
// A failing check says what was seen, what meshx expected, and what to do.
//
// What it does not do: change anything on a cluster or VM (the only
// requests it sends are reads, SelfSubjectReview and
// SelfSubjectAccessReview, a GET of istiod's /debug/endpointz, and the VM
// commands it runs only read, resolve and connect); read a private key or show a token or kubeconfig (the remote
// kubeconfig is used in memory and its token scrubbed from every error);
// print (the caller's view renders a Report); take the environment's lock.
package verify
