package inventory

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
	"github.com/meshx-dev/meshx/istio"
	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/providers/kube"
)

// vmState is what meshx may change on a VM: the files it writes (stat and
// hash), the line it adds, its packages, units and manifest.
func vmState(w *e2etest.World, vm, env string) string {
	w.T.Helper()
	var paths []string
	for _, p := range []string{istio.ClusterEnvPath, istio.SidecarEnvPath, istio.KubednsPath, istio.DhclientPath,
		istio.CertDir + "/root-cert.pem", istio.CertDir + "/cert-chain.pem", istio.CertDir + "/key.pem", "/var/lib/meshx/" + env + ".json"} {
		paths = append(paths, "'"+p+"'")
	}
	script := fmt.Sprintf(`for f in %s; do
  if [ -e "$f" ]; then echo "$f $(stat -c '%%a %%U %%G' "$f") $(sha256sum < "$f")"; else echo "$f absent"; fi
done
for p in istio-sidecar dnsmasq; do echo "package $p $(dpkg-query -W -f='${Status} ${Version}' $p 2>/dev/null || echo none)"; done
for u in istio dnsmasq; do echo "unit $u $(systemctl is-enabled $u 2>/dev/null) $(systemctl is-active $u 2>/dev/null)"; done`, strings.Join(paths, " "))
	return w.VMExec(vm, "sh", "-c", script)
}

// inventoryTargets returns the targets the environment's inventory
// records, and the ConfigMap's whole data, or nil when there is none.
func inventoryTargets(w *e2etest.World) (map[string]map[string]any, string) {
	w.T.Helper()
	cm, err := w.Client("control").CoreV1().ConfigMaps("istio-system").Get(w.T.Context(), kube.InventoryName(w.Env), e2etest.Get)
	if apierrors.IsNotFound(err) {
		return nil, ""
	}
	if err != nil {
		w.T.Fatal(err)
	}
	var t map[string]map[string]any
	if err := json.Unmarshal([]byte(cm.Data[kube.InventoryDataKey]), &t); err != nil {
		w.T.Fatalf("inventory %v: %v", cm.Data, err)
	}
	return t, fmt.Sprint(cm.Data)
}

