package kube

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client is a connection to one cluster's API server, built from its
// kubeconfig by NewClient: the one way meshx builds a Kubernetes client,
// for the providers and for the CLI's lock. It is a kubernetes.Interface.
type Client struct {
	kubernetes.Interface
	// Server is the API server URL from the kubeconfig.
	Server string
	// Context is the name of the kubeconfig context in use.
	Context string

	// dynamic reads and writes Istio's custom resources.
	dynamic dynamic.Interface
	http    *http.Client
	ca      []byte // PEM from the kubeconfig, if it has one
	// timeout bounds each request (rest.Config.Timeout).
	timeout time.Duration
}

// NewClient reads the kubeconfig of c and prepares a client for it, with
// c's request rate and timeout. It does not contact the cluster.
func NewClient(c Cluster) (*Client, error) {
	rc, kctx, err := restConfig(c)
	if err != nil {
		return nil, fmt.Errorf("cluster.%s: %w", c.Name, err)
	}
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
	dyn, err := dynamic.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, fmt.Errorf("cluster.%s: client: %w", c.Name, err)
	}
	ca := rc.CAData
	if len(ca) == 0 && rc.CAFile != "" {
		if ca, err = os.ReadFile(rc.CAFile); err != nil {
			return nil, fmt.Errorf("cluster.%s: read the kubeconfig's certificate authority: %w", c.Name, err)
		}
	}
	return &Client{Interface: cs, Server: rc.Host, Context: kctx, dynamic: dyn, http: hc, ca: ca, timeout: rc.Timeout}, nil
}

// DefaultRequestTimeout bounds each API request when
// Cluster.RequestTimeout is 0: kubectl's --request-timeout, which kubectl
// leaves unbounded, but an API server that accepts and never answers would
// then hang meshx forever. meshx sends no long requests (it polls, never
// watches), so 30s is generous.
const DefaultRequestTimeout = 30 * time.Second

// defaultQPS is the client-side request rate when Cluster.QPS is 0.
var defaultQPS float32 = 200

// restConfig reads the kubeconfig of c, with clientcmd's loading rules
// when c names none, and returns the client configuration (with c's
// request timeout) and the name of the context in use.
func restConfig(c Cluster) (*rest.Config, string, error) {
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

// RequestTimeout is the bound Cluster.RequestTimeout d gives each request.
func RequestTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultRequestTimeout
	}
	return d
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
