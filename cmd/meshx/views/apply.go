package views

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/plans"
)

// Apply is the view of meshx apply and destroy.
type Apply interface {
	Operation
	Lock
	// Plan shows the plan before approval.
	Plan(p *plans.Plan)
	// Summary ends the run of a saved plan that has nothing to do.
	Summary(p *plans.Plan)
	// Event reports one step; the executor calls it one event at a time.
	Event(e executor.Event)
	// Result reports the end of the run; destroy says it was a destroy.
	Result(res executor.Result, destroy bool)
	// Outputs reports the configuration's output values after the run;
	// none is nothing to report.
	Outputs(outs []plans.OutputValue)
	// Approve asks question, with detail saying what will happen, and
	// reads the answer from in: only "yes" approves. The command calls it
	// only where somebody can answer, never with ViewJSON.
	Approve(question, detail string, in io.Reader) bool
}

// Lock is what a run holding the environment's lock says about it.
type Lock interface {
	// WaitingForLock says the run waits up to timeout for the lock that
	// who holds under the lock ID id.
	WaitingForLock(timeout time.Duration, who, id string)
	// LockLost says the lock was lost during the run, so no new change
	// starts.
	LockLost(err error)
	// LockReleaseFailed says the lock could not be released at the end;
	// it expires by itself.
	LockReleaseFailed(err error)
}

// ApplyViewOptions tune apply's view.
type ApplyViewOptions struct {
	// Order adds the execution order to the plan (-show-order).
	Order bool
}

// NewApply returns the view of apply and destroy: the JSON event stream
// (ViewJSON), or the plan text and Terraform's progress lines. The JSON
// view writes the stream's version message at once.
func NewApply(vt ViewType, v *View, opts ApplyViewOptions) Apply {
	if vt == ViewJSON {
		return applyJSON{planJSON{newOperationJSON(v)}}
	}
	return applyHuman{
		planHuman: planHuman{operationHuman{v}, opts.Order},
		progress:  NewApplyText(v.stdout, ApplyOptions{Color: v.opts.ColorStdout}),
	}
}

type applyHuman struct {
	planHuman
	progress *ApplyText
}

func (v applyHuman) Summary(p *plans.Plan)                    { fmt.Fprintln(v.stdout, SummaryLine(p)) }
func (v applyHuman) Event(e executor.Event)                   { v.progress.Event(e) }
func (v applyHuman) Result(res executor.Result, destroy bool) { v.progress.Result(res, destroy) }

// Outputs are printed without colour: they are values, not changes.
func (v applyHuman) Outputs(outs []plans.OutputValue) {
	NewApplyText(v.stdout, ApplyOptions{}).Outputs(outs)
}

func (v applyHuman) Approve(question, detail string, in io.Reader) bool {
	fmt.Fprintf(v.stdout, "\n%s\n  %s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question, detail)
	line, _ := bufio.NewReader(in).ReadString('\n')
	fmt.Fprintln(v.stdout)
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(v.stderr, "Error: not approved; nothing was changed.")
		return false
	}
	return true
}

func (v applyHuman) WaitingForLock(timeout time.Duration, who, id string) {
	fmt.Fprintf(v.stderr, "Waiting up to %s for the lock held by %s (lock ID %s)...\n", timeout, Escape(who), Escape(id))
}

func (v applyHuman) LockLost(err error) {
	fmt.Fprintf(v.stderr, "\nError: %s. Starting no new changes; letting running ones finish...\n", err)
}

func (v applyHuman) LockReleaseFailed(err error) { v.lockReleaseFailed(err) }

// lockReleaseFailed goes to stderr in every form: the run is over, and
// the JSON stream has ended with its change_summary.
func (v *View) lockReleaseFailed(err error) {
	fmt.Fprintf(v.stderr, "Warning: releasing the lock: %s\n", err)
}

type applyJSON struct{ planJSON }

// Approve refuses: nobody can answer a prompt in the middle of a JSON
// stream, so the command never asks.
func (v applyJSON) Approve(string, string, io.Reader) bool { return false }

func (v applyJSON) Summary(*plans.Plan)                          {}
func (v applyJSON) Event(e executor.Event)                       { v.stream.Event(e) }
func (v applyJSON) Result(res executor.Result, destroy bool)     { v.stream.Result(res, destroy) }
func (v applyJSON) WaitingForLock(time.Duration, string, string) {}
func (v applyJSON) LockLost(error)                               {}
func (v applyJSON) LockReleaseFailed(err error)                  { v.lockReleaseFailed(err) }

func (v applyJSON) Outputs(outs []plans.OutputValue) {
	if len(outs) > 0 {
		v.stream.Outputs(outs)
	}
}
