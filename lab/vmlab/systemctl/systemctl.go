// Package systemctl is the systemctl command of the lab's VMs: it sends its
// arguments to the VM's service manager (package svcmgr) over a unix socket
// and prints the answer.
//
// Inside a VM, systemctl is a link to the lab's copy of the executable that
// brought the VMs up (package vmlab), usually a test binary with most of
// meshx and client-go in it. meshx runs systemctl on every plan, so the
// stand-in must cost what real systemctl costs (a few milliseconds), and a
// Go program's start-up is its package initialisation: this package answers
// from its own init, and imports only the standard library (no net: a raw
// socket), so Go's initialisation order (packages sorted by import path,
// each after its imports) reaches it before the bulk of the program's
// packages.
package systemctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Executable is the name of the lab's copy of the executable that VMs run
// as systemctl (and as PID 1).
const Executable = "meshx-vmlab"

// RunDir holds the manager's socket (Socket) and the unit logs inside a VM.
const RunDir = "/run/meshx-systemctl"

// Socket is where the manager listens, under its run directory.
const Socket = "manager.sock"

// Request is what systemctl sends to the manager: its arguments.
type Request struct {
	Args []string `json:"args"`
}

// Response is what a systemctl invocation prints and exits with.
type Response struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
}

func init() {
	if filepath.Base(os.Args[0]) != "systemctl" {
		return
	}
	if exe, err := os.Executable(); err != nil || filepath.Base(exe) != Executable {
		return
	}
	os.Exit(Run(filepath.Join(RunDir, Socket), os.Args[1:], os.Stdout, os.Stderr))
}

// Run is the systemctl command: it sends args to the manager listening on
// socket and prints the answer. It returns the exit code.
func Run(socket string, args []string, stdout, stderr io.Writer) int {
	c, err := dial(socket)
	if err != nil {
		fmt.Fprintln(stderr, "System has not been booted with systemd as init system (PID 1). Can't operate.")
		fmt.Fprintln(stderr, "Failed to connect to bus: Host is down")
		return 1
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(Request{Args: args}); err != nil {
		fmt.Fprintf(stderr, "Failed to connect to bus: %v\n", err)
		return 1
	}
	var res Response
	if err := json.NewDecoder(c).Decode(&res); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("connection closed by the service manager")
		}
		fmt.Fprintf(stderr, "Failed to read the service manager's answer: %v\n", err)
		return 1
	}
	io.WriteString(stdout, res.Stdout)
	io.WriteString(stderr, res.Stderr)
	return res.Code
}

// dial connects to a unix stream socket with plain system calls (package
// net would initialise much of the program before this package).
func dial(socket string) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket})
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), socket), nil
}
