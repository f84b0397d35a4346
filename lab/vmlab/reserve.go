package vmlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// reserveDir holds the subnet reservation locks of labs on this host.
const reserveDir = "/run/meshx-vmlab"

// ReserveSubnet finds a SubnetIndex in [from, to] that no interface uses
// and no other process has reserved, and holds it until release is called
// or the process exits (it is an flock). Tests of different packages run in
// parallel use it to pick distinct subnets; pair it with a prefix derived
// from the index (fmt.Sprintf("t%d", idx)).
func ReserveSubnet(ctx context.Context, from, to int) (idx int, release func(), err error) {
	if err := os.MkdirAll(reserveDir, 0o755); err != nil {
		return 0, nil, fmt.Errorf("vmlab: %w", err)
	}
	for i := max(from, 0); i <= min(to, 200); i++ {
		f, err := os.OpenFile(filepath.Join(reserveDir, fmt.Sprintf("subnet-%d.lock", i)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return 0, nil, fmt.Errorf("vmlab: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		users, err := subnetUsers(ctx, subnet(i), "")
		if err != nil {
			f.Close()
			return 0, nil, fmt.Errorf("vmlab: %w", err)
		}
		if len(users) > 0 {
			f.Close()
			continue
		}
		return i, func() { f.Close() }, nil
	}
	return 0, nil, fmt.Errorf("vmlab: no free lab subnet between 10.251.%d.0/24 and 10.251.%d.0/24", from, to)
}
