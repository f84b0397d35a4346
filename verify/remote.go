package verify

import (
	"context"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers/kube"
)

// writeVerbs are the verbs the reader must be refused on every resource
// it reads, and on secrets.
var writeVerbs = []string{"create", "update", "patch", "delete"}

// readerRule is one rule of the reader's ClusterRole, as the expansion
// renders it.
type readerRule struct {
	groups, resources, verbs []string
}

// remoteChecks uses the kubeconfig the control cluster's Secret holds for
// remote cluster c, as istiod does: it must authenticate as the reader,
// list what the reader's rules allow, and be refused every write.
func (v *verifier) remoteChecks(ctx context.Context, c *config.Cluster) []Check {
	subject := "cluster." + c.Name
	ns := v.cfg.Meshx.Istio.Namespace
	opts := planner.RemoteOptions(v.cfg, c)
	secret := opts.Format.SecretName(c.ClusterID)
	where := fmt.Sprintf("Secret %s/%s in cluster.%s", ns, secret, v.controlName())
	fail := func(name, observed, fix string) []Check {
		return []Check{{Subject: subject, Name: name, Status: Fail, Observed: observed, Fix: fix}}
	}
	cp, err := v.kubeProvider(v.controlName())
	if err != nil {
		return fail("auth", err.Error(), "This is a bug in meshx: please report it.")
	}
	sec, err := cp.Client().CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fail("auth", "no "+where, "Run meshx apply: it writes the remote cluster's secret.")
	case err != nil:
		return fail("auth", "cannot read "+where+": "+firstLine(err), fixUnreachable)
	}
	kc := sec.Data[c.ClusterID]
	if len(kc) == 0 {
		return fail("auth", where+" has no key "+c.ClusterID, "Run meshx apply: it rewrites the remote cluster's secret.")
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		// The parser's message may quote the file; say only where it is.
		return fail("auth", "the kubeconfig in "+where+" does not parse", "Run meshx apply: it rewrites the remote cluster's secret.")
	}
	rc.Timeout = kube.RequestTimeout(c.RequestTimeout)
	// Listing v1 Endpoints draws a deprecation warning; the reader's
	// rules are what they are, and the table is the output.
	rc.WarningHandler = rest.NoWarnings{}
	secrets := []string{rc.BearerToken, string(kc)}
	scrub := func(err error) string {
		s := firstLine(err)
		for _, t := range secrets {
			if t != "" {
				s = strings.ReplaceAll(s, t, plans.Fingerprint([]byte(t)))
			}
		}
		return s
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fail("auth", "the kubeconfig in "+where+" is unusable: "+scrub(err), "Run meshx apply: it rewrites the remote cluster's secret.")
	}

	sa := c.ServiceAccount
	if sa == "" {
		sa = opts.Format.DefaultServiceAccount()
	}
	user := "system:serviceaccount:" + ns + ":" + sa
	auth := Check{Subject: subject, Name: "auth"}
	ssr, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case apierrors.IsUnauthorized(err):
		return fail("auth", "rejected: "+scrub(err),
			"The stored token is revoked or expired, so istiod cannot read "+subject+": run meshx apply to mint a new one and rewrite "+where+".")
	case err != nil && !apierrors.IsNotFound(err):
		return fail("auth", scrub(err), "Check that "+rc.Host+" is up and reachable from here (and from istiod).")
	case err == nil && ssr.Status.UserInfo.Username != user:
		return fail("auth", "authenticates as "+ssr.Status.UserInfo.Username,
			"The stored token is not the reader's ("+user+"): run meshx apply to rewrite "+where+".")
	default:
		// An API server without SelfSubjectReview (before 1.28): the
		// read check below establishes authentication.
		auth.Status, auth.Observed = Pass, "as "+user
	}

	rules, err := readerRules(c, opts)
	if err != nil {
		return append([]Check{auth}, Check{Subject: subject, Name: "read", Status: Fail, Observed: err.Error(), Fix: "This is a bug in meshx: please report it."})
	}
	read, resources := readCheck(ctx, cs, subject, opts.Format.ClusterRole(ns), rules, scrub)
	write := Check{Subject: subject, Name: "no write", Status: Pass, Observed: "refused " + strings.Join(writeVerbs, ", ")}
	for _, res := range append(resources, "secrets") {
		for _, verb := range writeVerbs {
			err := allowed(ctx, cs, "", res, verb)
			if err == nil {
				write.Status, write.Observed, write.Expected = Fail, "may "+verb+" "+res, "refused"
				write.Fix = "The reader's token may write: another role is bound to " + user + ". Find it with: kubectl get clusterrolebindings,rolebindings -A -o wide | grep " + sa
				return []Check{auth, read, write}
			}
			if _, denied := err.(deniedError); !denied {
				write.Status, write.Observed = Fail, "cannot ask: "+scrub(err)
				write.Fix = "The API server did not answer a SelfSubjectAccessReview: check that it is reachable."
				if apierrors.IsUnauthorized(err) {
					write.Fix = "The stored token is rejected: run meshx apply to mint a new one."
				}
				return []Check{auth, read, write}
			}
		}
	}
	return []Check{auth, read, write}
}

