package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/posener/complete"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/planner"
	"github.com/meshx-dev/meshx/plans"
)

func init() {
	register("apply", func(m *Meta) Command { return &applyCommand{Meta: m} })
	register("destroy", func(m *Meta) Command { return &applyCommand{Meta: m, destroy: true} })
	register("forget", func(m *Meta) Command { return &applyCommand{Meta: m, forget: true} })
}

// applyCommand makes the changes of a plan: apply, destroy (an apply of a
// destroy plan), or forget (an apply of a plan changing only the
// inventory).
type applyCommand struct {
	*Meta
	destroy bool
	forget  bool
}

func (c *applyCommand) name() string {
	switch {
	case c.destroy:
		return "destroy"
	case c.forget:
		return "forget"
	}
	return "apply"
}

func (c *applyCommand) Synopsis() string {
	switch {
	case c.destroy:
		return "Remove everything this environment created"
	case c.forget:
		return "Drop removed VMs or clusters that cannot be reached from the inventory"
	}
	return "Make the changes the configuration asks for"
}

func (c *applyCommand) Help() string {
	if c.forget {
		return strings.TrimSpace(`
Usage: meshx [global options] forget [options] ADDRESS...

  Drops VMs or remote clusters (vm.old, cluster.remote2) from the
  environment's inventory, the record in the control cluster of what it
  manages and how to reach it. Plans after a vm or cluster block is removed
  undo what meshx did there through that record; when the VM or cluster
  cannot be reached any more (it is gone, or you will clean it by hand),
  forget is how to stop trying. It changes nothing on the VM or cluster, nor
  anything but the inventory, and only after you approve the plan it shows.
  Each ADDRESS must be recorded and no longer in the configuration.

Options:
  -auto-approve       Do not ask for approval.
` + lockFlagsHelp + VarFlagsHelp)
	}
	if c.destroy {
		return strings.TrimSpace(`
Usage: meshx [global options] destroy [options]

  Removes everything this environment owns, in the reverse order of
  creation: the objects meshx labelled in each cluster and the files, units
  and packages recorded in each VM's manifest. Objects meshx did not create
  are never touched. Asks for "yes" first.

Options:
  -auto-approve       Do not ask for approval.
` + opFlagsHelp + lockFlagsHelp + VarFlagsHelp)
	}
	return strings.TrimSpace(`
Usage: meshx [global options] apply [options] [PLANFILE]

  Without PLANFILE: plans, shows the plan, asks for "yes" and applies it.
  With PLANFILE (from "meshx plan -out"): applies exactly that plan without
  asking, after checking that the configuration is the one it was made from
  and that every object it would change still looks as it did then. If
  anything moved, nothing is applied and the exit status is 4. Pass the
  same -var and -var-file options as to the plan: the file keeps no secret
  values, so meshx evaluates the configuration again and checks that it and
  the variables are exactly what was planned.

  Changes run in dependency order, up to -parallelism at once; a failure
  stops only what depends on it. Exit status 0 when everything applied,
  1 on any error, 3 when another run holds the lock, 4 for a stale plan.

Options:
  -auto-approve       Do not ask for approval.
` + opFlagsHelp + lockFlagsHelp + VarFlagsHelp + `

Environment:
  MESHX_LOCK_TTL=DUR  How long the lock outlives a run that died without
                      releasing it (default 30s; at least 1s). Meant for
                      tests and unusual setups: a run that cannot renew its
                      lock within a third of DUR loses it.`)
}

func (c *applyCommand) AutocompleteArgs() complete.Predictor {
	if c.destroy || c.forget {
		return complete.PredictNothing
	}
	return complete.PredictFiles("*")
}

func (c *applyCommand) AutocompleteFlags() complete.Flags {
	var f opFlags
	fl := f.complete(c.CompleteVarFlags())
	fl["-auto-approve"] = complete.PredictNothing
	return fl
}

