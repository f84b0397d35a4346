package kube

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var errTimeout = errors.New("timed out")

// poll calls check every pollInterval until it reports done, fails, or
// timeout passes (errTimeout); progress is called every progressEvery.
func (p *Provider) poll(ctx context.Context, timeout time.Duration, check func(time.Duration) (bool, error), progress func(time.Duration)) error {
	start := p.now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(p.pollInterval)
	defer tick.Stop()
	report := time.NewTicker(p.progressEvery)
	defer report.Stop()
	for {
		done, err := check(p.now().Sub(start))
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errTimeout
		case <-report.C:
			progress(p.now().Sub(start))
		case <-tick.C:
		}
	}
}

// namespaceTermination bounds the wait for a namespace to be deleted.
const namespaceTermination = 3 * time.Minute

// waitGone waits for a terminating object to disappear.
func (a *applier) waitGone(ctx context.Context, r ref) error {
	deadline := time.Now().Add(namespaceTermination)
	for {
		live, err := a.p.get(ctx, r)
		if err != nil {
			return fmt.Errorf("get %s: %w", r.human(), err)
		}
		if live == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is still terminating after %s; check what holds it with kubectl get %s %s -o yaml (finalizers, remaining objects)",
				r.human(), namespaceTermination, r.res, r.name)
		}
		if a.req.Progress != nil {
			a.req.Progress("waiting for " + r.human() + " to finish terminating")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
