package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// DefaultRequestTimeout bounds each API request when
// Cluster.RequestTimeout is 0: kubectl's --request-timeout, which kubectl
// leaves unbounded, but an API server that accepts and never answers would
// then hang meshx forever. meshx sends no long requests (it polls, never
// watches), so 30s is generous.
const DefaultRequestTimeout = 30 * time.Second

// Provider observes and applies the instances of one cluster. It is safe
// for concurrent use.
type Provider struct {
	name   string
	cs     kubernetes.Interface
	http   *http.Client
	server string
	ca     []byte // PEM from the kubeconfig, if it has one
	// timeout bounds each request (rest.Config.Timeout).
	timeout time.Duration
	// context is the kubeconfig context in use.
	context string

	now           func() time.Time
	pollInterval  time.Duration
	progressEvery time.Duration
}

var _ providers.Provider = (*Provider)(nil)

// New reads the kubeconfig and prepares a client for c. It does not
// contact the cluster (the first Observe does), so it is cheap; exec
// credential plugins run on the first request.
func New(ctx context.Context, c Cluster) (*Provider, error) {
	rc, kctx, err := RESTConfig(c)
	if err != nil {
		return nil, fmt.Errorf("cluster.%s: %w", c.Name, err)
	}
	p, err := newFromREST(c, rc)
	if err != nil {
		return nil, err
	}
	p.context = kctx
	return p, nil
}

// RESTConfig reads the kubeconfig of c, with clientcmd's loading rules
// when c names none, and returns the client configuration (with c's
// request timeout) and the name of the context in use.
func RESTConfig(c Cluster) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	where := clientcmd.RecommendedHomeFile
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		where = "$KUBECONFIG (" + env + ")"
	}
	switch paths := filepath.SplitList(c.Kubeconfig); {
	case len(paths) == 1:
		rules.ExplicitPath = expandHome(paths[0])
		where = rules.ExplicitPath
	case len(paths) > 1:
		for i, p := range paths {
			paths[i] = expandHome(p)
			if _, err := os.Stat(paths[i]); err != nil {
				return nil, "", fmt.Errorf("read kubeconfig: %w", err)
			}
		}
		rules.Precedence = paths
		where = strings.Join(paths, ", ")
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context})
	rc, err := cc.ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		// Not client-go's "try setting KUBERNETES_MASTER": meshx reads no
		// such variable.
		return nil, "", fmt.Errorf("no kubeconfig: %s has no cluster. Set kubeconfig in the cluster block, or KUBECONFIG", where)
	}
	if err != nil {
		return nil, "", fmt.Errorf("load %s (context %q): %w", where, c.Context, err)
	}
	kctx := c.Context
	if kctx == "" {
		if raw, err := cc.RawConfig(); err == nil {
			kctx = raw.CurrentContext
		}
	}
	rc.Timeout = RequestTimeout(c.RequestTimeout)
	return rc, kctx, nil
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
	rc.Timeout = RequestTimeout(c.RequestTimeout)
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
		timeout:       rc.Timeout,
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

// Context is the name of the kubeconfig context in use ("" when the
// provider was built without a kubeconfig).
func (p *Provider) Context() string { return p.context }

// Endpoint is Server, for progress reports.
func (p *Provider) Endpoint() string { return p.server }

// explain adds TimeoutHint to an error.
func (p *Provider) explain(err error) error {
	if h := TimeoutHint(err, p.name, p.server, p.timeout); h != "" {
		return fmt.Errorf("%w\n%s", err, h)
	}
	return err
}

// TimeoutHint says, for the error of a request that got no answer within
// timeout, which server it was and which setting to change; "" for other
// errors.
func TimeoutHint(err error, cluster, server string, timeout time.Duration) string {
	var ue *url.Error
	if !errors.As(err, &ue) || !ue.Timeout() {
		return ""
	}
	return fmt.Sprintf("%s gave no answer in time (the request_timeout of cluster %q is %s): check that it is up and reachable, or raise request_timeout (or pass -request-timeout).", server, cluster, timeout)
}

// RequestTimeout is the bound Cluster.RequestTimeout d gives each request.
func RequestTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultRequestTimeout
	}
	return d
}

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
