package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/providers"
)

// endpointsChecks compares the Endpoints of one registered service with
// the VMs' mesh IPs: what the control plane hands every sidecar.
func (v *verifier) endpointsChecks(r providers.Resource) []Check {
	subject := r.Addr.Target()
	want, err := r.Render(planner.AppliedOutputs(nil))
	if err != nil {
		return []Check{{Subject: subject, Name: "endpoints", Status: Fail, Observed: firstLine(err), Fix: "Run meshx validate: the service block is invalid."}}
	}
	id := fmt.Sprint(want["namespace"], "/", want["name"])
	ck := Check{Subject: subject, Name: "endpoints " + id}
	wantIPs := subsetIPs(want["subsets"])
	o := v.observed[r.Addr]
	switch err := v.unreadable(r.Addr); {
	case err != nil:
		ck.Status, ck.Observed = Fail, "cannot read "+r.Target+": "+firstLine(err)
		ck.Fix = fixUnreachable
		return []Check{ck}
	case !o.Exists:
		ck.Status, ck.Observed, ck.Expected = Fail, "missing", strings.Join(wantIPs, ", ")
		ck.Fix = "Run meshx apply: it registers the service's Endpoints."
		return []Check{ck}
	}
	got := subsetIPs(o.Object["subsets"])
	ck.Observed = ipsText(got)
	if slices.Equal(got, wantIPs) {
		ck.Status = Pass
		return []Check{ck}
	}
	ck.Status, ck.Expected = Fail, ipsText(wantIPs)
	what, _ := ipDiffText(wantIPs, got, "lack", "carry")
	ck.Fix = fmt.Sprintf("Endpoints %s %s, so sidecars do not send the service's traffic where it runs: run meshx apply to restore them.", id, what)
	return []Check{ck}
}

// subsetIPs gathers the ready addresses of an Endpoints object's subsets,
// sorted and unique.
func subsetIPs(v any) []string {
	var ips []string
	subsets, _ := v.([]any)
	for _, s := range subsets {
		m, _ := s.(map[string]any)
		ips = append(ips, anyStrings(m["addresses"])...)
	}
	slices.Sort(ips)
	return slices.Compact(ips)
}

// ipDiffText says how got differs from want: "LACK 10.0.0.1 and CARRY
// 10.0.0.9, no VM's mesh IP"; missing reports whether got lacks any.
func ipDiffText(want, got []string, lack, carry string) (text string, missing bool) {
	var gone, extra, what []string
	for _, ip := range want {
		if !slices.Contains(got, ip) {
			gone = append(gone, ip)
		}
	}
	for _, ip := range got {
		if !slices.Contains(want, ip) {
			extra = append(extra, ip)
		}
	}
	if len(gone) > 0 {
		what = append(what, lack+" "+strings.Join(gone, ", "))
	}
	if len(extra) > 0 {
		what = append(what, carry+" "+strings.Join(extra, ", ")+", no VM's mesh IP")
	}
	return strings.Join(what, " and "), len(gone) > 0
}

func ipsText(ips []string) string {
	if len(ips) == 0 {
		return "no addresses"
	}
	return strings.Join(ips, ", ")
}
