package kube

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/plans"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// buildKubeconfig returns the kubeconfig Istio's secret controller reads
// for a remote cluster: one cluster, context and user, all named id, with
// certificate-authority-data, server, tls-server-name when set and a
// bearer token, and current-context id (what generate-kubeconfig.sh and
// istioctl create-remote-secret write). The output is deterministic.
func buildKubeconfig(id string, k remoteKubeconfig) ([]byte, error) {
	token := k.token
	cfg := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = k.server
	cluster.TLSServerName = k.tlsServerName
	cluster.CertificateAuthorityData = k.ca
	cfg.Clusters[id] = cluster
	user := clientcmdapi.NewAuthInfo()
	user.Token = token
	cfg.AuthInfos[id] = user
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo = id, id
	cfg.Contexts[id] = ctx
	cfg.CurrentContext = id
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		// clientcmd's errors never echo the token, but be sure.
		return nil, fmt.Errorf("build kubeconfig for %s: %s", id, scrub(err.Error(), token))
	}
	return b, nil
}

// remoteKubeconfig is what a remote secret's kubeconfig holds:
// buildKubeconfig's input, parseKubeconfig's output.
type remoteKubeconfig struct {
	server, tlsServerName string
	ca                    []byte
	token                 string
}

// withToken returns k with token in place of its token.
func (k remoteKubeconfig) withToken(token string) remoteKubeconfig {
	k.token = token
	return k
}

// parseKubeconfig reads the current context's server, CA and token. Its
// errors never include the file's content.
func parseKubeconfig(b []byte) (remoteKubeconfig, error) {
	cfg, err := clientcmd.Load(b)
	if err != nil {
		return remoteKubeconfig{}, fmt.Errorf("not a kubeconfig")
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return remoteKubeconfig{}, fmt.Errorf("kubeconfig has no current context")
	}
	var k remoteKubeconfig
	if c, ok := cfg.Clusters[ctx.Cluster]; ok {
		k.server, k.tlsServerName, k.ca = c.Server, c.TLSServerName, c.CertificateAuthorityData
	}
	if u, ok := cfg.AuthInfos[ctx.AuthInfo]; ok {
		k.token = u.Token
	}
	return k, nil
}

// maskedKubeconfigFingerprint is the "kubeconfig" attribute of a live
// secret for cluster id: when the bytes are exactly what buildKubeconfig
// writes for the server, TLS server name, CA and token they hold, the
// fingerprint of that
// kubeconfig built with the token's fingerprint in place of the token
// (what renderRemoteSecret computes from the reader's outputs, without the
// token); otherwise the fingerprint of the bytes, which differs.
func maskedKubeconfigFingerprint(live []byte, id string) string {
	k, err := parseKubeconfig(live)
	if err != nil || k.token == "" {
		return plans.Fingerprint(live)
	}
	canonical, err := buildKubeconfig(id, k)
	if err != nil || !bytes.Equal(canonical, live) {
		return plans.Fingerprint(live)
	}
	masked, err := buildKubeconfig(id, k.withToken(plans.Fingerprint([]byte(k.token))))
	if err != nil {
		return plans.Fingerprint(live)
	}
	return plans.Fingerprint(masked)
}

// jwtExpiry reads the exp claim of a JWT without verifying it: only to
// record when a token stops working. ok is false for tokens without one
// (long-lived secret tokens).
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	return time.Unix(*claims.Exp, 0).UTC(), true
}

// scrub replaces every occurrence of the secrets in s by "(sensitive)".
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "(sensitive)")
		}
	}
	return s
}

// scrubErr returns err with every occurrence of the secrets removed from
// its text. The result deliberately does not unwrap to err, so nothing can
// reach the original text.
func scrubErr(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := scrub(err.Error(), secrets...)
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
