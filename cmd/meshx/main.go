package main

import (
	"os"

	"github.com/meshx-dev/meshx/cmd/meshx/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
