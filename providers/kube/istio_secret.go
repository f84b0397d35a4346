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

// KindIstioSecret is Citadel's istio.<service account> Secret, which
// meshx only reads.
const KindIstioSecret = "kube_istio_secret"

// DefaultIstioSecretWait bounds the wait for Citadel's istio.SA secret.
const DefaultIstioSecretWait = 2 * time.Minute

// istioSecret is a kube_istio_secret instance.
type istioSecret struct{ namespace, name, serviceAccount string }

// IstioSecret declares the read-only Citadel secret istio.<serviceAccount>
// in namespace at cluster.<cluster>.istio_secret["<ns>/<sa>"]. Outputs:
// root-cert.pem, cert-chain.pem (strings) and key.pem (Sensitive), missing
// (Unknown) while the secret does not exist; Apply waits for Citadel up to
// Settings.WaitTimeout (default DefaultIstioSecretWait).
func IstioSecret(cluster, namespace, serviceAccount string) providers.Resource {
	s := &istioSecret{namespace: namespace, name: "istio." + serviceAccount, serviceAccount: serviceAccount}
	return providers.Resource{
		Addr:     plans.Address{Block: "cluster", Name: cluster, Type: "istio_secret", Key: namespace + "/" + serviceAccount},
		Target:   clusterTarget(cluster),
		Kind:     KindIstioSecret,
		Render:   s.render,
		ReadOnly: true,
		Settings: providers.Settings{WaitTimeout: DefaultIstioSecretWait},
		Private:  s,
	}
}

func (s *istioSecret) kind() string { return KindIstioSecret }

func (s *istioSecret) render(providers.Outputs) (plans.Object, error) {
	return plans.Object{"namespace": s.namespace, "name": s.name}, nil
}

func (s *istioSecret) identities() []ref {
	return []ref{{res: resSecrets, namespace: s.namespace, name: s.name}}
}

func (s *istioSecret) observe(_ context.Context, o *observation, _ plans.Address) (providers.Observed, error) {
	m := o.identity[s.identities()[0]]
	if m == nil {
		return providers.Observed{}, nil
	}
	sec := m.(*corev1.Secret)
	return providers.Observed{
		Exists:  true,
		Owned:   true, // read-only: nothing to own
		Object:  plans.Object{"namespace": sec.Namespace, "name": sec.Name},
		Outputs: istioSecretOutputs(sec),
		Details: details(sec, nil),
	}, nil
}

// apply waits for Citadel to create the secret.
func (s *istioSecret) apply(ctx context.Context, a *applier) (plans.Object, error) {
	timeout := DefaultIstioSecretWait
	if a.req.Resource.Settings.WaitTimeout > 0 {
		timeout = a.req.Resource.Settings.WaitTimeout
	}
	what := s.namespace + "/" + s.name
	var out plans.Object
	err := a.p.poll(ctx, timeout, func(time.Duration) (bool, error) {
		sec, err := a.p.client.CoreV1().Secrets(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("get Secret %s: %w", what, err)
		}
		out = istioSecretOutputs(sec)
		return true, nil
	}, func(elapsed time.Duration) {
		a.progress(fmt.Sprintf("waiting for Citadel to create Secret %s (%s elapsed)", what, elapsed.Round(time.Second)))
	})
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("Secret %s does not exist after %s: is Citadel (istio-citadel) running, and does service account %q exist in namespace %q? Check with: kubectl -n %s get secret %s",
			what, timeout, s.serviceAccount, s.namespace, s.namespace, s.name)
	}
	return out, err
}

// istioSecretOutputs are the PEM files of Citadel's istio.<sa> secret.
func istioSecretOutputs(sec *corev1.Secret) plans.Object {
	out := plans.Object{}
	if v, ok := sec.Data["root-cert.pem"]; ok {
		out["root-cert.pem"] = string(v)
	}
	if v, ok := sec.Data["cert-chain.pem"]; ok {
		out["cert-chain.pem"] = string(v)
	}
	if v, ok := sec.Data["key.pem"]; ok {
		out["key.pem"] = plans.NewSensitive(v)
	}
	return out
}
