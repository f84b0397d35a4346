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

// decodeRemoteSecret decodes what remote_secret says of the kubeconfig
// istiod gets (server, tls_server_name): an https URL with a host and a
// host name, and only where this environment writes the secret.
func (l *loader) decodeRemoteSecret(rd *decoder, c *Cluster) {
	c.RemoteServer = rd.str("server", "")
	c.RemoteTLSServerName = rd.str("tls_server_name", "")
	for _, name := range []string{"server", "tls_server_name"} {
		if rd.has(name) && !c.ManageRemoteSecret {
			l.errorf(rd.attr(name).NameRange, "Attribute of a secret this environment does not manage",
				"%s shapes the kubeconfig in the remote secret meshx writes for %s, but manage = false says another environment owns that secret. Remove %s here (set it in the owning environment), or remove manage = false.", name, rd.where, name)
			c.RemoteServer, c.RemoteTLSServerName = "", ""
			return
		}
	}
	if rd.has("server") {
		u, err := url.Parse(c.RemoteServer)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			l.errorf(rd.rng("server"), "Invalid API server address",
				"The server of %s is %q; it must be the https URL istiod reaches the remote cluster's API server at, like server = \"https://10.0.0.5:6443\" (what istioctl create-remote-secret takes as --server).", rd.where, c.RemoteServer)
			c.RemoteServer = ""
		}
	}
	if rd.has("tls_server_name") && !rd.checkName("tls_server_name", "TLS server name", c.RemoteTLSServerName, checkDNS1123Subdomain) {
		c.RemoteTLSServerName = ""
	}
}
