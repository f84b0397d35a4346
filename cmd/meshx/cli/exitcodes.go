package cli

// Exit statuses, identical across commands (fmt -check keeps Terraform's
// 3 for "unformatted", documented in its help). They never change meaning:
// CI scripts branch on them.
const (
	// ExitOK: success, or a plan with no changes.
	ExitOK = 0
	// ExitError: anything went wrong (invalid configuration, a failed
	// change, a refused prompt).
	ExitError = 1
	// ExitChanges: plan -detailed-exitcode found changes to make.
	ExitChanges = 2
	// ExitLocked: another run holds the environment's lock.
	ExitLocked = 3
	// ExitStale: a saved plan no longer matches the live state or the
	// configuration; nothing was applied.
	ExitStale = 4
)
