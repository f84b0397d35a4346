package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshx-dev/meshx/plans"
)

// TestApprovalDetail: the approval prompt names what a partial plan
// leaves out.
func TestApprovalDetail(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan plans.Plan
		want string
	}{
		{"whole", plans.Plan{}, "meshx will perform the actions described above."},
		{"unobserved", plans.Plan{Unobserved: []string{"vm.vm2", "vm.vm3"}}, "meshx will perform the actions described above.\n" +
			"  Left out, as they could not be observed: vm.vm2, vm.vm3. Nothing on them, nor anything that depends on them, will be changed."},
		{"targeted destroy", plans.Plan{Destroy: true, Targets: []string{"vm.vm1"}}, "meshx will destroy all the objects this environment created. There is no undo.\n" +
			"  Targeting is in effect: only -target=vm.vm1 and what depends on it are included."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, approvalDetail(&tc.plan)); diff != "" {
				t.Errorf("approvalDetail (-want +got):\n%s", diff)
			}
		})
	}
}
