package svcmgr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/lab/vmlab/systemctl"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	// Daemons that fork (Type=forking) are re-parented to the test binary,
	// as they are to the manager when it is PID 1 of a lab VM.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// newTestManager returns a manager whose unit files live in a temporary
// root; the commands it runs are the host's (/bin/sleep, /bin/sh).
func newTestManager(t *testing.T, files map[string]string) (*Manager, string) {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, files)
	// The manager may log after the test has ended; keep its log and
	// show it if the test failed.
	var logMu sync.Mutex
	var logs strings.Builder
	t.Cleanup(func() {
		logMu.Lock()
		defer logMu.Unlock()
		if t.Failed() {
			t.Logf("manager log:\n%s", logs.String())
		}
	})
	logf := func(format string, args ...any) {
		logMu.Lock()
		fmt.Fprintf(&logs, format+"\n", args...)
		logMu.Unlock()
	}
	m, err := New(Config{Root: root, Hostname: "test", Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go m.Run(ctx)
	t.Cleanup(func() {
		m.mu.Lock()
		var names []string
		for n := range m.units {
			names = append(names, n)
		}
		m.mu.Unlock()
		for _, n := range names {
			m.Command([]string{"stop", n})
		}
		m.Wait()
		cancel()
	})
	return m, root
}

func run(t *testing.T, m *Manager, args ...string) Response {
	t.Helper()
	return m.Command(args)
}

// want runs a command and checks its exit code and that stdout+stderr
// contain every given fragment.
func want(t *testing.T, m *Manager, code int, contains []string, args ...string) Response {
	t.Helper()
	r := m.Command(args)
	if r.Code != code {
		t.Fatalf("systemctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, code, r.Stdout, r.Stderr)
	}
	for _, c := range contains {
		if !strings.Contains(r.Stdout+r.Stderr, c) {
			t.Fatalf("systemctl %s: output lacks %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), c, r.Stdout, r.Stderr)
		}
	}
	return r
}

func mainPID(t *testing.T, m *Manager, unit string) int {
	t.Helper()
	r := run(t, m, "show", "-p", "MainPID", "--value", unit)
	pid, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
	if err != nil {
		t.Fatalf("MainPID of %s: %q", unit, r.Stdout)
	}
	return pid
}

// eventually polls cond until it holds or 10 s pass. Processes die
// asynchronously after kill(2); this is not a timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isActive(m *Manager, unit string) string {
	return strings.TrimSpace(m.Command([]string{"is-active", unit}).Stdout)
}

func TestStartStopAndCrash(t *testing.T) {
	m, _ := newTestManager(t, map[string]string{
		"/lib/systemd/system/sleeper.service": "[Unit]\nDescription=Sleeps\n[Service]\nExecStart=/bin/sleep 1000\n",
	})
	want(t, m, 3, []string{"inactive"}, "is-active", "sleeper")
	want(t, m, 0, nil, "start", "sleeper")
	want(t, m, 0, []string{"active"}, "is-active", "sleeper")
	want(t, m, 0, nil, "is-active", "--quiet", "sleeper.service")
	pid := mainPID(t, m, "sleeper")
	if !alive(pid) {
		t.Fatalf("main pid %d not running", pid)
	}
	want(t, m, 0, []string{"● sleeper.service - Sleeps", "Active: active (running)", fmt.Sprintf("Main PID: %d (sleep)", pid)}, "status", "sleeper")
	want(t, m, 0, nil, "start", "sleeper") // already active: no-op
	if got := mainPID(t, m, "sleeper"); got != pid {
		t.Errorf("second start replaced main pid %d by %d", pid, got)
	}

	want(t, m, 0, nil, "stop", "sleeper")
	want(t, m, 3, []string{"inactive"}, "is-active", "sleeper")
	eventually(t, "stopped process to go", func() bool { return !alive(pid) })
	want(t, m, 3, []string{"Active: inactive (dead)"}, "status", "sleeper")

	// A crash is visible at once: kill -9 leaves the unit failed.
	want(t, m, 0, nil, "restart", "sleeper")
	pid = mainPID(t, m, "sleeper")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "crash to be noticed", func() bool { return isActive(m, "sleeper") != "active" })
	want(t, m, 3, []string{"failed"}, "is-active", "sleeper")
	want(t, m, 0, []string{"failed"}, "is-failed", "sleeper")
	want(t, m, 3, []string{"× sleeper.service", "Active: failed (Result: signal)", fmt.Sprintf("Main PID: %d (code=killed, signal=KILL)", pid)}, "status", "sleeper")
	want(t, m, 0, []string{"ActiveState=failed", "Result=signal", "ExecMainCode=2", "ExecMainStatus=9"}, "show", "sleeper")
	want(t, m, 0, nil, "reset-failed", "sleeper")
	want(t, m, 3, []string{"inactive"}, "is-active", "sleeper")
}

func TestCleanExitIsInactive(t *testing.T) {
	m, _ := newTestManager(t, map[string]string{
		"/lib/systemd/system/quick.service": "[Service]\nExecStart=/bin/sh -c 'exit 0'\n",
		"/lib/systemd/system/bad.service":   "[Service]\nExecStart=/bin/sh -c 'exit 3'\n",
	})
	want(t, m, 0, nil, "start", "quick", "bad") // Type=simple: the job is done once forked
	eventually(t, "quick to exit", func() bool { return isActive(m, "quick") == "inactive" })
	eventually(t, "bad to fail", func() bool { return isActive(m, "bad") == "failed" })
	want(t, m, 3, []string{"Main PID:", "(code=exited, status=3/NOTIMPLEMENTED)"}, "status", "bad")
}

func TestRestartAlways(t *testing.T) {
	m, _ := newTestManager(t, map[string]string{
		"/lib/systemd/system/phoenix.service": "[Service]\nExecStart=/bin/sleep 1000\nRestart=always\nRestartSec=300ms\n",
	})
	want(t, m, 0, nil, "start", "phoenix")
	pid := mainPID(t, m, "phoenix")
	syscall.Kill(pid, syscall.SIGKILL)
	eventually(t, "crash to be noticed", func() bool { return isActive(m, "phoenix") != "active" })
	r := want(t, m, 3, nil, "is-active", "phoenix")
	if got := strings.TrimSpace(r.Stdout); got != "activating" {
		t.Fatalf("is-active while a restart is pending: %q, want activating", got)
	}
	want(t, m, 3, []string{"Active: activating (auto-restart) (Result: signal)"}, "status", "phoenix")
	eventually(t, "restart", func() bool { return isActive(m, "phoenix") == "active" })
	if np := mainPID(t, m, "phoenix"); np == pid || !alive(np) {
		t.Errorf("after restart main pid %d (old %d)", np, pid)
	}
	want(t, m, 0, []string{"NRestarts=1"}, "show", "-p", "NRestarts", "phoenix")
	// stop during auto-restart cancels the restart.
	syscall.Kill(mainPID(t, m, "phoenix"), syscall.SIGKILL)
	eventually(t, "second crash", func() bool { return isActive(m, "phoenix") != "active" })
	want(t, m, 0, nil, "stop", "phoenix")
	time.Sleep(500 * time.Millisecond) // longer than RestartSec: must stay down
	want(t, m, 3, []string{"inactive"}, "is-active", "phoenix")
}

func TestStartLimit(t *testing.T) {
	m, _ := newTestManager(t, map[string]string{
		"/lib/systemd/system/flappy.service": "[Unit]\nStartLimitIntervalSec=30\nStartLimitBurst=3\n[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=10ms\n",
	})
	want(t, m, 0, nil, "start", "flappy")
	eventually(t, "start limit", func() bool { return isActive(m, "flappy") == "failed" })
	want(t, m, 0, []string{"Result=start-limit-hit", "NRestarts=3"}, "show", "-p", "Result,NRestarts", "flappy")
	want(t, m, 1, []string{"attempted too often"}, "start", "flappy")
	want(t, m, 0, nil, "reset-failed", "flappy")
	want(t, m, 0, nil, "start", "flappy")
}

func TestForkingWithPIDFile(t *testing.T) {
	m, root := newTestManager(t, nil)
	pidfile := filepath.Join(root, "run/forker.pid") // PIDFile=/run/forker.pid inside root
	writeFiles(t, root, map[string]string{
		"/lib/systemd/system/forker.service": fmt.Sprintf("[Service]\nType=forking\nPIDFile=/run/forker.pid\nExecStart=/bin/sh -c 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > %s'\n", pidfile),
	})
	want(t, m, 0, nil, "start", "forker")
	pid := mainPID(t, m, "forker")
	eventually(t, "the daemon to exec sleep", func() bool {
		st, err := readStat(pid)
		return err == nil && st.comm == "sleep"
	})
	want(t, m, 0, []string{"active"}, "is-active", "forker")
	syscall.Kill(pid, syscall.SIGKILL)
	eventually(t, "daemon crash to be noticed", func() bool { return isActive(m, "forker") == "failed" })
	want(t, m, 0, nil, "start", "forker")
	pid = mainPID(t, m, "forker")
	want(t, m, 0, nil, "stop", "forker")
	eventually(t, "daemon to be stopped", func() bool { return !alive(pid) })
	want(t, m, 3, []string{"inactive"}, "is-active", "forker")
}

func TestStartFailures(t *testing.T) {
	m, _ := newTestManager(t, map[string]string{
		"/lib/systemd/system/prefail.service":  "[Service]\nExecStartPre=/bin/false\nExecStart=/bin/sleep 1000\n",
		"/lib/systemd/system/noexec.service":   "[Service]\nExecStart=/nonexistent/binary\n",
		"/lib/systemd/system/badunit.service":  "[Service]\nType=simple\n",
		"/lib/systemd/system/cond.service":     "[Unit]\nConditionPathExists=!/\n[Service]\nExecStart=/bin/sleep 1000\n",
		"/lib/systemd/system/oneshot.service":  "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStart=/bin/true\n",
		"/lib/systemd/system/oneshot2.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"/lib/systemd/system/reloady.service":  "[Service]\nExecStart=/bin/sleep 1000\n",
	})
	want(t, m, 1, []string{"Job for prefail.service failed because the control process exited with error code."}, "start", "prefail")
	want(t, m, 3, []string{"failed"}, "is-active", "prefail")
	want(t, m, 1, []string{"Job for noexec.service failed"}, "start", "noexec")
	want(t, m, 1, []string{"bad unit file setting"}, "start", "badunit")
	want(t, m, 5, []string{"Failed to start nope.service: Unit nope.service not found."}, "start", "nope")
	want(t, m, 5, []string{"Unit nope.service not loaded."}, "stop", "nope")
	want(t, m, 4, []string{"Unit nope.service could not be found."}, "status", "nope")
	want(t, m, 1, []string{"Failed to get unit file state for nope.service"}, "is-enabled", "nope")
	want(t, m, 0, nil, "start", "cond")
	want(t, m, 3, []string{"ConditionPathExists=!/ was not met"}, "status", "cond")
	want(t, m, 0, nil, "start", "oneshot", "oneshot2")
	want(t, m, 0, []string{"active"}, "is-active", "oneshot")
	want(t, m, 3, []string{"inactive"}, "is-active", "oneshot2")
	want(t, m, 0, nil, "start", "reloady")
	want(t, m, 1, []string{"Job type reload is not applicable"}, "reload", "reloady")
	want(t, m, 1, []string{"Unknown command verb 'frobnicate'."}, "frobnicate")
	want(t, m, 1, []string{"unrecognized option '--bogus'"}, "--bogus", "status")
}

func TestMaskAndEnable(t *testing.T) {
	m, root := newTestManager(t, map[string]string{
		"/lib/systemd/system/istio.service":  "[Service]\nExecStart=/bin/sleep 1000\nRestart=always\n[Install]\nWantedBy=multi-user.target\n",
		"/lib/systemd/system/helper.service": "[Service]\nExecStart=/bin/sleep 1000\n",
	})
	want(t, m, 1, []string{"disabled"}, "is-enabled", "istio")
	want(t, m, 0, []string{"Created symlink /etc/systemd/system/multi-user.target.wants/istio.service → /lib/systemd/system/istio.service."}, "enable", "--now", "istio")
	want(t, m, 0, []string{"enabled"}, "is-enabled", "istio")
	want(t, m, 0, []string{"active"}, "is-active", "istio")
	want(t, m, 0, []string{"Loaded: loaded (/lib/systemd/system/istio.service; enabled; preset: enabled)"}, "status", "istio")
	want(t, m, 0, []string{`Removed "/etc/systemd/system/multi-user.target.wants/istio.service".`}, "disable", "--now", "istio")
	want(t, m, 3, nil, "is-active", "istio")
	if _, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/istio.service")); !os.IsNotExist(err) {
		t.Errorf("wants link still there: %v", err)
	}
	want(t, m, 0, []string{"static"}, "is-enabled", "helper")
	want(t, m, 0, []string{"no installation config"}, "enable", "helper")
	want(t, m, 0, []string{"Created symlink /etc/systemd/system/helper.service → /dev/null."}, "mask", "helper")
	want(t, m, 1, []string{"masked"}, "is-enabled", "helper")
	want(t, m, 1, []string{"Unit helper.service is masked."}, "start", "helper")
	want(t, m, 0, nil, "unmask", "helper")
	want(t, m, 0, nil, "start", "helper")
}

