package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// KindRootCert is istiod's istio-ca-root-cert ConfigMap of a namespace,
// which meshx only reads.
const KindRootCert = "kube_root_cert"

// RootCertConfigMap is the ConfigMap istiod publishes its root certificate
// in, in every namespace, under key root-cert.pem.
const RootCertConfigMap = "istio-ca-root-cert"

// DefaultRootCertWait bounds the wait for istiod to publish the root
// certificate in a new namespace.
const DefaultRootCertWait = 2 * time.Minute

// rootCert is a kube_root_cert instance.
type rootCert struct{ namespace string }

// RootCert declares the read-only istio-ca-root-cert ConfigMap of namespace
// at cluster.<cluster>.root_cert["<ns>"]. Output: root-cert.pem, missing
// (Unknown) until istiod has published it; Apply waits for it up to
// Settings.WaitTimeout (default DefaultRootCertWait). It depends on the
// namespace's instance, which the planner must declare.
func RootCert(cluster, namespace string) providers.Resource {
	s := &rootCert{namespace: namespace}
	return providers.Resource{
		Addr:      plans.Address{Block: "cluster", Name: cluster, Type: "root_cert", Key: namespace},
		Target:    clusterTarget(cluster),
		Kind:      KindRootCert,
		DependsOn: []plans.Address{NamespaceAddress(cluster, namespace)},
		Render:    s.render,
		ReadOnly:  true,
		Settings:  providers.Settings{WaitTimeout: DefaultRootCertWait},
		Private:   s,
	}
}

func (s *rootCert) kind() string { return KindRootCert }

func (s *rootCert) render(providers.Outputs) (plans.Object, error) {
	return plans.Object{"namespace": s.namespace, "name": RootCertConfigMap}, nil
}

func (s *rootCert) identities() []ref {
	return []ref{{res: resConfigMaps, namespace: s.namespace, name: RootCertConfigMap}}
}

func (s *rootCert) observe(_ context.Context, o *observation, _ plans.Address) (providers.Observed, error) {
	m := o.identity[s.identities()[0]]
	if m == nil {
		return providers.Observed{}, nil
	}
	cm := m.(*corev1.ConfigMap)
	if cm.Data["root-cert.pem"] == "" {
		return providers.Observed{}, nil
	}
	return providers.Observed{
		Exists:  true,
		Owned:   true, // read-only: nothing to own
		Object:  plans.Object{"namespace": cm.Namespace, "name": cm.Name},
		Outputs: plans.Object{"root-cert.pem": cm.Data["root-cert.pem"]},
		Details: details(cm, nil),
	}, nil
}

// apply waits for istiod to publish the root certificate.
func (s *rootCert) apply(ctx context.Context, a *applier) (plans.Object, error) {
	timeout := DefaultRootCertWait
	if a.req.Resource.Settings.WaitTimeout > 0 {
		timeout = a.req.Resource.Settings.WaitTimeout
	}
	what := s.namespace + "/" + RootCertConfigMap
	var out plans.Object
	err := a.p.poll(ctx, timeout, func(time.Duration) (bool, error) {
		cm, err := a.p.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, RootCertConfigMap, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("get ConfigMap %s: %w", what, err)
		}
		if pem := cm.Data["root-cert.pem"]; pem != "" {
			out = plans.Object{"root-cert.pem": pem}
			return true, nil
		}
		return false, nil
	}, func(elapsed time.Duration) {
		a.progress(fmt.Sprintf("waiting for istiod to publish ConfigMap %s (%s elapsed)", what, elapsed.Round(time.Second)))
	})
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("ConfigMap %s has no root-cert.pem after %s: is istiod running and watching namespace %q? Check with: kubectl -n %s get configmap %s",
			what, timeout, s.namespace, s.namespace, RootCertConfigMap)
	}
	return out, err
}
