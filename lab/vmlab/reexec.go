package vmlab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/meshx-dev/meshx/lab/vmlab/systemctl"
)

// selfName is the name of the copy of the running executable that the lab
// runs as PID 1 of each VM and as the HTTP server, and that VMs run as
// systemctl.
const selfName = systemctl.Executable

// The copy dispatches on the name it is run as, before anything else of the
// program runs: any program that imports vmlab (the meshx-lab CLI, test
// binaries) can therefore bring VMs up. The copy never runs the program's
// own main: in a VM it is reached under every name Debian links to
// systemctl (runlevel, reboot, ...), and a test binary must not run its
// tests there. systemctl itself never gets here: package systemctl answers
// it from its own init, earlier.
func init() {
	exe, err := os.Executable()
	if err != nil || filepath.Base(exe) != selfName {
		if filepath.Base(os.Args[0]) != selfName {
			return
		}
	}
	os.Exit(dispatch(filepath.Base(os.Args[0]), os.Args[1:]))
}

func dispatch(name string, args []string) int {
	switch name {
	case selfName:
		return selfMain(args)
	case "runlevel":
		fmt.Println("N 3") // multi-user.target
		return 0
	case "halt", "poweroff", "reboot", "shutdown", "telinit", "init":
		fmt.Fprintf(os.Stderr, "%s: not available in a meshx lab VM (the lab reboots VMs: vmlab.Reboot)\n", name)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: %s is the meshx lab's %s and does not implement %q\n", name, selfName, "systemctl", name)
	return 1
}

func selfMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, "usage: %s init CONFIG | serve-http DIR ADDR\n", selfName)
		return 2
	}
	switch args[0] {
	case "init":
		if len(args) != 2 {
			break
		}
		if err := vmInit(args[1]); err != nil {
			fmt.Fprintf(os.Stderr, "%s init: %v\n", selfName, err)
			return 1
		}
		return 0
	case "serve-http":
		if len(args) != 3 {
			break
		}
		if err := ServeDebs(args[1], args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "%s serve-http: %v\n", selfName, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "%s: bad arguments %q\n", selfName, args)
	return 2
}

// installSelf copies the running executable to dir/meshx-vmlab. The copy is
// replaced by rename, so VMs still running an older copy keep theirs.
func installSelf(dir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("vmlab: find own executable: %w", err)
	}
	dst := filepath.Join(dir, selfName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("vmlab: %w", err)
	}
	in, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("vmlab: copy %s: %w", exe, err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, "."+selfName+"-*")
	if err != nil {
		return "", fmt.Errorf("vmlab: %w", err)
	}
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("vmlab: copy %s to %s: %w", exe, dst, err)
	}
	return dst, nil
}