func TestDaemonReloadNeeded(t *testing.T) {
	m, root := newTestManager(t, map[string]string{
		"/lib/systemd/system/v.service": "[Service]\nExecStart=/bin/sleep 1001\n",
	})
	unitFile := filepath.Join(root, "lib/systemd/system/v.service")
	cmdline := func() string {
		pid := mainPID(t, m, "v")
		var b []byte
		// The kernel fills in cmdline just after exec returns to the parent.
		eventually(t, "the main process's cmdline", func() bool {
			b, _ = os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			return len(b) > 0
		})
		return strings.ReplaceAll(string(b), "\x00", " ")
	}
	want(t, m, 0, nil, "start", "v")
	if err := os.WriteFile(unitFile, []byte("[Service]\nExecStart=/bin/sleep 1002\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(unitFile, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	want(t, m, 0, []string{"Run 'systemctl daemon-reload' to reload units."}, "status", "v")
	want(t, m, 0, []string{"NeedDaemonReload=yes"}, "show", "-p", "NeedDaemonReload", "v")
	want(t, m, 0, []string{"changed on disk"}, "restart", "v")
	if got := cmdline(); !strings.Contains(got, "1001") {
		t.Errorf("restart before daemon-reload runs %q, want the loaded definition (1001)", got)
	}
	want(t, m, 0, nil, "daemon-reload")
	want(t, m, 0, []string{"NeedDaemonReload=no"}, "show", "-p", "NeedDaemonReload", "v")
	want(t, m, 0, nil, "restart", "v")
	if got := cmdline(); !strings.Contains(got, "1002") {
		t.Errorf("restart after daemon-reload runs %q, want 1002", got)
	}
	// An inactive unit is read from disk on every reference, as systemd
	// unloads it.
	want(t, m, 0, nil, "stop", "v")
	os.WriteFile(unitFile, []byte("[Service]\nExecStart=/bin/sleep 1003\n"), 0o644)
	os.Chtimes(unitFile, time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute))
	want(t, m, 0, nil, "start", "v")
	if got := cmdline(); !strings.Contains(got, "1003") {
		t.Errorf("start of an unloaded unit runs %q, want 1003", got)
	}
}

func TestEnvironmentAndUser(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "out")
	m, _ := newTestManager(t, map[string]string{
		"/etc/default/envy": "OPTS=\"-n  x\"\n",
		"/lib/systemd/system/envy.service": "[Service]\nType=oneshot\nEnvironment=\"B=two words\" C=3\nEnvironmentFile=/etc/default/envy\nEnvironmentFile=-/etc/default/missing\n" +
			"ExecStart=/bin/sh -c 'printf \"%%s|\" \"$@\" > " + out + "; echo \"$B,$C,$(id -u)\" >> " + out + "' sh $OPTS ${B}\n",
		"/lib/systemd/system/envmissing.service": "[Service]\nEnvironmentFile=/etc/default/missing\nExecStart=/bin/true\n",
	})
	want(t, m, 0, nil, "start", "envy")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, w := string(b), "-n|x|two words|two words,3,"+strconv.Itoa(os.Getuid())+"\n"; got != w {
		t.Errorf("service saw %q, want %q", got, w)
	}
	want(t, m, 1, []string{"of unavailable resources"}, "start", "envmissing")
}

