package views

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/verify"
)

// verifyFixture is a report with passing and failing checks of every
// kind, one failure cause shared by two checks, hostile text from a VM, and
// a skipped check.
func verifyFixture() *verify.Report {
	fixDNS := "Nothing answered: check that dnsmasq runs on the VM (systemctl status dnsmasq; meshx apply starts it) and that resolv.conf lists 127.0.0.1 first."
	return &verify.Report{Environment: "bookinfo", Profile: "1.0", Checks: []verify.Check{
		{Subject: "cluster.control", Name: "ilb istio-pilot-ilb", Status: verify.Pass, Observed: "10.0.0.202"},
		{Subject: "cluster.remote1", Name: "auth", Status: verify.Fail, Observed: "rejected: Unauthorized",
			Fix: "The stored token is revoked or expired: run meshx apply to mint a new one."},
		{Subject: "service.details", Name: "endpoints bookinfo/details", Status: verify.Fail, Observed: "no addresses", Expected: "10.0.0.10",
			Fix: "Endpoints bookinfo/details lack 10.0.0.10 | so sidecars miss it: run meshx apply to restore them."},
		{Subject: "vm.ecs1", Name: "dns istio-pilot", Status: verify.Fail, Observed: "not resolved", Expected: "10.0.0.202", Fix: fixDNS},
		{Subject: "vm.ecs1", Name: "dns istio-pilot.istio-system", Status: verify.Fail, Observed: "not resolved", Expected: "10.0.0.202", Fix: fixDNS},
		{Subject: "vm.ecs1", Name: "tcp istio-pilot-ilb 10.0.0.202:15010", Status: verify.Pass, Observed: "connected"},
		{Subject: "vm.ecs1", Name: "unit dnsmasq", Status: verify.Fail, Observed: "enabled, inactive", Expected: "enabled, active",
			Fix: "Run meshx apply (it enables and starts dnsmasq), then look at why it stopped: systemctl status dnsmasq on the VM."},
		{Subject: "vm.ecs1", Name: "cert /etc/certs/cert-chain.pem", Status: verify.Pass, Observed: "expires 2027-02-28 13:39 UTC (89 days left)"},
		{Subject: "vm.ecs1", Name: "dns evil\x1b]0;pwned\x07", Status: verify.Fail, Observed: "<b>\u202e", Expected: "no such name in meshx's file",
			Fix: "The VM's /etc/dnsmasq.d/kubedns promises a name meshx does not write: run meshx apply to rewrite the file."},
		{Subject: "service.details", Name: "istiod endpoints bookinfo/details", Status: verify.Skip, Observed: "istiod's debug endpoint is not configured",
			Fix: "Set meshx.istio.debug_url to istiod's monitoring port, e.g. kubectl -n istio-system port-forward deploy/istiod 15014 and debug_url = \"http://127.0.0.1:15014\"."},
	}}
}

func TestVerifyGolden(t *testing.T) {
	r := verifyFixture()
	for _, tc := range []struct {
		file  string
		vt    ViewType
		color bool
		r     *verify.Report
	}{
		{"verify.txt", ViewHuman, false, r},
		{"verify_color.txt", ViewHuman, true, r},
		{"verify.json", ViewJSON, false, r},
		{"verify.md", ViewMarkdown, false, r},
		{"verify_ok.txt", ViewHuman, false, &verify.Report{Environment: "bookinfo", Profile: "1.0", Checks: r.Checks[:1]}},
	} {
		var out, errb bytes.Buffer
		NewVerify(tc.vt, NewView(&out, &errb, ViewOptions{ColorStdout: tc.color})).Report(tc.r)
		if errb.Len() > 0 {
			t.Errorf("%s: stderr %q", tc.file, errb.String())
		}
		golden(t, tc.file, out.String())
	}
}

// TestVerifyJSONShape decodes the document as a consumer would.
func TestVerifyJSONShape(t *testing.T) {
	var b bytes.Buffer
	NewVerify(ViewJSON, NewView(&b, &b, ViewOptions{})).Report(verifyFixture())
	var doc struct {
		FormatVersion string `json:"format_version"`
		OK            bool   `json:"ok"`
		Summary       struct{ Passed, Failed, Skipped int }
		Checks        []map[string]string
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != "1.1" || doc.OK || doc.Summary.Passed != 3 || doc.Summary.Failed != 6 || doc.Summary.Skipped != 1 || len(doc.Checks) != 10 {
		t.Errorf("document %+v", doc)
	}
	if c := doc.Checks[3]; c["subject"] != "vm.ecs1" || c["check"] != "dns istio-pilot" || c["status"] != "fail" || c["expected"] != "10.0.0.202" || !strings.Contains(c["fix"], "dnsmasq") {
		t.Errorf("check %v", c)
	}
	if strings.ContainsAny(b.String(), "\x1b\u202e") {
		t.Error("the JSON document holds a raw terminal control")
	}
}

// TestVerifyMarkdownLimit keeps a huge report within one comment, every
// failure included.
func TestVerifyMarkdownLimit(t *testing.T) {
	r := &verify.Report{Environment: "big"}
	for i := range 3000 {
		r.Checks = append(r.Checks, verify.Check{Subject: "vm.web", Name: "dns name-" + strings.Repeat("x", 20) + string(rune('a'+i%26)), Status: verify.Pass, Observed: "10.0.0.1"})
	}
	r.Checks = append(r.Checks, verify.Check{Subject: "vm.last", Name: "unit istio", Status: verify.Fail, Observed: "disabled, inactive", Fix: "Run meshx apply."})
	md := verifyMarkdown(r)
	if len(md) > GitHubCommentLimit || !strings.Contains(md, "`vm.last` | unit istio") || !strings.Contains(md, "more checks not shown") {
		t.Errorf("%d bytes; tail:\n%s", len(md), md[max(0, len(md)-300):])
	}
}
