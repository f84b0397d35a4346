package inventory

import (
	"testing"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/lab"
)

// TestSecondEnvironmentUsesLoadBalancersByReference: a team's environment
// with mesh_expansion { manage = false } cannot plan before the platform's
// environment has created the load balancers (an error at the manage
// attribute saying what to do); once it has, the team applies its VM with
// the platform's addresses in the VM's dnsmasq file, registers its service,
// plans empty, and its destroy leaves the platform's load balancers alone.
func TestSecondEnvironmentUsesLoadBalancersByReference(t *testing.T) {
	l := lab.Get(t)
	platform := e2etest.Details(t, "platform")
	team := e2etest.New(t, "team-b")
	team.VMs = []string{"vm2"}
	team.Services = []e2etest.Svc{{Name: "ratings", VMs: []string{"vm2"}, Ports: map[string]int{"http": 9080}}}
	team.MeshExpansion = "manage = false"
	team.Write()
	team.DestroyOnCleanup()

	early := team.Must(1, "plan", "-no-color")
	e2etest.Contains(t, "plan before the owner applied", early.String(),
		"Referenced object does not exist", `cluster.control.ilb["`, "main.hcl", "manage = false",
		"apply the environment that owns them first")

	platform.Must(0, "apply", "-auto-approve", "-no-color")
	apply := team.Must(0, "apply", "-auto-approve", "-no-color")
	e2etest.Contains(t, "team apply", apply.Stdout, "Apply complete!", `pilot_ilb = "`)
	if got, want := team.VMExec("vm2", "cat", istio.KubednsPath), platform.VMExec("vm1", "cat", istio.KubednsPath); got != want || want == "" {
		t.Errorf("vm2's %s:\n%s\nwant the platform's, as on vm1:\n%s", istio.KubednsPath, got, want)
	}
	cs, c := team.Client("control"), t.Context()
	pilot, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get)
	if err != nil {
		t.Fatal(err)
	}
	if env := pilot.Labels["meshx.dev/environment"]; env != "platform" {
		t.Errorf("istio-pilot-ilb belongs to %q after the team's apply, want platform", env)
	}
	ep, err := cs.CoreV1().Endpoints("team-b").Get(c, "ratings", e2etest.Get)
	if err != nil || len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != l.VM("vm2").Address {
		t.Errorf("Endpoints team-b/ratings = %+v, %v; want vm2's address", ep, err)
	}
	e2etest.Contains(t, "team's second plan", team.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")

	team.Must(0, "destroy", "-auto-approve", "-no-color")
	if _, err := cs.CoreV1().Services("istio-system").Get(c, "istio-pilot-ilb", e2etest.Get); err != nil {
		t.Errorf("the team's destroy removed the platform's load balancer: %v", err)
	}
	e2etest.Contains(t, "platform's plan after the team left", platform.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")
}
