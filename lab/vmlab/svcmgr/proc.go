package svcmgr

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// exitStatus is how a process ended.
type exitStatus struct {
	Exited bool           // true: exited with Code; false: killed by Signal
	Code   int            // exit code
	Signal syscall.Signal // 0 with !Exited: ended, status unknown
}

func statusOf(ws unix.WaitStatus) exitStatus {
	if ws.Signaled() {
		return exitStatus{Signal: ws.Signal()}
	}
	return exitStatus{Exited: true, Code: ws.ExitStatus()}
}

var exitNames = map[int]string{
	0: "SUCCESS", 1: "FAILURE", 2: "INVALIDARGUMENT", 3: "NOTIMPLEMENTED",
	4: "NOPERMISSION", 5: "NOTINSTALLED", 6: "NOTCONFIGURED", 7: "NOTRUNNING",
	200: "CHDIR", 203: "EXEC", 216: "GROUP", 217: "USER",
}

// String formats the status like systemctl status does.
func (e exitStatus) String() string {
	switch {
	case e.Exited:
		if n, ok := exitNames[e.Code]; ok {
			return fmt.Sprintf("code=exited, status=%d/%s", e.Code, n)
		}
		return fmt.Sprintf("code=exited, status=%d", e.Code)
	case e.Signal != 0:
		return fmt.Sprintf("code=killed, signal=%s", signalName(e.Signal))
	}
	return "code=exited, status=unknown"
}

// clean reports whether systemd counts the exit as a success: status 0 or
// one listed in SuccessExitStatus=, or death by SIGHUP, SIGINT, SIGTERM or
// SIGPIPE.
func (e exitStatus) clean(success []string) bool {
	if e.Exited {
		if e.Code == 0 {
			return true
		}
		for _, s := range success {
			if s == strconv.Itoa(e.Code) {
				return true
			}
		}
		return false
	}
	switch e.Signal {
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE:
		return true
	}
	for _, s := range success {
		if sig, err := parseSignal(s); err == nil && sig == e.Signal {
			return true
		}
	}
	return false
}

// result is systemd's Result= for an unclean exit.
func (e exitStatus) result() string {
	if e.Exited {
		return "exit-code"
	}
	return "signal"
}

type exitRecord struct {
	st exitStatus
	at time.Time
}

// procs starts processes and reaps every child of the manager (as PID 1 it
// inherits all orphans), dispatching exits to whoever watches the pid.
type procs struct {
	reapMu  sync.Mutex // serialises reap and pollGone
	mu      sync.Mutex
	watches map[int][]func(int, exitStatus)
	exited  map[int]exitRecord // reaped before anyone watched
}

func newProcs() *procs {
	return &procs{watches: map[int][]func(int, exitStatus){}, exited: map[int]exitRecord{}}
}

// loop reaps on SIGCHLD and, as a fallback, polls watched pids that are
// not the manager's children once a second.
func (p *procs) loop(ctx context.Context) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGCHLD)
	defer signal.Stop(ch)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			p.reap()
		case <-t.C:
			p.reap()
			p.pollGone()
		}
	}
}

// reap collects every exited child without blocking.
func (p *procs) reap() {
	p.reapMu.Lock()
	defer p.reapMu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		p.dispatch(pid, statusOf(ws))
	}
}

func (p *procs) dispatch(pid int, st exitStatus) {
	p.mu.Lock()
	fns := p.watches[pid]
	delete(p.watches, pid)
	if len(fns) == 0 {
		now := time.Now()
		p.exited[pid] = exitRecord{st, now}
		for q, r := range p.exited {
			if now.Sub(r.at) > time.Minute {
				delete(p.exited, q)
			}
		}
	}
	p.mu.Unlock()
	for _, fn := range fns {
		fn(pid, st)
	}
}

// pollGone dispatches watched pids that no longer exist at all: processes
// that were not our children and were reaped elsewhere.
func (p *procs) pollGone() {
	p.reapMu.Lock()
	defer p.reapMu.Unlock()
	p.mu.Lock()
	var gone []int
	for pid := range p.watches {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); os.IsNotExist(err) {
			gone = append(gone, pid)
		}
	}
	p.mu.Unlock()
	for _, pid := range gone {
		p.dispatch(pid, exitStatus{})
	}
}

// start forks and execs; fn, if not nil, is called once when the process
// ends. Registration happens before the reaper can see the exit.
func (p *procs) start(argv0 string, argv []string, attr *syscall.ProcAttr, fn func(int, exitStatus)) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pid, err := syscall.ForkExec(argv0, argv, attr)
	if err != nil {
		return 0, err
	}
	if fn != nil {
		p.watches[pid] = append(p.watches[pid], fn)
	}
	return pid, nil
}

// watch calls fn when pid ends (at once if it already has).
func (p *procs) watch(pid int, fn func(int, exitStatus)) {
	p.mu.Lock()
	if r, ok := p.exited[pid]; ok {
		delete(p.exited, pid)
		p.mu.Unlock()
		go fn(pid, r.st)
		return
	}
	p.watches[pid] = append(p.watches[pid], fn)
	p.mu.Unlock()
}

// procStat is the part of /proc/<pid>/stat the manager uses.
type procStat struct {
	pid, ppid, pgrp, session int
	state                    byte
	comm                     string
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

func parseStat(s string) (procStat, error) {
	open := strings.IndexByte(s, '(')
	end := strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 4 {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	var st procStat
	st.pid, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
	st.comm = s[open+1 : end]
	st.state = f[0][0]
	st.ppid, _ = strconv.Atoi(f[1])
	st.pgrp, _ = strconv.Atoi(f[2])
	st.session, _ = strconv.Atoi(f[3])
	return st, nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}

// allProcs lists the live processes in /proc.
func allProcs() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.state == 'Z' || st.state == 'X' {
			continue
		}
		out = append(out, st)
	}
	return out
}

// groupOf returns the live processes belonging to a unit: members of the
// sessions its commands started, the main process and their descendants.
// It stands in for the unit's cgroup.
func groupOf(sessions []int, mainPID int) []int {
	ps := allProcs()
	self := os.Getpid()
	in := map[int]bool{}
	sids := map[int]bool{}
	for _, s := range sessions {
		sids[s] = true
	}
	for _, p := range ps {
		if p.pid == self || p.pid == 1 {
			continue
		}
		if sids[p.session] || p.pid == mainPID {
			in[p.pid] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, p := range ps {
			if !in[p.pid] && in[p.ppid] && p.pid != self && p.pid != 1 {
				in[p.pid] = true
				changed = true
			}
		}
	}
	out := make([]int, 0, len(in))
	for pid := range in {
		out = append(out, pid)
	}
	return out
}
