package main

import (
	"os"

	"github.com/meshx-dev/meshx/lab/cmd/meshx-lab/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
