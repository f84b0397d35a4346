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
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
