package vmlab

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procRef names a process by PID and start time, so that a recorded PID
// reused by an unrelated process is never signalled.
type procRef struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // /proc/<pid>/stat field 22, clock ticks since boot
}

// procStart returns the start time and state of pid.
func procStart(pid int) (uint64, byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return start, f[0][0], err
}

func refOf(pid int) procRef {
	start, _, _ := procStart(pid)
	return procRef{PID: pid, Start: start}
}

// alive reports whether the recorded process still runs (and is not a
// zombie).
func (r procRef) alive() bool {
	if r.PID <= 0 {
		return false
	}
	start, state, err := procStart(r.PID)
	return err == nil && start == r.Start && state != 'Z' && state != 'X'
}

// kill sends SIGKILL to the recorded process if it is still the same one
// and waits until it is gone.
func (r procRef) kill(timeout time.Duration) error {
	if !r.alive() {
		return nil
	}
	if err := syscall.Kill(r.PID, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("kill %d: %w", r.PID, err)
	}
	deadline := time.Now().Add(timeout)
	for r.alive() {
		// Reap it if it is our child (Up and Down in one process).
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(r.PID, &ws, syscall.WNOHANG, nil)
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still alive %v after SIGKILL", r.PID, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// killAll sends SIGKILL to every recorded process still alive, then waits
// for all of them.
func killAll(refs []procRef, timeout time.Duration) error {
	for _, r := range refs {
		if r.alive() {
			_ = syscall.Kill(r.PID, syscall.SIGKILL)
		}
	}
	var errs []error
	for _, r := range refs {
		if err := r.kill(timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
