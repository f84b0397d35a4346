package kube

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TokenSource mints TokenRequest tokens for one service account of a
// cluster, through that cluster's Provider once Bind has given it one. The
// VM provider calls Mint while applying a VM's istio-token (vm.Token); the
// token goes to the VM and nowhere else: not into the plan, a Secret or a
// log.
type TokenSource struct {
	Cluster, Namespace, ServiceAccount string
	Audiences                          []string

	p *Provider
}

// Bind gives the source the provider of its cluster.
func (s *TokenSource) Bind(p *Provider) { s.p = p }

// Mint requests a token of the given lifetime.
func (s *TokenSource) Mint(ctx context.Context, lifetime time.Duration) ([]byte, error) {
	if s.p == nil {
		return nil, fmt.Errorf("cluster %q is not connected: cannot request a token for ServiceAccount %s/%s", s.Cluster, s.Namespace, s.ServiceAccount)
	}
	secs := int64(lifetime / time.Second)
	tr, err := s.p.client.CoreV1().ServiceAccounts(s.Namespace).CreateToken(ctx, s.ServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: s.Audiences, ExpirationSeconds: &secs},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: request a token for ServiceAccount %s/%s: %w", s.p.target(), s.Namespace, s.ServiceAccount, s.p.explain(err))
	}
	return []byte(tr.Status.Token), nil
}
