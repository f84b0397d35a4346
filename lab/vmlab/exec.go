package vmlab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// vmEnv is the environment commands run with inside a VM.
var vmEnv = []string{"PATH=" + hostPath, "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "LANG=C.UTF-8"}

// Exec runs argv inside the VM, as root, in all of its namespaces and with
// its root file system, and returns its output. A failed command's error
// names the VM, the command, its exit status (an *exec.ExitError, for
// errors.As) and its stderr.
func Exec(ctx context.Context, vm VM, argv ...string) (stdout, stderr string, err error) {
	return ExecInput(ctx, vm, nil, argv...)
}

// ExecInput is Exec with stdin.
func ExecInput(ctx context.Context, vm VM, stdin io.Reader, argv ...string) (stdout, stderr string, err error) {
	ref, err := initOf(vm)
	if err != nil {
		return "", "", err
	}
	return execIn(ctx, ref, vm.Name, stdin, argv...)
}

// initOf finds the VM's PID 1 from the pid file next to its root, so that
// a VM restarted by a later Up is still found.
func initOf(vm VM) (procRef, error) {
	ref := procRef{PID: vm.PID}
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(vm.RootDir), "init.pid")); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			ref.PID, _ = strconv.Atoi(f[0])
			ref.Start, _ = strconv.ParseUint(f[1], 10, 64)
		}
	} else if vm.PID > 0 {
		ref = refOf(vm.PID)
	}
	if !ref.alive() {
		return ref, fmt.Errorf("vmlab: %s: VM is not running", vm.Name)
	}
	return ref, nil
}

func execIn(ctx context.Context, ref procRef, name string, stdin io.Reader, argv ...string) (string, string, error) {
	if len(argv) == 0 {
		return "", "", fmt.Errorf("vmlab: %s: exec: no command", name)
	}
	args := append([]string{"-t", strconv.Itoa(ref.PID), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = vmEnv
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return out.String(), errb.String(), fmt.Errorf("vmlab: %s: %s: %w: %s", name, strings.Join(argv, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), errb.String(), nil
}

func loadVM(dir, name string) (VM, *State, error) {
	st, err := Load(dir)
	if err != nil {
		return VM{}, nil, err
	}
	vm, ok := st.VM(name)
	if !ok {
		return VM{}, nil, fmt.Errorf("vmlab: no VM %q in %s", name, dir)
	}
	return vm, st, nil
}

// StopSSHD stops sshd in a VM (systemctl stop ssh: existing sessions
// survive, as on Debian) and waits until new connections are refused.
func StopSSHD(ctx context.Context, dir, name string) error {
	vm, _, err := loadVM(dir, name)
	if err != nil {
		return err
	}
	if _, _, err := Exec(ctx, vm, "systemctl", "stop", "ssh"); err != nil {
		return err
	}
	for sshReady(vm.Address) {
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// StartSSHD starts sshd in a VM again and waits until it answers.
func StartSSHD(ctx context.Context, dir, name string) error {
	vm, _, err := loadVM(dir, name)
	if err != nil {
		return err
	}
	if _, _, err := Exec(ctx, vm, "systemctl", "start", "ssh"); err != nil {
		return err
	}
	ref, err := initOf(vm)
	if err != nil {
		return err
	}
	return waitVMSSH(ctx, &vmRecord{Name: vm.Name, Address: vm.Address, Dir: filepath.Dir(vm.RootDir), Init: ref}, 30*time.Second)
}
