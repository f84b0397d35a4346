package views

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// ForceUnlock is the view of meshx force-unlock, which has only the human
// form.
type ForceUnlock interface {
	// Unlocked says the lock of environment env was released.
	Unlocked(env string)
	Diagnostics(diags hcl.Diagnostics)
}

// NewForceUnlock returns force-unlock's view.
func NewForceUnlock(v *View) ForceUnlock { return forceUnlockHuman{v} }

type forceUnlockHuman struct{ *View }

func (v forceUnlockHuman) Unlocked(env string) {
	fmt.Fprintf(v.stdout, "meshx unlocked environment %s.\n", env)
}
