package proc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Record identifies one started process. PID alone is not an identity (PIDs
// are recycled); PID plus the kernel's start time of that PID is.
type Record struct {
	Name  string   `json:"name"`
	PID   int      `json:"pid"`
	Start uint64   `json:"start"` // field 22 of /proc/PID/stat, in clock ticks since boot
	Argv  []string `json:"argv"`
	Log   string   `json:"log,omitempty"`
}

// Spec says how to start a process.
type Spec struct {
	Name string
	Argv []string
	Env  []string // appended to os.Environ()
	Dir  string
	Log  string // stdout and stderr go here (appended); required
}

// Start starts spec in its own session with stdin from /dev/null and output
// to spec.Log, so it outlives the caller and never holds the caller's
// terminal or pipes (go test waits for those to close). The child is reaped
// in the background should it exit while the caller still runs.
func Start(spec Spec) (Record, error) {
	if spec.Log == "" {
		return Record{}, fmt.Errorf("%s: no log file", spec.Name)
	}
	logf, err := os.OpenFile(spec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", spec.Name, err)
	}
	defer logf.Close()
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Record{}, fmt.Errorf("%s: start %s: %w", spec.Name, spec.Argv[0], err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() //nolint:errcheck // reaps the child; its status is in its log
	st, _, err := stat(pid)
	if err != nil {
		// It died already; report what it said.
		return Record{}, fmt.Errorf("%s: exited at once: %s", spec.Name, Tail(spec.Log, 20))
	}
	return Record{Name: spec.Name, PID: pid, Start: st, Argv: spec.Argv, Log: spec.Log}, nil
}

// stat returns the start time and state letter of pid from /proc/PID/stat.
func stat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces;
	// fields are counted after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return start, f[0][0], nil
}

// Alive reports whether the process r describes still runs: same PID, same
// start time, not a zombie.
func (r Record) Alive() bool {
	if r.PID <= 0 {
		return false
	}
	st, state, err := stat(r.PID)
	return err == nil && st == r.Start && state != 'Z' && state != 'X'
}

// Stop sends SIGTERM to the process r describes, waits up to grace for it to
// exit, then sends SIGKILL. It does nothing when the process is gone or the
// PID now belongs to another process.
func (r Record) Stop(grace time.Duration) error {
	if !r.Alive() {
		return nil
	}
	if err := syscall.Kill(r.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: kill %d: %w", r.Name, r.PID, err)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !r.Alive() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.Alive() {
		if err := syscall.Kill(r.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("%s: kill -9 %d: %w", r.Name, r.PID, err)
		}
	}
	for i := 0; i < 250 && r.Alive(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if r.Alive() {
		return fmt.Errorf("%s: pid %d still running after SIGKILL", r.Name, r.PID)
	}
	return nil
}

// Save writes records to file as JSON.
func Save(file string, recs []Record) error {
	return WriteJSON(file, recs, 0o600)
}

// Load reads records written by Save. A missing file is no records.
func Load(file string) ([]Record, error) {
	var recs []Record
	if err := ReadJSON(file, &recs); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return recs, nil
}

// WriteJSON writes v to name as indented JSON, through WriteFileAtomic.
func WriteJSON(name string, v any, perm os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(name, append(b, '\n'), perm)
}

// ReadJSON decodes the JSON file name into v. An error reading the file is
// returned as it is (os.ErrNotExist for a missing one); a decoding error
// names the file.
func ReadJSON(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// WriteFileAtomic writes data to a temporary file beside name and renames it
// into place, so readers never see a partial file.
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	tmp := name + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Tail returns the last n lines of file, for error messages about a daemon
// that failed to start. Daemon logs here never carry secrets: keys and tokens
// are passed as files, not arguments.
func Tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
