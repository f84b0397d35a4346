package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sample is one timed run of a command (or of a group of commands run at
// once).
type sample struct {
	wall time.Duration
	// cpu is the user and system time of the command and its waited-for
	// descendants on this machine (not in the VMs).
	cpu time.Duration
	// maxRSS is the command's peak resident set, in KiB.
	maxRSS int64
	// vmCPU is the CPU time used inside the VMs meanwhile (see vmCPU),
	// when measured.
	vmCPU time.Duration
}

// command is a command line to time; dir is its working directory.
type command struct {
	dir  string
	env  []string // added to the environment
	name string
	args []string
	// want is the exit status that counts as success.
	want int
}

func (c command) String() string { return c.name + " " + strings.Join(c.args, " ") }

// timeIt runs c and measures it. A run that exits with another status
// than c.want is an error carrying the end of its output.
func timeIt(ctx context.Context, c command) (sample, []byte, error) {
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	if c.env != nil {
		cmd.Env = append(cmd.Environ(), c.env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(t0)}
	if ps := cmd.ProcessState; ps != nil {
		s.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			s.maxRSS = ru.Maxrss
		}
		if ps.ExitCode() == c.want {
			err = nil
		}
	}
	if err != nil {
		return s, out.Bytes(), fmt.Errorf("%s: %v: %s", c, err, tailOf(out.String(), 15))
	}
	return s, out.Bytes(), nil
}

// timeParallel starts every command at once and measures until the last
// one ends: wall is the whole, cpu the sum.
func timeParallel(ctx context.Context, cs []command) (sample, error) {
	var mu sync.Mutex
	var total sample
	var errs []error
	var wg sync.WaitGroup
	t0 := time.Now()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, err := timeIt(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			total.cpu += s.cpu
			total.maxRSS = max(total.maxRSS, s.maxRSS)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	total.wall = time.Since(t0)
	if len(errs) > 0 {
		return total, fmt.Errorf("%d of %d failed, first: %w", len(errs), len(cs), errs[0])
	}
	return total, nil
}

// series is the samples of one measured thing.
type series []sample

// median returns the median sample by wall time (the lower middle one of
// an even count), and whether there is any.
func (s series) median() (sample, bool) {
	if len(s) == 0 {
		return sample{}, false
	}
	c := append(series(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i].wall < c[j].wall })
	return c[(len(c)-1)/2], true
}

// peakRSS is the highest peak resident set of the samples, in KiB.
func (s series) peakRSS() int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.maxRSS)
	}
	return m
}

func tailOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// secs formats a duration as seconds with a precision that suits it.
func secs(d time.Duration) string {
	switch s := d.Seconds(); {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

// millis formats a duration in milliseconds.
func millis(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
