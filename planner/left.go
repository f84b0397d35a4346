package planner

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/config"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers/kube"
)

// LeftVMs warns about each address that p removes from a service's
// Endpoints and that no VM of cfg has any more, nor any VM the inventory
// records (undone: their mesh IPs, whose undo the plan carries or
// explains): a vm block, or a key of a vm block's for_each (or the last
// instances of its count), was removed from the configuration, and meshx
// has no record of how to reach that VM (it was applied before meshx kept
// an inventory, or -target left it out). So the plan removes that VM's
// address from the mesh and nothing else: what meshx installed on the VM
// stays. Each warning says so, and how to undo it there (a targeted
// destroy before the removal). ranges locate the services' blocks.
func LeftVMs(cfg *config.Config, p *plans.Plan, ranges map[plans.Address]hcl.Range, undone map[string]bool) hcl.Diagnostics {
	declared := maps.Clone(undone)
	if declared == nil {
		declared = map[string]bool{}
	}
	for _, v := range cfg.VMs {
		declared[v.MeshIP] = true
	}
	type use struct {
		services []string
		rng      hcl.Range
	}
	left := map[string]*use{}
	var order []string
	for _, c := range p.Changes {
		if c.Kind != kube.KindEndpoints || (c.Action != plans.Update && c.Action != plans.Delete && c.Action != plans.Replace) {
			continue
		}
		after := endpointIPs(c.After)
		for _, ip := range endpointIPs(c.Before) {
			if slices.Contains(after, ip) || declared[ip] {
				continue
			}
			u := left[ip]
			if u == nil {
				u = &use{}
				left[ip] = u
				order = append(order, ip)
			}
			if u.rng == (hcl.Range{}) {
				u.rng = ranges[c.Addr] // a removed service has none
			}
			u.services = append(u.services, plans.Address{Block: c.Addr.Block, Name: c.Addr.Name}.Target())
		}
	}
	slices.SortFunc(order, func(a, b string) int {
		return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b))
	})
	var diags hcl.Diagnostics
	for _, ip := range order {
		u := left[ip]
		d := &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "VM left as it is: " + ip,
			Detail: fmt.Sprintf("The plan removes %s from the Endpoints of %s, and no vm of this configuration has that address any more: its vm block, or its key in a for_each, was removed (or its address changed). "+
				"meshx connects only to the VMs the configuration declares or its inventory records, and this one is in neither, so this plan takes the VM out of the mesh and does nothing on it: "+
				"the sidecar package, /etc/certs, cluster.env, sidecar.env, the dnsmasq files and the units meshx set up stay there, listed in its /var/lib/meshx/%s.json. "+
				"To undo them, put the block or the key back, run meshx destroy -target=vm.NAME (-target='vm.NAME[\"KEY\"]' for one instance), then remove it again.",
				ip, strings.Join(u.services, ", "), cfg.Meshx.Environment),
		}
		if u.rng != (hcl.Range{}) {
			rng := u.rng
			d.Subject = &rng
		}
		diags = append(diags, d)
	}
	return diags
}

// endpointIPs returns the addresses of an Endpoints object's subsets, as
// kube.Endpoints renders and observes them; nothing for nil or anything
// unknown.
func endpointIPs(o plans.Object) []string {
	subsets, _ := plans.Normalize(o["subsets"]).([]any)
	var out []string
	for _, s := range subsets {
		m, _ := s.(map[string]any)
		addrs, _ := m["addresses"].([]any)
		for _, a := range addrs {
			if ip, ok := a.(string); ok {
				if _, err := netip.ParseAddr(ip); err == nil && !slices.Contains(out, ip) {
					out = append(out, ip)
				}
			}
		}
	}
	return out
}