func TestClientServer(t *testing.T) {
	m, root := newTestManager(t, map[string]string{
		"/lib/systemd/system/s.service": "[Service]\nExecStart=/bin/sleep 1000\n",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := m.Listen()
	if err != nil {
		t.Fatal(err)
	}
	go m.Serve(ctx, l)
	sock := filepath.Join(root, m.SocketPath())
	var out, errb strings.Builder
	if code := systemctl.Run(sock, []string{"start", "s"}, &out, &errb); code != 0 {
		t.Fatalf("start: %d %s", code, errb.String())
	}
	out.Reset()
	if code := systemctl.Run(sock, []string{"is-active", "s"}, &out, &errb); code != 0 || out.String() != "active\n" {
		t.Fatalf("is-active: %d %q", code, out.String())
	}
	if r := m.CommandAs(1000, []string{"stop", "s"}); r.Code != 4 || !strings.Contains(r.Stderr, "Interactive authentication required") {
		t.Errorf("stop as uid 1000: %+v", r)
	}
	if r := m.CommandAs(1000, []string{"is-active", "s"}); r.Code != 0 {
		t.Errorf("is-active as uid 1000: %+v", r)
	}
	if code := systemctl.Run(filepath.Join(root, "nope.sock"), []string{"status"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not been booted with systemd") {
		t.Fatalf("without a manager: %d %q", code, errb.String())
	}
}
