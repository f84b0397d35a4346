package kube

import "time"

// RemoteFormat is the shape of a remote cluster's reader and of its secret
// in the control cluster: the names and rights of one Istio era.
type RemoteFormat int

const (
	// RemoteLegacy is Istio 1.0's: the istio-remote chart's ServiceAccount
	// istio-multi, ClusterRole istio-reader and a binding named after the
	// account; create-secret.sh's Secret named after the cluster ID.
	RemoteLegacy RemoteFormat = iota
	// RemoteModern is the istiod era's, what `istioctl create-remote-secret`
	// makes: ServiceAccount istio-reader-service-account, the
	// istio-discovery chart's ClusterRole istio-reader-clusterrole-<ns> and
	// its binding of the same name, and Secret istio-remote-secret-<id>.
	RemoteModern
)

// RemoteOptions describe one remote cluster's reader and secret.
type RemoteOptions struct {
	// Namespace is the Istio namespace: the reader's in the remote, the
	// secret's in the control cluster.
	Namespace string
	// ServiceAccount is the reader's account; "" is the format's default.
	ServiceAccount string
	// ClusterID is the remote's Istio cluster ID: the secret's data key and
	// annotation. It must be a DNS-1123 label.
	ClusterID string
	// TokenLifetime is 0 for a long-lived token Secret, else the lifetime
	// of TokenRequest tokens, re-minted once a third of it is left.
	TokenLifetime time.Duration
	// Server, when set, is the API server address written into the
	// kubeconfig (istioctl's --server): the address istiod reaches the
	// remote at, where it differs from the one meshx connects to.
	Server string
	// TLSServerName, when set, is the kubeconfig's tls-server-name
	// (istioctl's --tls-server-name): the name istiod checks the API
	// server's certificate against, where Server's host is not in it.
	TLSServerName string
	Format        RemoteFormat
}

// Defaults of the modern format, as Istio's charts and istioctl name them.
const (
	// ModernReaderServiceAccount is the reader account of the base chart
	// (reader-serviceaccount.yaml) and of istioctl create-remote-secret.
	ModernReaderServiceAccount = "istio-reader-service-account"
	// modernReaderRolePrefix is the istio-discovery chart's
	// reader-clusterrole.yaml name, completed by the namespace.
	modernReaderRolePrefix = "istio-reader-clusterrole-"
	// modernSecretPrefix names the control cluster's secret
	// (istioctl/pkg/multicluster/remote_secret.go, remoteSecretPrefix).
	modernSecretPrefix = "istio-remote-secret-"
	// modernTokenSecretSuffix completes the long-lived token Secret's name
	// as istioctl's tokenSecretName does: <sa>-istio-remote-secret-token.
	modernTokenSecretSuffix = "-istio-remote-secret-token"
)

// DefaultServiceAccount is the format's reader account.
func (f RemoteFormat) DefaultServiceAccount() string {
	if f == RemoteModern {
		return ModernReaderServiceAccount
	}
	return DefaultReaderServiceAccount
}

// ClusterRole is the name of the reader's ClusterRole in namespace.
func (f RemoteFormat) ClusterRole(namespace string) string {
	if f == RemoteModern {
		return modernReaderRolePrefix + namespace
	}
	return ReaderClusterRole
}

// SecretName is the name of the control cluster's secret for clusterID.
func (f RemoteFormat) SecretName(clusterID string) string {
	if f == RemoteModern {
		return modernSecretPrefix + clusterID
	}
	return clusterID
}

// bindingName names the ClusterRoleBinding of the reader's account.
func (f RemoteFormat) bindingName(namespace, serviceAccount string) string {
	if f == RemoteModern {
		return f.ClusterRole(namespace)
	}
	return serviceAccount
}

// tokenSecretName names the long-lived token Secret of account sa.
func (f RemoteFormat) tokenSecretName(sa string) string {
	if f == RemoteModern {
		return sa + modernTokenSecretSuffix
	}
	return sa + "-token"
}

// rules are the reader ClusterRole's rules.
func (f RemoteFormat) rules() []ruleSpec {
	if f == RemoteModern {
		return modernReaderRules
	}
	return legacyReaderRules
}

// legacyReaderRules are istio-reader's rules in the istio-remote chart of
// 1.0.
var legacyReaderRules = []ruleSpec{{
	apiGroups: []string{""},
	resources: []string{"endpoints", "nodes", "pods", "services"},
	verbs:     []string{"get", "list", "watch"},
}}

// modernReaderRules are those of the istio-discovery chart's
// reader-clusterrole.yaml (manifests/charts/istio-control/istio-discovery,
// without istiodRemote), each list sorted as the API server's copy is
// projected.
var modernReaderRules = []ruleSpec{
	{
		apiGroups: []string{"authentication.istio.io", "config.istio.io", "extensions.istio.io", "networking.istio.io", "rbac.istio.io", "security.istio.io", "telemetry.istio.io"},
		resources: []string{"*"},
		verbs:     []string{"get", "list", "watch"},
	},
	{
		apiGroups: []string{""},
		resources: []string{"configmaps", "endpoints", "namespaces", "nodes", "pods", "replicationcontrollers", "secrets", "services"},
		verbs:     []string{"get", "list", "watch"},
	},
	{apiGroups: []string{"networking.istio.io"}, resources: []string{"workloadentries"}, verbs: []string{"get", "list", "watch"}},
	{apiGroups: []string{"gateway.networking.k8s.io", "networking.x-k8s.io"}, resources: []string{"gateways"}, verbs: []string{"get", "list", "watch"}},
	{apiGroups: []string{"apiextensions.k8s.io"}, resources: []string{"customresourcedefinitions"}, verbs: []string{"get", "list", "watch"}},
	{apiGroups: []string{"discovery.k8s.io"}, resources: []string{"endpointslices"}, verbs: []string{"get", "list", "watch"}},
	{apiGroups: []string{"multicluster.x-k8s.io"}, resources: []string{"serviceexports"}, verbs: []string{"create", "delete", "get", "list", "watch"}},
	{apiGroups: []string{"multicluster.x-k8s.io"}, resources: []string{"serviceimports"}, verbs: []string{"get", "list", "watch"}},
	{apiGroups: []string{"apps"}, resources: []string{"replicasets"}, verbs: []string{"get", "list", "watch"}},
	{apiGroups: []string{"authentication.k8s.io"}, resources: []string{"tokenreviews"}, verbs: []string{"create"}},
	{apiGroups: []string{"authorization.k8s.io"}, resources: []string{"subjectaccessreviews"}, verbs: []string{"create"}},
}
