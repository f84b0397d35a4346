package fleet

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/lab"
)

// manifest is where meshx records what it did on a VM of the example's
// environment.
const manifest = "/var/lib/meshx/fleet.json"

// TestFleetRemoveKey applies examples/fleet, unchanged, to the lab's three
// VMs (vm.app["vm1"] … ["vm3"]): every instance is set up, frontend lists
// the three mesh IPs and catalog and orders the even and odd ones. Then it
// removes vm3 from the map: the plan is exactly vm3's undo (found through
// the connection the inventory recorded), the two Endpoints losing vm3's
// address and the inventory dropping vm3, with no warning; apply leaves
// vm3 without meshx's manifest and the mesh without vm3, and a last plan
// has nothing to do.
func TestFleetRemoveKey(t *testing.T) {
	l := lab.Get(t)
	if len(l.VMs) != 3 {
		t.Fatalf("lab has %d VMs, want 3", len(l.VMs))
	}
	all := []string{"-var-file=" + l.ExamplesVars, "-no-color"}
	w := e2etest.Example(t, l, "fleet", all...)
	ip := map[string]string{}
	for _, v := range l.VMs {
		ip[v.Name] = v.Address
	}

	apply := w.Must(0, "apply", "-auto-approve")
	e2etest.Contains(t, "apply", apply.Stdout, "Apply complete!", `vm.app["vm1"].unit["istio"]`, `vm.app["vm3"].env["`)
	endpoints(t, w, map[string][]string{
		"frontend": {ip["vm1"], ip["vm2"], ip["vm3"]},
		"catalog":  {ip["vm1"], ip["vm3"]},
		"orders":   {ip["vm2"]},
	})
	for _, vm := range []string{"vm1", "vm2", "vm3"} {
		if got := w.VMStat(vm, manifest); got == "absent" {
			t.Errorf("%s has no %s after apply", vm, manifest)
		}
	}

	// vm3 removed from the map.
	without := append(append([]string(nil), all...), fmt.Sprintf(`-var=vm_addresses={vm1 = %q, vm2 = %q}`, ip["vm1"], ip["vm2"]))
	w.Args = without
	planFile := filepath.Join(t.TempDir(), "remove.mxplan")
	plan := w.Must(2, "plan", "-detailed-exitcode", "-out="+planFile)
	e2etest.Contains(t, "plan without vm3", plan.Stdout, `vm.app["vm3"].unit["istio"] will be destroyed`,
		`vm.app["vm3"].package["istio-sidecar"] will be destroyed`, "cluster.control.inventory will be updated in-place")
	if strings.Contains(plan.Stdout+plan.Stderr, "VM left as it is") {
		t.Errorf("the plan undoing vm3 warns that it is left as it is:\n%s", plan)
	}
	for a, action := range changes(t, w, planFile) {
		switch {
		case strings.HasPrefix(a, `vm.app["vm3"].`) && action == "delete":
		case (a == "service.catalog.endpoints" || a == "service.frontend.endpoints" || a == "cluster.control.inventory") && action == "update":
		default:
			t.Errorf("the plan without vm3 changes %s (%s): want vm3's deletes, the two Endpoints and the inventory alone", a, action)
		}
	}

	w.Must(0, "apply", "-auto-approve", planFile)
	if got := w.VMStat("vm3", manifest); got != "absent" {
		t.Errorf("vm3's %s after its key was removed: %s, want absent", manifest, got)
	}
	if got := w.VMStat("vm1", manifest); got == "absent" {
		t.Errorf("vm1's %s went with vm3's removal", manifest)
	}
	endpoints(t, w, map[string][]string{
		"frontend": {ip["vm1"], ip["vm2"]},
		"catalog":  {ip["vm1"]},
		"orders":   {ip["vm2"]},
	})
	last := w.Must(0, "plan", "-detailed-exitcode")
	e2etest.Contains(t, "last plan", last.Stdout, "No changes.")
	if strings.Contains(last.Stdout+last.Stderr, "VM left as it is") {
		t.Errorf("the plan after vm3 left still warns about it:\n%s", last)
	}
}

// endpoints checks the addresses of the example's services' Endpoints.
func endpoints(t *testing.T, w *e2etest.World, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	for name := range want {
		ep, err := w.Client("control").CoreV1().Endpoints("fleet").Get(t.Context(), name, e2etest.Get)
		if err != nil {
			t.Fatalf("Endpoints fleet/%s: %v", name, err)
		}
		got[name] = []string{}
		for _, ss := range ep.Subsets {
			for _, a := range ss.Addresses {
				got[name] = append(got[name], a.IP)
			}
		}
		sort.Strings(got[name])
		sort.Strings(want[name])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Endpoints addresses (-want +got):\n%s", diff)
	}
}

// changes returns the actions of a saved plan's changes that do
// something, by address, as meshx show -json lists them.
func changes(t *testing.T, w *e2etest.World, planFile string) map[string]string {
	t.Helper()
	show := e2etest.RunMeshx(w.Dir, "show", "-json", planFile) // without the world's -var-file
	if show.Code != 0 {
		t.Fatalf("meshx show -json: %s", show)
	}
	var doc struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(show.Stdout), &doc); err != nil {
		t.Fatalf("show -json: %v\n%s", err, show.Stdout)
	}
	out := map[string]string{}
	for _, rc := range doc.ResourceChanges {
		if a := strings.Join(rc.Change.Actions, ","); a != "no-op" {
			out[rc.Address] = a
		}
	}
	return out
}
