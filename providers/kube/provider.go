package kube

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/providers"
)

// Cluster says how to reach one cluster.
type Cluster struct {
	// Name is the cluster block's label ("control", "remote1"); errors and
	// addresses use it.
	Name string
	// Kubeconfig is a kubeconfig path ("~/" is expanded). Empty follows
	// clientcmd's rules: $KUBECONFIG (a list), else ~/.kube/config.
	Kubeconfig string
	// Context selects a context; empty uses the current one.
	Context string
	// QPS and Burst bound the client-side request rate (defaults 200 and
	// 400: client-go's own 5/10 makes a 200-service apply take minutes; the
	// API server's priority and fairness still protects it).
	QPS   float32
	Burst int
}

// Provider observes and applies the instances of one cluster. It is safe
// for concurrent use.
type Provider struct {
	name   string
	cs     kubernetes.Interface
	http   *http.Client
	server string
	ca     []byte // PEM from the kubeconfig, if it has one

	now           func() time.Time
	pollInterval  time.Duration
	progressEvery time.Duration
}

var _ providers.Provider = (*Provider)(nil)

// New reads the kubeconfig and prepares a client for c. It does not
// contact the cluster (the first Observe does), so it is cheap; exec
// credential plugins run on the first request.
func New(ctx context.Context, c Cluster) (*Provider, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	where := "the default kubeconfig"
	if c.Kubeconfig != "" {
		rules.ExplicitPath = expandHome(c.Kubeconfig)
		where = rules.ExplicitPath
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster.%s: load %s (context %q): %w", c.Name, where, c.Context, err)
	}
	return newFromREST(c, rc)
}

// defaultQPS is the client-side request rate when Cluster.QPS is 0.
var defaultQPS float32 = 200

func newFromREST(c Cluster, rc *rest.Config) (*Provider, error) {
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = c.QPS, c.Burst
	if rc.QPS <= 0 {
		rc.QPS = defaultQPS
	}
	if rc.Burst <= 0 {
		rc.Burst = 2 * int(rc.QPS)
	}
	rc.UserAgent = "meshx"
	rc.WarningHandler = quietWarnings{}
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("cluster.%s: client: %w", c.Name, err)
	}
	cs, err := kubernetes.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, fmt.Errorf("cluster.%s: client: %w", c.Name, err)
	}
	ca := rc.CAData
	if len(ca) == 0 && rc.CAFile != "" {
		if ca, err = os.ReadFile(rc.CAFile); err != nil {
			return nil, fmt.Errorf("cluster.%s: read the kubeconfig's certificate authority: %w", c.Name, err)
		}
	}
	p := &Provider{
		name:          c.Name,
		cs:            cs,
		http:          hc,
		server:        rc.Host,
		ca:            ca,
		now:           time.Now,
		pollInterval:  500 * time.Millisecond,
		progressEvery: 10 * time.Second,
	}
	register(p)
	return p, nil
}

// registry holds the providers of this process by cluster name, so a
// control cluster's provider can reach a remote one: the only case is
// re-minting a TokenRequest token whose only copy (the control secret) was
// lost. Everything else flows through outputs.
var registry = struct {
	sync.Mutex
	m map[string]*Provider
}{m: map[string]*Provider{}}

func register(p *Provider) {
	registry.Lock()
	defer registry.Unlock()
	registry.m[p.name] = p
}

func lookup(cluster string) *Provider {
	registry.Lock()
	defer registry.Unlock()
	return registry.m[cluster]
}

// Server is the API server URL from the kubeconfig.
func (p *Provider) Server() string { return p.server }

// Close releases idle connections.
func (p *Provider) Close() error {
	registry.Lock()
	if registry.m[p.name] == p {
		delete(registry.m, p.name)
	}
	registry.Unlock()
	p.http.CloseIdleConnections()
	return nil
}

// quietWarnings drops the API server's deprecation notice for v1
// Endpoints, which meshx writes on purpose (see doc.go), and passes every
// other warning to client-go's default logger.
type quietWarnings struct{}

func (quietWarnings) HandleWarningHeader(code int, agent, text string) {
	if strings.Contains(text, "v1 Endpoints is deprecated") {
		return
	}
	rest.WarningLogger{}.HandleWarningHeader(code, agent, text)
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return p
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
