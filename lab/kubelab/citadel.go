package kubelab

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What Istio 1.0's Citadel kept for every ServiceAccount.
const (
	SecretType       = "istio.io/key-and-cert"
	SecretPrefix     = "istio."
	RootCertKey      = "root-cert.pem"
	CertChainKey     = "cert-chain.pem"
	PrivateKeyKey    = "key.pem"
	ServiceAccountAn = "istio.io/service-account.name"
	TrustDomain      = "cluster.local"
	// WorkloadCertTTL is Citadel 1.0's default workload certificate TTL.
	WorkloadCertTTL = 90 * 24 * time.Hour
	// IstioRootTTL is Citadel 1.0's self-signed root TTL.
	IstioRootTTL = 365 * 24 * time.Hour
)

// IstioRootSubject is the subject of the lab's Istio root CA; Citadel 1.0
// used the organisation k8s.cluster.local for its self-signed root.
var IstioRootSubject = pkix.Name{Organization: []string{"k8s.cluster.local"}, CommonName: "meshx-lab istio root"}

// SPIFFEID is the identity Citadel put in a workload certificate's URI SAN.
func SPIFFEID(ns, sa string) string {
	return "spiffe://" + TrustDomain + "/ns/" + ns + "/sa/" + sa
}

// secretToSA maps a Secret key ns/istio.<sa> to the ServiceAccount key ns/<sa>.
func secretToSA(key string) (string, bool) {
	ns, name, _ := strings.Cut(key, "/")
	sa, ok := strings.CutPrefix(name, SecretPrefix)
	return ns + "/" + sa, ok && sa != ""
}

func (c *controller) syncServiceAccount(ctx context.Context, key string) error {
	ns, name, _ := strings.Cut(key, "/")
	secrets := c.cs.CoreV1().Secrets(ns)
	_, err := c.sas.ServiceAccounts(ns).Get(name)
	saGone := apierrors.IsNotFound(err)
	if err != nil && !saGone {
		return err
	}
	cur, err := c.secrets.Secrets(ns).Get(SecretPrefix + name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if saGone {
		if cur != nil && cur.Annotations[ServiceAccountAn] == name {
			return ignoreNotFound(secrets.Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}}))
		}
		return nil
	}
	if cur != nil && c.secretValid(cur, ns, name) {
		return nil
	}
	certPEM, keyPEM, err := c.ca.Issue(Leaf{
		URIs:     []*url.URL{{Scheme: "spiffe", Host: TrustDomain, Path: "/ns/" + ns + "/sa/" + name}},
		Server:   true,
		Client:   true,
		Validity: WorkloadCertTTL,
		RSA:      true,
	})
	if err != nil {
		return err
	}
	data := map[string][]byte{RootCertKey: c.ca.CertPEM, CertChainKey: certPEM, PrivateKeyKey: keyPEM}
	if cur == nil {
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name:        SecretPrefix + name,
				Namespace:   ns,
				Annotations: map[string]string{ServiceAccountAn: name},
			},
			Type: SecretType,
			Data: data,
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // the informer brings it; it is checked then
		}
		if apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil // the namespace is going; so is the ServiceAccount
		}
		if err == nil {
			c.log.Printf("secret %s/%s%s: issued %s", ns, SecretPrefix, name, SPIFFEID(ns, name))
		}
		return err
	}
	upd := cur.DeepCopy()
	upd.Data = data
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	upd.Annotations[ServiceAccountAn] = name
	_, err = secrets.Update(ctx, upd, metav1.UpdateOptions{})
	if err == nil {
		c.log.Printf("secret %s/%s%s: reissued %s", ns, SecretPrefix, name, SPIFFEID(ns, name))
	}
	return ignoreNotFound(err)
}

// secretValid reports whether s holds a current certificate for ns/sa
// signed by the lab root. Secrets of another type under the name are left
// alone, as Citadel did.
func (c *controller) secretValid(s *corev1.Secret, ns, sa string) bool {
	if s.Type != SecretType {
		return true
	}
	if !bytes.Equal(s.Data[RootCertKey], c.ca.CertPEM) || len(s.Data[PrivateKeyKey]) == 0 {
		return false
	}
	cert, err := parseCertPEM(s.Data[CertChainKey])
	if err != nil || len(cert.URIs) != 1 || cert.URIs[0].String() != SPIFFEID(ns, sa) {
		return false
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: c.roots(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return false
	}
	// Citadel renewed at half the lifetime.
	return time.Until(cert.NotAfter) > WorkloadCertTTL/2
}

func (c *controller) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.ca.Cert)
	return p
}
