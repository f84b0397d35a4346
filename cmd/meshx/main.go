package main

import (
	"os"
	"runtime/debug"

	"github.com/meshx-dev/meshx/cmd/meshx/cli"
)

func main() {
	// cli.Run turns panics into exit status 1, but a fatal runtime error
	// (or a panic in another goroutine) cannot be recovered and would exit
	// with 2, which plan -detailed-exitcode means "changes present".
	// "crash" makes the runtime abort with SIGABRT instead.
	debug.SetTraceback("crash")
	// A plan of 200 VMs and 1000 services keeps about 50 MB live, and the
	// collector's default target (twice that) put its peak resident set
	// at 139–155 MiB; a soft limit makes it collect sooner only when that
	// large (118 MiB, same run time). GOMEMLIMIT, when set, wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(80 << 20)
	}
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
