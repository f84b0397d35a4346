package views

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/meshx-dev/meshx/planner"
)

// Operation is what plan, apply, destroy and output share while they
// load the configuration and observe clusters and VMs.
type Operation interface {
	// Diagnostics reports problems with the configuration, the flags or
	// the run.
	Diagnostics(diags hcl.Diagnostics)
	// Note shows a provider's note, such as a host key trusted on first
	// use.
	Note(msg string)
	// ObserveProgress says what a long observation waits for.
	ObserveProgress(p planner.ObserveProgress)
	// Interrupted says a first SIGINT or SIGTERM was received: running
	// changes finish, no new one starts.
	Interrupted(s os.Signal)
	// Exiting says a second interrupt ends the run at once.
	Exiting()
}

// operationHuman writes diagnostics, notes and progress to stderr.
type operationHuman struct{ *View }

func (v operationHuman) Note(msg string) { fmt.Fprintln(v.stderr, msg) }

func (v operationHuman) ObserveProgress(p planner.ObserveProgress) {
	if p.Waiting == "" {
		return
	}
	fmt.Fprintf(v.stderr, "Observing %d targets… %d/%d; waiting on %s %s\n", p.Total, p.Done, p.Total, p.Waiting, p.Elapsed.Round(time.Second))
}

func (v operationHuman) Interrupted(s os.Signal) {
	fmt.Fprintf(v.stderr, "\nReceived %s: letting running changes finish, starting no new ones (interrupt again to exit at once)...\n", s)
}

func (v operationHuman) Exiting() {
	fmt.Fprintln(v.stderr, "Two interrupts received: exiting at once. The environment's lock expires by itself; run meshx plan to see what remains.")
}

// operationJSON sends diagnostics as stream messages. The stream carries
// no free text, so notes, progress and the first interrupt are not
// shown; the run's exit on a second interrupt still is, on stderr.
type operationJSON struct {
	*View
	stream *JSON
}

func newOperationJSON(v *View) operationJSON {
	return operationJSON{View: v, stream: NewJSON(v.stdout, JSONOptions{Version: v.opts.Version})}
}

func (v operationJSON) Diagnostics(diags hcl.Diagnostics)       { v.stream.Diagnostics(diags, v.sources) }
func (v operationJSON) Note(string)                             {}
func (v operationJSON) ObserveProgress(planner.ObserveProgress) {}
func (v operationJSON) Interrupted(os.Signal)                   {}
func (v operationJSON) Exiting()                                { operationHuman{v.View}.Exiting() }