func (c *applyCommand) Run(args []string) int {
	var f opFlags
	var autoApprove bool
	fs := c.FlagSet(c.name())
	f.register(fs)
	fs.BoolVar(&autoApprove, "auto-approve", false, "")
	c.VarFlags(fs)
	err := c.Parse(fs, args)
	base := c.View()
	view := views.NewApply(viewType(f.json, "", args, err), base, views.ApplyViewOptions{Order: f.order})
	var planPath string
	var forget targetList
	switch {
	case err != nil:
		return flagError(view, err)
	case c.forget && fs.NArg() == 0:
		return flagError(view, fmt.Errorf("forget needs the VMs or clusters to forget, like meshx forget vm.old"))
	case c.forget:
		for _, a := range fs.Args() {
			if err := forget.Set(a); err != nil {
				return flagError(view, err)
			}
		}
	case fs.NArg() == 1 && !c.destroy:
		planPath = c.path(fs.Arg(0))
	case fs.NArg() > 0:
		return flagError(view, fmt.Errorf("%s takes no arguments but a saved plan file, got %q", c.name(), strings.Join(fs.Args(), " ")))
	}
	// Nobody can answer a prompt in the middle of a JSON stream.
	f.input = f.input && !f.json
	o := c.newOp(f, base, view)
	o.forget = forget
	if !o.load() {
		return ExitError
	}
	var saved *planfile.File
	if planPath != "" {
		var code int
		if saved, code = o.readSavedPlan(planPath); code != ExitOK {
			return code
		}
		o.flags.targets = nil
		for _, t := range saved.Targets {
			if err := o.flags.targets.Set(t); err != nil {
				return o.fail(ExitError, "Invalid saved plan", err)
			}
		}
	}

	// Before the lock, so a mistyped -target contacts nothing.
	if d := planner.CheckTargets(o.cfg, o.flags.targets); d.HasErrors() {
		o.diagnostics(d)
		return ExitError
	}

	ctx, stop := o.interruptible(context.Background())
	defer stop()
	ctx, lk, code, ok := o.takeLock(ctx, c.name(), view)
	if !ok {
		return code
	}
	defer lk.release()

	destroy := c.destroy || (saved != nil && saved.Destroy)
	// Targets that could not be observed are reported and left out; the
	// rest is applied, and the run still exits 1. A saved plan is applied
	// whole or not at all.
	p, exp, unobserved, ok := o.planPartial(ctx, destroy)
	defer p.Close()
	if lk.lost() != nil {
		return o.lockLost(lk)
	}
	if !ok || (saved != nil && len(unobserved) > 0) {
		return ExitError
	}
	incomplete := func() int {
		if len(unobserved) == 0 {
			return ExitOK
		}
		done := "applied"
		if destroy {
			done = "destroyed"
		}
		o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: c.name() + " incomplete",
			Detail: fmt.Sprintf("Nothing was planned or changed on %s, which could not be observed (see above); everything else was %s. Fix the connection and run meshx %s again.",
				strings.Join(unobserved, ", "), done, c.name())}})
		return ExitError
	}
	if saved != nil {
		if mm := planfile.Compare(saved.Changes, p.Plan); len(mm) > 0 {
			return o.stale(planPath, mm)
		}
	} else {
		view.Plan(p.Plan)
		if !p.HasChanges() {
			view.Outputs(p.Outputs)
			return incomplete()
		}
		if !autoApprove {
			q, detail := "Do you want to perform these actions?", approvalDetail(p.Plan)
			switch {
			case destroy:
				q = "Do you really want to destroy everything in environment " + o.cfg.Meshx.Environment + "?"
			case c.forget:
				q = "Do you want meshx to forget " + strings.Join(fs.Args(), ", ") + "?"
				detail = "meshx will drop them from the inventory. Nothing on them, nor anything else, is changed; what meshx did there stays."
			}
			if !o.confirm(view, q, detail) {
				return ExitError
			}
			if lk.lost() != nil {
				return o.lockLost(lk)
			}
		}
	}
	if !p.HasChanges() {
		view.Summary(p.Plan)
		return incomplete()
	}

	res := executor.Apply(ctx, p, executor.Options{Parallelism: f.parallelism, Events: view.Event})
	res.LeftOut = unobserved
	view.Result(res, destroy)
	if lk.lost() != nil {
		return o.lockLost(lk)
	}
	if res.Err != nil {
		o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: c.name() + " failed", Detail: res.Err.Error() +
			"\n\nEverything that did not depend on a failed change was applied. Fix the cause and run meshx plan to see exactly what remains."}})
		return ExitError
	}
	if !destroy && !c.forget {
		outs, diags := planner.OutputValues(o.cfg, exp, planner.AppliedOutputs(res.Outputs))
		o.diagnostics(diags)
		view.Outputs(outs)
	}
	return incomplete()
}

// approvalDetail is what the approval prompt says will happen, naming
// what a partial plan leaves out.
func approvalDetail(p *plans.Plan) string {
	lines := []string{"meshx will perform the actions described above."}
	if p.Destroy {
		lines[0] = "meshx will destroy all the objects this environment created. There is no undo."
	}
	if len(p.Targets) > 0 {
		lines = append(lines, "Targeting is in effect: only -target="+strings.Join(p.Targets, ", -target=")+" and "+views.TargetCover(p)+" are included.")
	}
	if len(p.Unobserved) > 0 {
		lines = append(lines, "Left out, as they could not be observed: "+strings.Join(p.Unobserved, ", ")+". Nothing on them, nor anything that depends on them, will be changed.")
	}
	return strings.Join(lines, "\n  ")
}

// readSavedPlan reads a plan file and checks it was made from the current
// configuration.
func (o *op) readSavedPlan(path string) (*planfile.File, int) {
	f, d := readPlanFile(path)
	if d != nil {
		o.diagnostics(hcl.Diagnostics{d})
		return nil, ExitError
	}
	if f.Environment != o.cfg.Meshx.Environment {
		return nil, o.fail(ExitStale, "Saved plan is for another environment",
			fmt.Errorf("%s was planned for environment %q; this configuration is %q", path, f.Environment, o.cfg.Meshx.Environment))
	}
	if f.ConfigDigest != configDigest(o.cfg) {
		return nil, o.fail(ExitStale, "Saved plan does not match the configuration",
			fmt.Errorf("the configuration files or variable values changed since %s was made, so it cannot be applied. Run meshx plan -out=%s again and review it", path, path))
	}
	return f, ExitOK
}

// stale reports why a saved plan no longer holds.
func (o *op) stale(path string, mm []planfile.Mismatch) int {
	var b strings.Builder
	fmt.Fprintf(&b, "%s can no longer be applied: what it was planned against has changed since. Nothing was applied.\n\n", path)
	for _, m := range mm {
		fmt.Fprintf(&b, "  - %s\n", m)
	}
	b.WriteString("\nRun meshx plan -out again, review the new plan, and apply that.")
	o.diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Saved plan is stale", Detail: b.String()}})
	return ExitStale
}
