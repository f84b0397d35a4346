package lab

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meshx-dev/meshx/lab/kubelab"
)

// controllerEnv, when set, makes any binary that imports lab run the lab
// controller of the cluster directory it names instead of its own main.
// Up starts controllers this way so that test binaries, meshx-lab and
// anything else that calls Up need no separate controller binary.
const controllerEnv = "MESHX_LAB_CONTROLLER"

func init() {
	if dir := os.Getenv(controllerEnv); dir != "" {
		os.Exit(RunController(dir))
	}
}

// RunController runs the lab controller of the cluster in dir until
// SIGTERM or SIGINT and returns the process exit code.
func RunController(dir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := kubelab.RunController(ctx, dir, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "lab controller: %v\n", err)
		return 1
	}
	return 0
}

// controllerCommand returns the argv and environment that run the lab
// controller for cluster directory dir.
func controllerCommand(dir string) ([]string, []string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	return []string{exe, "lab-controller", dir}, []string{controllerEnv + "=" + dir}, nil
}
