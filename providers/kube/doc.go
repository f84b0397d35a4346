// Package kube observes and changes what meshx manages on one Kubernetes
// cluster, over client-go with server-side apply (field manager "meshx").
//
// The planner decides WHAT each cluster needs and builds it with the
// functions Namespace, LoadBalancer, ClusterInfo, Service, Endpoints,
// Reader, RemoteSecret and IstioSecret; a Provider (one per cluster, from
// Connect) implements providers.Provider. NewClient is the one way meshx
// builds a Kubernetes client from a kubeconfig: the providers use it, and
// so does the CLI for its lock.
//
// # Where things are
//
// Each kind is one type in a file of its own, named after the kind:
// namespace.go, load_balancer.go, cluster_info.go, service.go,
// endpoints.go, reader.go, remote_secret.go, istio_secret.go. The file
// holds the kind's constant, its builder (which attaches the type to
// Resource.Private), and the methods of the instance interface (kind.go):
// render (the desired Object), identities (the objects it is made of, by
// name), observe (the live Object, projected onto exactly what render
// produces, plus outputs) and apply (server-side apply, or a wait for a
// read-only kind). The shared machinery lives apart: observe.go (one list
// per managed resource, lookups by name, orphans), apply.go (claiming,
// ownership marks, deletes, conflict errors), wait.go (polls),
// ownership.go (labels, annotations, field ownership, drift digests),
// objects.go (the API resources meshx lists, gets and deletes, and object
// references), attributes.go and ports.go (value checks and shapes).
//
// To add a kind: write its file on the model of service.go (one object)
// or reader.go (several), and, when meshx writes it, add a line to
// orphanProjections in kind.go so its orphans are deleted as that kind.
// An object of a resource not in objects.go also needs an apiResource
// entry and its place in managedResources (the deletion order); an Istio
// custom resource (WorkloadEntry, Gateway…) is served by the dynamic
// client and *unstructured.Unstructured, which is a metav1.Object like the
// typed objects, and is written by a server-side apply of the
// unstructured object with the same field manager and marks.
//
// # Kinds, addresses, attributes and outputs
//
//	kind                 address (builder)                        attributes of the Object
//	kube_namespace       cluster.C.namespace["NAME"]              name
//	kube_load_balancer   cluster.C.ilb["KEY"]                     namespace, name, type, ports, selector, annotations
//	kube_cluster_info    cluster.C.info              (read-only)  server, service_cidr
//	kube_service         chosen by the planner                    namespace, name, ports, labels, annotations
//	kube_endpoints       chosen by the planner                    namespace, name, subsets, labels
//	kube_reader          cluster.C.reader                         namespace, service_account, cluster_role, rules, binding, token
//	kube_remote_secret   cluster.REMOTE.secret (target: control)  namespace, name, labels, annotations, data_keys, server, ca, token, kubeconfig
//	kube_istio_secret    cluster.C.istio_secret["NS/SA"] (read-only) namespace, name
//	kube_load_balancer   cluster.C.eastwest_gateway["NS/NAME"] (read-only, EastWestGateway) as above
//	kube_gateway         chosen by the planner                    namespace, name, labels, spec
//	kube_virtual_service chosen by the planner                    namespace, name, labels, spec
//
// Value shapes: ports is a list of {name, port, protocol} sorted by port then
// protocol; labels, annotations and selector are string maps (never nil);
// subsets is a list of {addresses: [ip…], ports: [{name, port, protocol}…]}
// (one subset with every port, addresses deduplicated and sorted, no
// subset when there is no address); rules is a list of {api_groups,
// resources, verbs}; binding is {name, role, subjects: ["NS/SA"]}; token is
// {source: "secret"|"request", lifetime: Go duration, ready: bool}.
//
// Outputs:
//
//	kube_load_balancer  address (ip, else hostname), ip, hostname; an
//	                    east-west gateway also selector (its Service's,
//	                    which a Gateway built with selectorOf takes)
//	kube_cluster_info   server (API server URL from the kubeconfig), service_cidr
//	kube_reader         server, ca (PEM), token (plans.Sensitive; with
//	                    TokenRequest tokens, a fingerprint string between
//	                    rotations: see below)
//	kube_istio_secret   root-cert.pem, cert-chain.pem (strings), key.pem (Sensitive)
//
// Observe returns outputs whenever they exist live (an ILB that already has
// an address), so dependants are known at plan time; outputs an update
// would replace (a token due for rotation) are left out, which is why ILBs
// and readers set Resource.OutputsSurviveUpdate.
//
// Read-only kinds (kube_cluster_info, kube_istio_secret: their builders set
// Resource.ReadOnly) are reported Owned. kube_cluster_info always exists;
// when the service CIDR cannot be discovered, Observe fails the whole target with an error asking
// for service_cidr in the cluster block. kube_istio_secret reports
// Exists=false (and no outputs) until Citadel has created the secret; the
// executor should then call Apply, which waits for it.
//
// # Ownership, orphans and drift (no state file)
//
// Every object meshx writes carries the labels app.kubernetes.io/managed-by=
// meshx and meshx.dev/environment=ENV and the annotations meshx.dev/address
// (the instance address), meshx.dev/kind and meshx.dev/applied-digest (the
// plans.Digest of the desired Object last applied). Observe lists
// objects with the two labels over every kind this package manages
// (namespaces, services, endpoints, secrets, service accounts, cluster
// roles and cluster role bindings); those whose address was not requested
// are returned as ObserveResponse.Orphans (one per address: a reader's
// parts form one orphan). The planner must therefore send every resource of
// a target in ONE ObserveRequest. An owned object that a requested
// instance names (same kind, namespace and name) is never an orphan, even
// under an old address. Deletes check, on the live object, that it still
// carries this environment's labels, and delete by UID.
//
// An object that exists but lacks this environment's labels is reported
// with Owned=false and Owner naming who has it: `meshx environment "X"`,
// `helm (app.kubernetes.io/managed-by)`, `field manager "kubectl-create"`
// or "unmanaged". Apply refuses to touch it unless Settings.Adopt is set.
// A namespace is different (Resource.UseExisting): an existing namespace
// someone else created is used as it is and never labelled or deleted;
// meshx only ever deletes a namespace it created itself, and even then
// refuses while it holds pods, services or config maps meshx does not own.
//
// Observed.Object is a projection of the live objects onto exactly the
// attributes Render produces. Labels and annotations are projected onto the
// keys meshx's field manager owns plus the keys the configuration sets, so
// keys other managers added (cloud controllers annotate Services) are not a
// difference, while a value someone else changed is. Lists meshx declares
// whole (a Service's ports, Endpoints subsets, a role's rules) are
// projected whole: a port someone added or renumbered shows in the plan.
// Server-defaulted fields (clusterIP, nodePort, targetPort,
// sessionAffinity…) are never part of an Object, so a plan right after an
// apply is empty. Observed.Drift is set when the projection's digest no
// longer matches meshx.dev/applied-digest (a token nearing expiry is not
// drift).
//
// Writes are server-side applies with field manager "meshx"; a conflict
// with another manager fails with the managers and fields named and is
// forced only with Settings.ForceConflicts (-force-conflicts), or when the
// change repairs drift on an object this environment owns: the plan showed
// the drift and its repair, and approving it takes meshx's fields back from
// whoever edited them (kubectl edit). A Service port another manager
// owns that the configuration does not declare cannot be removed by an
// apply at all; Apply refuses naming it, and with ForceConflicts removes it
// with a JSON patch guarded by the resourceVersion.
//
// # Why Endpoints, not EndpointSlices
//
// A registered VM service is a selector-less Service plus a v1 Endpoints
// object, as istioctl register made: Istio 1.0's Pilot reads Endpoints, and
// kube-controller-manager's EndpointSlice mirroring controller copies the
// Endpoints of selector-less Services into EndpointSlices, which current
// istiod reads; one object serves both (a lab test checks the mirror). The
// API server's deprecation warning for v1 Endpoints is not logged.
//
// # Remote clusters and tokens
//
// Reader creates, in the remote, a ServiceAccount in the Istio namespace,
// a ClusterRole and a ClusterRoleBinding, named and shaped by
// RemoteOptions.Format: RemoteLegacy (Istio 1.0's istio-remote chart)
// makes ServiceAccount istio-multi, ClusterRole istio-reader
// (get/list/watch on nodes, pods, services, endpoints) and a binding named
// after the account; RemoteModern (istioctl create-remote-secret and the
// istio-discovery chart) makes istio-reader-service-account and
// istio-reader-clusterrole-<ns>, with the chart's rules, bound under the
// role's name. The namespace itself is a separate Namespace instance the
// Reader depends on (the planner must declare it, see Remote). The
// ClusterRole's name is fixed, so one environment owns the reader of a
// remote cluster; another environment's plan stops on it as on any object
// it does not own. Tokens:
//
//   - tokenLifetime 0 (default): a long-lived Secret of type
//     kubernetes.io/service-account-token that the token controller fills
//     ("SA-token"; modern: "SA-istio-remote-secret-token", istioctl's name);
//     its token never expires and is revoked by deleting the reader.
//   - tokenLifetime > 0: a TokenRequest token. Its bytes are kept nowhere
//     but in the control cluster's secret; the reader records the expiry,
//     lifetime and token fingerprint as annotations on the service account.
//     Observe reports token.ready=false once the token is within a third of
//     its lifetime of expiring (or was never minted), so the plan rotates
//     it; otherwise the reader outputs the token's fingerprint, which
//     compares equal to the live token in the control secret, so plans do
//     not churn. RemoteSecret's Apply reuses the live token when it only
//     has the fingerprint; if the control secret lost it (deleted by hand),
//     it mints a new one through the remote cluster's Provider (Connect
//     builds a configuration's providers together, each reaching the
//     others by cluster name).
//
// RemoteSecret writes, in the control cluster's Istio namespace, the Secret
// named after the cluster ID (modern: istio-remote-secret-<ID>), data key
// = cluster ID, value = a kubeconfig
// whose cluster, context and user are all named after the cluster ID
// (certificate-authority-data, server, token, current-context), label
// istio/multiCluster=true and annotation networking.istio.io/cluster=ID
// (plus meshx.dev/token-expires when the token carries an expiry). Its
// "kubeconfig" attribute is the fingerprint of that kubeconfig with the
// token replaced by the token's fingerprint, so it is known at plan time
// without the token and still changes when anything in the file does.
// RemoteOptions.Server replaces the server meshx connects to in that
// kubeconfig, where istiod reaches the remote by another address, and
// RemoteOptions.TLSServerName sets its tls-server-name.
//
// Observe of a RemoteSecret lists the secrets labelled
// istio/multiCluster=true in its namespace that are not this
// environment's (the only secrets meshx lists that are not its own; it
// keeps their names, data keys and cluster annotation, never their
// values) and reports a Conflict when one registers the same cluster ID
// under a data key, or names it in its annotation under another key:
// istiod would read only one secret per cluster ID. Observe of a modern
// Reader reports a Conflict when the remote's own Istio install names its
// cluster otherwise (global.multiCluster.clusterName in the values of
// ConfigMap istio-sidecar-injector).
//
// Token, key and kubeconfig bytes never appear in an Object (only as
// plans.Sensitive), an output string, an error or a log line.
//
// # What it does not do
//
// It does not decide which instances a cluster needs, compute internal-LB
// annotations or Istio ports (package istio and the planner do),
// install Istio, or validate that a server URL is reachable from the
// control plane.
package kube
