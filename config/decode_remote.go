package config

import (
	"net/url"
)

// readerServiceAccount is the default reader account of a remote cluster
// under the configuration's profile: Istio 1.0's istio-remote chart named
// it istio-multi, the istiod era's charts and istioctl
// create-remote-secret istio-reader-service-account.
func (l *loader) readerServiceAccount() string {
	if l.modern() {
		return "istio-reader-service-account"
	}
	return "istio-multi"
}

// checkRemoteServer checks remote_secret { server }: an https URL with a
// host, and only where this environment writes the secret.
func (l *loader) checkRemoteServer(rd *decoder, c *Cluster) {
	if !c.ManageRemoteSecret {
		l.errorf(rd.attr("server").NameRange, "Attribute of a secret this environment does not manage",
			"server sets the API server address in the remote secret meshx writes for %s, but manage = false says another environment owns that secret. Remove server here (set it in the owning environment), or remove manage = false.", rd.where)
		return
	}
	u, err := url.Parse(c.RemoteServer)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		l.errorf(rd.rng("server"), "Invalid API server address",
			"The server of %s is %q; it must be the https URL istiod reaches the remote cluster's API server at, like server = \"https://10.0.0.5:6443\" (what istioctl create-remote-secret takes as --server).", rd.where, c.RemoteServer)
		c.RemoteServer = ""
	}
}