// readCheck lists, with the stored credentials, every resource the
// reader's rules let it list: core resources for real (one item), others
// by SelfSubjectAccessReview. It returns the check and the core resources,
// those the reader must not write (the istiod era's reader may create
// serviceexports, tokenreviews and subjectaccessreviews).
func readCheck(ctx context.Context, cs kubernetes.Interface, subject, role string, rules []readerRule, scrub func(error) string) (Check, []string) {
	read := Check{Subject: subject, Name: "read", Status: Pass}
	var resources, listed []string
	for _, r := range rules {
		if !contains(r.verbs, "list") {
			continue
		}
		for _, g := range r.groups {
			for _, res := range r.resources {
				var err error
				if g == "" {
					err = cs.CoreV1().RESTClient().Get().Resource(res).Param("limit", "1").Do(ctx).Error()
				} else {
					err = allowed(ctx, cs, g, res, "list")
				}
				if err != nil {
					read.Status = Fail
					what := res
					if g != "" {
						what += "." + g
					}
					read.Observed = "cannot list " + what + ": " + scrub(err)
					read.Fix = "The reader's ClusterRole " + role + " or its binding changed: run meshx apply to restore them."
					if apierrors.IsUnauthorized(err) {
						read.Fix = "The stored token is rejected: run meshx apply to mint a new one."
					}
					return read, resources
				}
				if g == "" {
					resources = append(resources, res)
					listed = append(listed, res)
				} else {
					listed = append(listed, res+"."+g)
				}
			}
		}
	}
	read.Observed = "listed " + strings.Join(listed, ", ")
	return read, resources
}

// deniedError is a SelfSubjectAccessReview's "no".
type deniedError struct{ verb, resource string }

func (e deniedError) Error() string { return "may not " + e.verb + " " + e.resource }

// allowed asks the API server whether the caller may verb resource in
// every namespace: nil if so, deniedError if not, another error when the
// question could not be asked.
func allowed(ctx context.Context, cs kubernetes.Interface, group, resource, verb string) error {
	r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group: group, Resource: resource, Verb: verb,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if !r.Status.Allowed {
		return deniedError{verb, resource}
	}
	return nil
}

// readerRules renders the rules of cluster c's reader as apply writes
// them, whether this environment owns the reader or uses another's secret
// by reference (remote_secret { manage = false }).
func readerRules(c *config.Cluster, opts kube.RemoteOptions) ([]readerRule, error) {
	obj, err := kube.Reader(c.Name, opts).Render(planner.AppliedOutputs(nil))
	if err != nil {
		return nil, err
	}
	raw, _ := obj["rules"].([]any)
	var out []readerRule
	for _, x := range raw {
		m, _ := x.(map[string]any)
		out = append(out, readerRule{groups: anyStrings(m["api_groups"]), resources: anyStrings(m["resources"]), verbs: anyStrings(m["verbs"])})
	}
	return out, nil
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s || x == "*" {
			return true
		}
	}
	return false
}
