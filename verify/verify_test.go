package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseKubedns(t *testing.T) {
	text := "# comment\nserver=/svc.cluster.local/10.0.0.9\naddress=/istio-pilot/10.0.0.1\n" +
		"address=/istio-pilot.istio-system/10.0.0.1\naddress=/-bad/10.0.0.2\naddress=/a b/10.0.0.3\nbogus=/x/y\naddress=/ISTIO-CA/10.0.0.4\n"
	f := parseKubedns(text)
	if diff := cmp.Diff([]string{"istio-pilot", "istio-pilot.istio-system", "istio-ca"}, f.names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if f.address["istio-ca"] != "10.0.0.4" || f.servers["svc.cluster.local"] != "10.0.0.9" || len(f.address) != 3 {
		t.Errorf("addresses %v servers %v", f.address, f.servers)
	}
}

func TestParseRead(t *testing.T) {
	out := "U istio enabled active\nU dnsmasq none none\nF 5 /etc/a\nab\ncdN /etc/certs/root-cert.pem\nF 0 /etc/empty\nB /etc/big\n" +
		"J /t 1764504000 1764417600\nJ /none none none\n"
	r, err := parseRead([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.units["istio"] != [2]string{"enabled", "active"} || r.units["dnsmasq"] != [2]string{"none", "none"} {
		t.Errorf("units %v", r.units)
	}
	if string(r.files["/etc/a"]) != "ab\ncd" || r.files["/etc/certs/root-cert.pem"] != nil || !r.big["/etc/big"] {
		t.Errorf("files %q big %v", r.files, r.big)
	}
	if c := r.tokens["/t"]; c.exp.Unix() != 1764504000 || c.iat.Unix() != 1764417600 || !r.tokens["/none"].exp.IsZero() {
		t.Errorf("tokens %v", r.tokens)
	}
	if b, ok := r.files["/etc/empty"]; !ok || b == nil {
		t.Errorf("an empty file reads as missing: %v %v", b, ok)
	}
	for _, bad := range []string{"F 9 /etc/a\nab", "F -1 /x\n", "what\n"} {
		if _, err := parseRead([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseProbe(t *testing.T) {
	p := parseProbe([]byte("D istio-pilot 10.0.0.1 10.0.0.1 10.0.0.1\nD nothing\nT 10.0.0.1 15010 ok\nT 10.0.0.1 8060 Connection refused\n"))
	if diff := cmp.Diff(map[string][]string{"istio-pilot": {"10.0.0.1"}, "nothing": {}}, p.resolved); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	if p.tcp["10.0.0.1:15010"] != "ok" || p.tcp["10.0.0.1:8060"] != "Connection refused" {
		t.Errorf("tcp %v", p.tcp)
	}
}

func TestUnitCheck(t *testing.T) {
	for _, tc := range []struct {
		st   [2]string
		want Status
	}{
		{[2]string{"enabled", "active"}, Pass},
		{[2]string{"static", "active"}, Pass},
		{[2]string{"disabled", "active"}, Fail},
		{[2]string{"enabled", "inactive"}, Fail},
		{[2]string{"none", "none"}, Fail},
	} {
		ck := unitCheck("vm.a", "dnsmasq", tc.st)
		if ck.Status != tc.want || (ck.Status == Fail && !strings.Contains(ck.Fix, "meshx apply")) {
			t.Errorf("%v: %+v", tc.st, ck)
		}
	}
}

// testCA issues certificates for the cert tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, cn string, notAfter time.Time) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: notAfter.Add(-400 * 24 * time.Hour), NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return testCA{c, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca testCA) leaf(t *testing.T, notAfter time.Time) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "vm"},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCertJudge(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ca := newCA(t, "root", now.Add(365*24*time.Hour))
	other := newCA(t, "other root", now.Add(365*24*time.Hour))
	j := certJudge{root: ca.pem, secret: "ns/istio.default", now: now, threshold: DefaultExpiryThreshold}
	for _, tc := range []struct {
		name     string
		judge    certJudge
		text     []byte
		root     bool
		want     Status
		observed string
		fix      string
	}{
		{"current root", j, ca.pem, true, Pass, "expires 2027-11-30 12:00 UTC (365 days left)", ""},
		{"root replaced", j, other.pem, true, Fail, "not the cluster's current root", "root changed"},
		{"leaf of the root", j, ca.leaf(t, now.Add(89*24*time.Hour)), false, Pass, "(89 days left)", ""},
		{"leaf of another root", j, other.leaf(t, now.Add(89*24*time.Hour)), false, Fail, "does not chain", "another root"},
		{"leaf near expiry", j, ca.leaf(t, now.Add(3*24*time.Hour)), false, Fail, "(3 days left)", "expires within 7 days"},
		{"leaf expired", j, ca.leaf(t, now.Add(-time.Hour)), false, Fail, "expired 2026-11-30 11:00 UTC (1 hour ago)", "expires within"},
		{"not a certificate", j, []byte("hello"), false, Fail, "unreadable", "copies the certificate"},
		{"root unknown", certJudge{why: "no secret", secret: "ns/istio.default", now: now}, ca.pem, true, Fail, "expires", "no secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := Check{}
			tc.judge.judge(&ck, tc.text, tc.root)
			if ck.Status != tc.want || !strings.Contains(ck.Observed, tc.observed) || !strings.Contains(ck.Fix, tc.fix) {
				t.Errorf("got %+v", ck)
			}
		})
	}
}

func TestSubsetIPs(t *testing.T) {
	got := subsetIPs([]any{
		map[string]any{"addresses": []any{"10.0.0.2", "10.0.0.1"}},
		map[string]any{"addresses": []any{"10.0.0.1"}, "not_ready_addresses": []any{"10.0.0.3"}},
	})
	if diff := cmp.Diff([]string{"10.0.0.1", "10.0.0.2"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReportOrder(t *testing.T) {
	r := &Report{Checks: []Check{{Subject: "vm.a", Status: Pass}, {Subject: "cluster.b", Status: Fail}}}
	if r.OK() || len(r.Failed()) != 1 || r.Failed()[0].Subject != "cluster.b" {
		t.Errorf("failed %v", r.Failed())
	}
	if !subjectLess("cluster.z", "service.a") || !subjectLess("service.z", "vm.a") || subjectLess("vm.b", "vm.a") {
		t.Error("subjects: want clusters, services, VMs, each by name")
	}
}

func TestHostsAddress(t *testing.T) {
	text := "127.0.0.1 localhost\n# 10.0.0.9 istiod.istio-system.svc\n10.0.0.5 istiod.istio-system.svc other # meshx\n"
	if got := hostsAddress(text, "istiod.istio-system.svc"); got != "10.0.0.5" {
		t.Errorf("got %q", got)
	}
	if got := hostsAddress(text, "istiod-1-28.istio-system.svc"); got != "" {
		t.Errorf("absent name: %q", got)
	}
}

func TestTokenCheck(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	day := func(minted, expires time.Duration) tokenClaims {
		return tokenClaims{iat: now.Add(minted), exp: now.Add(expires)}
	}
	for _, tc := range []struct {
		name     string
		claims   tokenClaims
		want     Status
		observed string
	}{
		{"fresh", day(-4*time.Hour, 20*time.Hour), Pass, "(20 hours left)"},
		{"last third", day(-17*time.Hour, 7*time.Hour), Fail, "(7 hours left)"},
		{"no iat", tokenClaims{exp: now.Add(time.Hour)}, Pass, "(1 hour left)"},
		{"expired", day(-25*time.Hour, -time.Minute), Fail, "expired"},
		{"missing", tokenClaims{}, Fail, "missing"},
	} {
		ck := tokenCheck("vm.a", tc.claims, now)
		if ck.Status != tc.want || !strings.Contains(ck.Observed, tc.observed) {
			t.Errorf("%s: %+v", tc.name, ck)
		}
	}
	if ck := tokenCheck("vm.a", day(-17*time.Hour, 7*time.Hour), now); !strings.Contains(ck.Fix, "every 8h") {
		t.Errorf("last third: fix %q", ck.Fix)
	}
}

func TestWorkloadCertJudge(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ca := newCA(t, "root", now.Add(365*24*time.Hour))
	j := certJudge{root: ca.pem, secret: "ConfigMap ns/istio-ca-root-cert", now: now, threshold: DefaultExpiryThreshold, workload: true}
	var ck Check
	j.judge(&ck, ca.leaf(t, now.Add(23*time.Hour)), false)
	if ck.Status != Pass {
		t.Errorf("a day-long workload certificate fails: %+v", ck)
	}
	ck = Check{}
	j.judge(&ck, ca.leaf(t, now.Add(-time.Hour)), false)
	if ck.Status != Fail || !strings.Contains(ck.Fix, "renews it from istiod") {
		t.Errorf("an expired workload certificate: %+v", ck)
	}
}

func TestIPDiffText(t *testing.T) {
	text, missing := ipDiffText([]string{"10.0.0.1", "10.0.0.2"}, []string{"10.0.0.2", "10.0.0.9"}, "lack", "carry")
	if text != "lack 10.0.0.1 and carry 10.0.0.9, no VM's mesh IP" || !missing {
		t.Errorf("%q %v", text, missing)
	}
	if text, missing := ipDiffText([]string{"10.0.0.1"}, []string{"10.0.0.1", "10.0.0.3"}, "does not list", "lists"); text != "lists 10.0.0.3, no VM's mesh IP" || missing {
		t.Errorf("%q %v", text, missing)
	}
}