// TestRemovedVMIsUndone applies two VMs serving one service, then removes
// one vm block: the plan shows the undo of that VM (its files, line,
// packages, units) and its address leaving the Endpoints, found through
// the connection the inventory recorded; apply leaves the VM as it was
// before meshx, manifest gone, the Endpoints with the other VM only, and
// the inventory without it. The inventory records paths, never a key.
func TestRemovedVMIsUndone(t *testing.T) {
	l := lab.Get(t)
	w := e2etest.New(t, "inv-vm")
	w.VMs = []string{"vm1", "vm2"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1", "vm2"}, Ports: map[string]int{"http": 9080}}}
	w.Write()
	w.DestroyOnCleanup()
	before := vmState(w, "vm2", w.Env)

	w.Must(0, "apply", "-auto-approve", "-no-color")
	targets, data := inventoryTargets(w)
	if targets["vm.vm2"]["address"] != l.VM("vm2").Address || targets["vm.vm2"]["private_key_file"] != l.SSHPrivateKey || len(targets) != 2 {
		t.Errorf("inventory after apply = %v, want vm.vm1 and vm.vm2 with their addresses and key paths", targets)
	}
	key, err := os.ReadFile(l.SSHPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(key)), "\n") {
		if len(line) > 20 && strings.Contains(data, line) {
			t.Fatalf("the inventory holds a line of the private key:\n%s", data)
		}
	}
	if applied := vmState(w, "vm2", w.Env); applied == before {
		t.Fatalf("apply changed nothing on vm2:\n%s", applied)
	}

	w.VMs = []string{"vm1"}
	w.Services[0].VMs = []string{"vm1"}
	w.Write()
	plan := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	e2etest.Contains(t, "plan after removing vm2", plan.Stdout,
		`vm.vm2.file["`+istio.ClusterEnvPath+`"] will be destroyed`,
		`vm.vm2.file["`+istio.KubednsPath+`"] will be destroyed`,
		`vm.vm2.line["`+istio.DhclientPath+`"] will be destroyed`,
		`vm.vm2.package["istio-sidecar"] will be destroyed`,
		`vm.vm2.unit["istio"] will be destroyed`,
		`service.details.endpoints will be updated in-place`,
		`"`+l.VM("vm2").Address+`"`,
		`cluster.control.inventory will be updated in-place`,
		`"vm.vm2"`)
	if strings.Contains(plan.Stdout, "vm.vm1.") {
		t.Errorf("the plan changes vm1:\n%s", plan.Stdout)
	}

	w.Must(0, "apply", "-auto-approve", "-no-color")
	if after := vmState(w, "vm2", w.Env); after != before {
		t.Errorf("vm2 after its block was removed:\n%s\nwant it as before meshx:\n%s", after, before)
	}
	ep, err := w.Client("control").CoreV1().Endpoints(w.Namespace).Get(t.Context(), "details", e2etest.Get)
	if err != nil || len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != l.VM("vm1").Address {
		t.Errorf("Endpoints details = %+v, %v; want vm1's address alone", ep, err)
	}
	if targets, _ := inventoryTargets(w); targets["vm.vm2"] != nil || targets["vm.vm1"] == nil {
		t.Errorf("inventory after the removal = %v, want vm.vm1 alone", targets)
	}
	e2etest.Contains(t, "plan after the removal", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")
}

// TestPartlyFailedFirstApplyIsRecorded: the first apply of two VMs
// fails on vm2 partway (a directory stands where meshx writes
// /etc/dnsmasq.d/kubedns), after writing other files there. The
// inventory was written before meshx acted on either VM, so it records
// vm2, and removing vm2's block then undoes what that apply did there.
func TestPartlyFailedFirstApplyIsRecorded(t *testing.T) {
	l := lab.Get(t)
	w := e2etest.New(t, "inv-partial")
	w.VMs = []string{"vm1", "vm2"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	w.Write()
	w.DestroyOnCleanup()
	before := vmState(w, "vm2", w.Env)
	w.VMExec("vm2", "mkdir", istio.KubednsPath)
	t.Cleanup(func() { w.VMExec("vm2", "rm", "-rf", istio.KubednsPath) })

	r := w.Meshx("apply", "-auto-approve", "-no-color")
	if r.Code == 0 {
		t.Fatalf("apply over a directory at %s on vm2 succeeded:\n%s", istio.KubednsPath, r)
	}
	e2etest.Contains(t, "failed apply", r.String(), `vm.vm2.file["`+istio.KubednsPath+`"]`, "not a regular file")
	if touched := vmState(w, "vm2", w.Env); touched == before {
		t.Fatalf("the failed apply changed nothing on vm2, so this test shows nothing:\n%s", touched)
	}
	targets, _ := inventoryTargets(w)
	if targets["vm.vm1"] == nil || targets["vm.vm2"]["address"] != l.VM("vm2").Address {
		t.Fatalf("inventory after the failed first apply = %v, want vm.vm1 and vm.vm2 with its address", targets)
	}

	w.VMExec("vm2", "rmdir", istio.KubednsPath)
	w.VMs = []string{"vm1"}
	w.Write()
	plan := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	e2etest.Contains(t, "plan after removing vm2", plan.Stdout,
		`vm.vm2.file["`+istio.ClusterEnvPath+`"] will be destroyed`,
		`cluster.control.inventory will be updated in-place`, `"vm.vm2"`)
	w.Must(0, "apply", "-auto-approve", "-no-color")
	if after := vmState(w, "vm2", w.Env); after != before {
		t.Errorf("vm2 after its block was removed:\n%s\nwant it as before meshx:\n%s", after, before)
	}
	if targets, _ := inventoryTargets(w); targets["vm.vm2"] != nil || targets["vm.vm1"] == nil {
		t.Errorf("inventory after the removal = %v, want vm.vm1 alone", targets)
	}
}

// TestUnreachableRemovedVM removes a vm block while its VM's sshd is down:
// the plan says meshx cannot reach it through the recorded connection and
// how to finish, plans the rest, and keeps it in the inventory; meshx
// forget drops it from the inventory only after approval, and changes
// nothing on the VM.
func TestUnreachableRemovedVM(t *testing.T) {
	l := lab.Get(t)
	w := e2etest.New(t, "inv-gone")
	w.VMs = []string{"vm1", "vm2"}
	w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm1"}, Ports: map[string]int{"http": 9080}}}
	w.Write()
	w.DestroyOnCleanup()
	w.Must(0, "apply", "-auto-approve", "-no-color")
	applied := vmState(w, "vm2", w.Env)

	if err := l.StopSSHD(e2etest.Step(t), "vm2"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.StartSSHD(e2etest.Step(t), "vm2"); err != nil {
			t.Errorf("restart vm2's sshd: %v", err)
		}
		// The cleanup destroy undoes vm2 too, now that it is declared again.
		w.VMs = []string{"vm1", "vm2"}
		w.Write()
	})
	w.VMs = []string{"vm1"}
	w.Write()
	plan := w.Meshx("plan", "-no-color")
	e2etest.Contains(t, "plan with vm2 removed and down", plan.String(),
		"Cannot reach removed vm.vm2", l.VM("vm2").Address, "key "+l.SSHPrivateKey,
		"the inventory keeps it", "meshx forget vm.vm2")
	if strings.Contains(plan.Stdout, "cluster.control.inventory will be updated") {
		t.Errorf("the plan drops unreachable vm2 from the inventory:\n%s", plan.Stdout)
	}

	r := w.Meshx("forget", "vm.vm2", "-no-color")
	e2etest.Contains(t, "forget without approval", r.String(), "Approval needed")
	if targets, _ := inventoryTargets(w); targets["vm.vm2"] == nil {
		t.Fatalf("forget without approval changed the inventory: %v", targets)
	}
	e2etest.Contains(t, "forget of a declared VM", w.Must(1, "forget", "-auto-approve", "vm.vm1", "-no-color").String(), "still in the configuration")
	f := w.Must(0, "forget", "-auto-approve", "vm.vm2", "-no-color")
	e2etest.Contains(t, "forget", f.Stdout, "cluster.control.inventory will be updated in-place", `"vm.vm2"`, "Apply complete!")
	if targets, _ := inventoryTargets(w); targets["vm.vm2"] != nil || targets["vm.vm1"] == nil {
		t.Errorf("inventory after forget = %v, want vm.vm1 alone", targets)
	}
	e2etest.Contains(t, "plan after forget", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")
	if err := l.StartSSHD(e2etest.Step(t), "vm2"); err != nil {
		t.Fatal(err)
	}
	if now := vmState(w, "vm2", w.Env); now != applied {
		t.Errorf("forget changed vm2:\n%s\nwant it as applied:\n%s", now, applied)
	}
}

// TestRemovedRemoteClusterIsUndone joins remote1, then removes its
// cluster block: the plan deletes its reader (in remote1, reached through
// the recorded kubeconfig and context) and the control plane's secret, and
// apply leaves neither, nor remote1 in the inventory.
func TestRemovedRemoteClusterIsUndone(t *testing.T) {
	l := lab.Get(t)
	remote := l.Cluster("remote1")
	w := e2etest.New(t, "inv-remote")
	w.Extra = fmt.Sprintf(`
cluster "remote1" {
  kubeconfig   = %q
  pod_cidr     = %q
  service_cidr = %q
}
`, remote.Kubeconfig, remote.PodCIDR, remote.ServiceCIDR)
	w.Write()
	w.DestroyOnCleanup()
	w.Must(0, "apply", "-auto-approve", "-no-color")
	cs, rcs, c := w.Client("control"), w.Client("remote1"), t.Context()
	if _, err := rcs.CoreV1().ServiceAccounts("istio-system").Get(c, "istio-multi", e2etest.Get); err != nil {
		t.Fatalf("reader account in remote1 after apply: %v", err)
	}
	if targets, _ := inventoryTargets(w); targets["cluster.remote1"]["kubeconfig"] != remote.Kubeconfig || targets["cluster.remote1"]["server"] != remote.Server {
		t.Errorf("inventory = %v, want cluster.remote1 with its kubeconfig path and server", targets)
	}

	w.Extra = ""
	w.Write()
	plan := w.Must(2, "plan", "-detailed-exitcode", "-no-color")
	e2etest.Contains(t, "plan after removing remote1", plan.Stdout,
		"cluster.remote1.reader will be destroyed", "cluster.remote1.secret will be destroyed",
		"cluster.control.inventory will be updated in-place", `"cluster.remote1"`, remote.Server)
	w.Must(0, "apply", "-auto-approve", "-no-color")
	if _, err := rcs.CoreV1().ServiceAccounts("istio-system").Get(c, "istio-multi", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("reader account in remote1 after the removal: %v, want NotFound", err)
	}
	if _, err := rcs.RbacV1().ClusterRoleBindings().Get(c, "istio-multi", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("reader binding in remote1 after the removal: %v, want NotFound", err)
	}
	if _, err := cs.CoreV1().Secrets("istio-system").Get(c, "remote1", e2etest.Get); !apierrors.IsNotFound(err) {
		t.Errorf("remote secret in control after the removal: %v, want NotFound", err)
	}
	if targets, _ := inventoryTargets(w); targets["cluster.remote1"] != nil {
		t.Errorf("inventory after the removal = %v, want no cluster.remote1", targets)
	}
	e2etest.Contains(t, "plan after the removal", w.Must(0, "plan", "-detailed-exitcode", "-no-color").Stdout, "No changes.")
}
