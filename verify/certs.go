package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// certJudge judges the certificate files meshx copied to a VM against the
// cluster's current root.
type certJudge struct {
	// root is the cluster's current root certificate bundle (PEM); nil
	// when it could not be read, and why says why.
	root []byte
	why  string
	// secret names where the root comes from, for messages.
	secret string
	// workload marks the agent's own workload certificate (the istiod
	// era): it lives a day and the agent renews it, so only an expired
	// one fails.
	workload  bool
	now       time.Time
	threshold time.Duration
}

// parseCerts returns every CERTIFICATE block of a PEM text.
func parseCerts(text []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, text = pem.Decode(text)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// judge fills ck from the file's text. A root file (root-cert.pem) must be
// one of the cluster's roots; any other file must chain to them. Either
// must not expire within the threshold.
func (j certJudge) judge(ck *Check, text []byte, isRoot bool) {
	certs, err := parseCerts(text)
	if err != nil {
		ck.Status, ck.Observed = Fail, "unreadable: "+err.Error()
		ck.Fix = "Run meshx apply: it copies the certificate from the " + j.secret + " secret again."
		return
	}
	expiry := certs[0].NotAfter
	for _, c := range certs[1:] {
		if c.NotAfter.Before(expiry) {
			expiry = c.NotAfter
		}
	}
	ck.Observed = expiryText(expiry, j.now)
	if j.root == nil {
		ck.Status, ck.Expected = Fail, "the cluster's current root"
		ck.Fix = "The cluster's root could not be read (" + j.why + "), so the chain cannot be checked."
		return
	}
	roots, err := parseCerts(j.root)
	if err != nil {
		ck.Status, ck.Expected = Fail, "the cluster's current root"
		ck.Fix = fmt.Sprintf("The root-cert.pem of the %s secret does not parse (%v): check the cluster's certificate authority.", j.secret, err)
		return
	}
	if isRoot {
		if !containsCert(roots, certs[0]) {
			ck.Status, ck.Expected = Fail, "the root of the "+j.secret+" secret"
			ck.Observed += "; not the cluster's current root"
			ck.Fix = "The cluster's root changed since meshx copied it: run meshx apply to copy the current root-cert.pem (and restart the sidecar)."
			return
		}
	} else {
		pool := x509.NewCertPool()
		for _, r := range roots {
			pool.AddCert(r)
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		// Judged at the moment of the check, an expired chain fails
		// here; the expiry says so first.
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: j.now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil && !expiry.Before(j.now) {
			ck.Status, ck.Expected = Fail, "a chain to the root of the "+j.secret+" secret"
			ck.Observed += "; does not chain to the cluster's current root"
			ck.Fix = "The certificate was issued by another root: run meshx apply to copy the current one from the " + j.secret + " secret."
			return
		}
	}
	if j.workload && !expiry.After(j.now) {
		ck.Status, ck.Expected = Fail, "a current certificate"
		ck.Fix = "The agent's workload certificate expired: it renews it from istiod with its token. Check the token and tcp checks, and journalctl -u istio on the VM."
		return
	}
	if left := expiry.Sub(j.now); !j.workload && left < j.threshold {
		ck.Status, ck.Expected = Fail, "more than "+daysText(j.threshold)+" left"
		ck.Fix = fmt.Sprintf("The certificate expires within %s: once the certificate authority has renewed the %s secret, run meshx apply to copy the new one.", daysText(j.threshold), j.secret)
		return
	}
	ck.Status = Pass
}

func containsCert(pool []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range pool {
		if bytes.Equal(p.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// expiryText is "expires 2027-02-28 (89 days left)", or "expired
// 2026-11-02 (3 days ago)".
func expiryText(t, now time.Time) string {
	d := t.Sub(now)
	date := t.UTC().Format("2006-01-02 15:04 MST")
	if d < 0 {
		return fmt.Sprintf("expired %s (%s ago)", date, daysText(-d))
	}
	return fmt.Sprintf("expires %s (%s left)", date, daysText(d))
}

// daysText is a duration in whole days, or hours under two days.
func daysText(d time.Duration) string {
	if d < 48*time.Hour {
		h := int(d / time.Hour)
		if h == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}
