package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxSubnetIndex is the highest index vmlab accepts.
const maxSubnetIndex = 200

// Each instance gets subnet 10.251.<index>.0/24: .1 is the VM bridge, VMs
// start at .10, and .200-.250 is the LoadBalancer pool, split between the
// instance's clusters, so every LB address is inside the instance's own lab
// network and nothing ever points outside it.
var vmSupernet = netip.MustParsePrefix("10.251.0.0/16")

const (
	lbPoolFirst = 200
	lbPoolLast  = 250
)

// Subnet returns the /24 of subnet index idx.
func Subnet(idx int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 251, byte(idx), 0}), 24)
}

// lbPool returns cluster i's (of n) share of the pool of subnet s.
func lbPool(s netip.Prefix, i, n int) (first, last netip.Addr) {
	size := (lbPoolLast - lbPoolFirst + 1) / n
	base := s.Masked().Addr().As4()
	lo := lbPoolFirst + i*size
	f, l := base, base
	f[3], l[3] = byte(lo), byte(lo+size-1)
	return netip.AddrFrom4(f), netip.AddrFrom4(l)
}

// registryDir holds one file per allocated subnet index, subnet-<idx>,
// naming the instance directory that owns it. /run is per boot, as the
// namespaces and bridges are.
var registryDir = func() string {
	if os.Geteuid() == 0 {
		return "/run/meshx-lab"
	}
	return filepath.Join(os.TempDir(), "meshx-lab-run-"+strconv.Itoa(os.Getuid()))
}

// subnetFile is the instance's own record of its index; an entry in the
// registry whose instance no longer records the same index is stale.
func subnetFile(dir string) string { return filepath.Join(dir, "subnet-index") }

// allocateSubnet returns the subnet index of the instance in dir, choosing
// the lowest index that no other instance holds and no host interface
// already has an address in.
func allocateSubnet(dir string) (int, error) {
	reg := registryDir()
	unlock, err := lockDir(reg, nil)
	if err != nil {
		return 0, fmt.Errorf("subnet registry %s: %w", reg, err)
	}
	defer unlock()
	held := map[int]bool{}
	for idx := 1; idx <= maxSubnetIndex; idx++ {
		entry := filepath.Join(reg, "subnet-"+strconv.Itoa(idx))
		b, err := os.ReadFile(entry)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		owner := string(b)
		if owner == dir {
			if err := os.WriteFile(subnetFile(dir), []byte(strconv.Itoa(idx)), 0o644); err != nil {
				return 0, err
			}
			return idx, nil
		}
		if mine, err := os.ReadFile(subnetFile(owner)); err != nil || strings.TrimSpace(string(mine)) != strconv.Itoa(idx) {
			os.Remove(entry) // stale: its instance is gone
			continue
		}
		held[idx] = true
	}
	inUse := hostSubnets()
	for idx := 1; idx <= maxSubnetIndex; idx++ {
		if held[idx] || inUse[idx] || vmlabReserved(idx) {
			continue
		}
		if err := os.WriteFile(filepath.Join(reg, "subnet-"+strconv.Itoa(idx)), []byte(dir), 0o644); err != nil {
			return 0, err
		}
		if err := os.WriteFile(subnetFile(dir), []byte(strconv.Itoa(idx)), 0o644); err != nil {
			return 0, err
		}
		return idx, nil
	}
	return 0, fmt.Errorf("all %d lab subnets are in use", maxSubnetIndex)
}

// releaseSubnet drops dir's registry entry, and the registry when empty.
func releaseSubnet(dir string) error {
	reg := registryDir()
	if _, err := os.Stat(reg); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockDir(reg, nil)
	if err != nil {
		return err
	}
	defer unlock()
	ents, err := os.ReadDir(reg)
	if err != nil {
		return err
	}
	left := 0
	for _, e := range ents {
		p := filepath.Join(reg, e.Name())
		if b, err := os.ReadFile(p); err == nil && string(b) == dir && strings.HasPrefix(e.Name(), "subnet-") {
			if err := os.Remove(p); err != nil {
				return err
			}
			continue
		}
		left++
	}
	if left == 0 {
		return os.Remove(reg)
	}
	return nil
}

// hostSubnets returns the indexes whose /24 already has an address on a
// host interface (a bridge of an instance not in the registry, say).
func hostSubnets() map[int]bool {
	used := map[int]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP.To4())
		if ok && vmSupernet.Contains(ip) {
			used[int(ip.As4()[2])] = true
		}
	}
	return used
}

// lockDir takes an exclusive flock on directory dir (creating it), which
// survives the holder only as long as the holder lives. A holder may remove
// the directory; a waiter then finds its lock on a removed directory and
// tries again on the new one. waiting, when not nil, is called once if the
// lock is held by someone else.
func lockDir(dir string, waiting func()) (unlock func(), err error) {
	for {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.Open(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				f.Close()
				return nil, err
			}
			if waiting != nil {
				waiting()
				waiting = nil
			}
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				f.Close()
				return nil, err
			}
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(dir)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return func() { f.Close() }, nil
		}
		f.Close() // removed (and maybe recreated) while we waited
	}
}

// vmlabReserved reports whether a vmlab test holds subnet idx through
// vmlab.ReserveSubnet (an flock on /run/meshx-vmlab/subnet-<idx>.lock) but
// may not have created its bridge yet.
func vmlabReserved(idx int) bool {
	f, err := os.Open(filepath.Join("/run/meshx-vmlab", "subnet-"+strconv.Itoa(idx)+".lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	return false
}
