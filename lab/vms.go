package lab

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/meshx-dev/meshx/lab/vmlab"
)

// VM is one lab VM: an sshd in its own network namespace with its own
// copy-on-write root (see package vmlab).
type VM = vmlab.VM

// Deb is one stand-in istio-sidecar package the lab built and serves.
type Deb = vmlab.Deb

func vmDir(dir string) string { return filepath.Join(dir, "vms") }

// vmPrefix names an instance's bridge, veths and network namespaces. The
// subnet index is unique among running instances, so the prefix is too,
// and short enough for 15-character interface names ("mx200v150").
func vmPrefix(idx int) string { return "mx" + strconv.Itoa(idx) }

func startVMs(ctx context.Context, o Options, idx int) (*vmlab.State, error) {
	return vmlab.Up(ctx, vmlab.Options{Prefix: vmPrefix(idx), Dir: vmDir(o.Dir), Count: o.VMs, SubnetIndex: idx})
}

func stopVMs(ctx context.Context, dir string) error { return vmlab.Down(ctx, vmDir(dir)) }

// loadVMs fills the VM details (root directory, PID 1) from vmlab's own
// record, which follows VM restarts.
func (l *Lab) loadVMs() {
	if st, err := vmlab.Load(vmDir(l.Dir)); err == nil {
		l.VMs = st.VMs
		l.Debs, l.LegacyDebs = st.Debs, st.LegacyDebs
		l.SudoUser = st.SudoUser
	}
}

func (l *Lab) vm(name string) (VM, error) {
	if v := l.VM(name); v != nil {
		return *v, nil
	}
	return VM{}, fmt.Errorf("lab %s has no VM %q", l.Name, name)
}

// VMExec runs argv as root inside the VM called name (all its namespaces,
// its root file system) and returns its output. A failed command's error
// names the VM, the command, its exit status and its stderr.
func (l *Lab) VMExec(ctx context.Context, name string, argv ...string) (stdout, stderr string, err error) {
	vm, err := l.vm(name)
	if err != nil {
		return "", "", err
	}
	return vmlab.Exec(ctx, vm, argv...)
}

// VMExecInput is VMExec with stdin.
func (l *Lab) VMExecInput(ctx context.Context, name string, stdin io.Reader, argv ...string) (stdout, stderr string, err error) {
	vm, err := l.vm(name)
	if err != nil {
		return "", "", err
	}
	return vmlab.ExecInput(ctx, vm, stdin, argv...)
}

// StopSSHD stops sshd in the VM called name and returns once new
// connections are refused (existing sessions survive, as on Debian).
func (l *Lab) StopSSHD(ctx context.Context, name string) error {
	return vmlab.StopSSHD(ctx, vmDir(l.Dir), name)
}

// StartSSHD starts sshd in the VM called name again and waits until it
// answers.
func (l *Lab) StartSSHD(ctx context.Context, name string) error {
	return vmlab.StartSSHD(ctx, vmDir(l.Dir), name)
}

// RebootVM restarts the VM called name on its own disk: every process in
// it ends, and at boot sshd and the units enabled inside the VM start. It
// returns when sshd answers again.
func (l *Lab) RebootVM(ctx context.Context, name string) error {
	return vmlab.Reboot(ctx, vmDir(l.Dir), name)
}
