package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/lab"
)

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on
// Linux).
const clockTick = 10 * time.Millisecond

// vmCPU is the CPU time everything in the VMs has used since they booted,
// read from the host's /proc: for every process in a VM's PID namespace,
// its own user and system time plus that of the children it reaped (a
// process that ended is counted once, in whoever reaped it). The
// difference across a run is what the run cost inside the VMs (sshd, the
// shell and the commands it ran, the service manager), which the client's
// rusage does not show.
func vmCPU(vms []*lab.VM) time.Duration {
	ns := map[string]bool{}
	for _, v := range vms {
		if l, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(v.PID), "ns/pid")); err == nil {
			ns[l] = true
		}
	}
	ents, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if l, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns/pid")); err != nil || !ns[l] {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name: state is the 3rd field of
		// stat, utime, stime, cutime and cstime the 14th to 17th.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		for _, s := range f[11:15] {
			n, _ := strconv.ParseInt(s, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick
}
