package kube

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshx-dev/meshx/providers"
)

// Cluster says how to reach one cluster.
type Cluster struct {
	// Name is the cluster block's label ("control", "remote1"); errors and
	// addresses use it.
	Name string
	// Kubeconfig is a kubeconfig path ("~/" is expanded), or several
	// joined by the path list separator as in $KUBECONFIG, merged the same
	// way (the first file to set a value wins). Empty follows clientcmd's
	// rules: $KUBECONFIG (a list), else ~/.kube/config.
	Kubeconfig string
	// Context selects a context; empty uses the current one.
	Context string
	// QPS and Burst bound the client-side request rate (defaults 200 and
	// 400: client-go's own 5/10 makes a 200-service apply take minutes; the
	// API server's priority and fairness still protects it).
	QPS   float32
	Burst int
	// RequestTimeout bounds each request, from sending it to reading the
	// whole answer (default DefaultRequestTimeout).
	RequestTimeout time.Duration
}

// Provider observes and applies the instances of one cluster. It is safe
// for concurrent use.
type Provider struct {
	name   string
	client *Client
	// peers are the providers of the other clusters of the configuration,
	// by name (see Connect); nil for a provider built alone.
	peers map[string]*Provider

	now           func() time.Time
	pollInterval  time.Duration
	progressEvery time.Duration
}

var _ providers.Provider = (*Provider)(nil)

// newProvider prepares a Provider for c, with NewClient.
func newProvider(c Cluster) (*Provider, error) {
	client, err := NewClient(c)
	if err != nil {
		return nil, err
	}
	return &Provider{
		name:          c.Name,
		client:        client,
		now:           time.Now,
		pollInterval:  500 * time.Millisecond,
		progressEvery: 10 * time.Second,
	}, nil
}

// Connect prepares a Provider for each of the clusters of one
// configuration, by cluster name. It does not contact the clusters (the
// first Observe does), so it is cheap; exec credential plugins run on the
// first request. Each provider can reach the others, for the one thing
// outputs cannot carry: a control cluster's provider re-mints, through a
// remote's, a TokenRequest token whose only copy (the control cluster's
// secret) was lost.
func Connect(ctx context.Context, clusters []Cluster) (map[string]*Provider, error) {
	peers := make(map[string]*Provider, len(clusters))
	for _, c := range clusters {
		p, err := newProvider(c)
		if err != nil {
			return nil, err
		}
		p.peers = peers
		peers[c.Name] = p
	}
	return maps.Clone(peers), nil
}

// Server is the API server URL from the kubeconfig.
func (p *Provider) Server() string { return p.client.Server }

// Context is the name of the kubeconfig context in use ("" when the
// provider was built without a kubeconfig).
func (p *Provider) Context() string { return p.client.Context }

// Endpoint is Server, for progress reports.
func (p *Provider) Endpoint() string { return p.client.Server }

// Client is the provider's connection, for reads outside Observe (meshx
// verify's checks).
func (p *Provider) Client() *Client { return p.client }

// explain adds TimeoutHint to an error.
func (p *Provider) explain(err error) error {
	if h := TimeoutHint(err, p.name, p.client.Server, p.client.timeout); h != "" {
		return fmt.Errorf("%w\n%s", err, h)
	}
	return err
}

// Close releases idle connections.
func (p *Provider) Close() error {
	p.client.http.CloseIdleConnections()
	return nil
}

func checkEnvironment(env string) error {
	if env == "" {
		return fmt.Errorf("the environment name is empty")
	}
	if errs := validation.IsValidLabelValue(env); len(errs) > 0 {
		return fmt.Errorf("environment %q cannot be a label value: %s", env, strings.Join(errs, "; "))
	}
	return nil
}

func (p *Provider) target() string { return "cluster." + p.name }
