package vmlab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountsUnder lists the mount points in the host's mount namespace at or
// below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountinfo(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unescapeMountinfo undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isMountPoint(p string) bool {
	ms, err := mountsUnder(p)
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m == p {
			return true
		}
	}
	return false
}

// unmountAll unmounts every mount at or below dir (lazily if busy).
func unmountAll(dir string) error {
	ms, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range ms {
		if err := unix.Unmount(m, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("umount %s: %w", m, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountOverlay mounts the VM's root: the host's root under the VM's own
// upper layer.
func mountOverlay(upper, work, root string) error {
	opts := fmt.Sprintf("lowerdir=/,upperdir=%s,workdir=%s", upper, work)
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay on %s: %w", root, err)
	}
	return nil
}

// diskFor returns where VMs' upper layers go: "" for Dir itself, or a
// tmpfs mounted at Dir/disk when Dir is on overlayfs (a container's root),
// which cannot hold an overlay's upper layer.
func diskFor(dir string) (string, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return "", fmt.Errorf("vmlab: %w", err)
	}
	if fs.Type != unix.OVERLAYFS_SUPER_MAGIC {
		return "", nil
	}
	disk := filepath.Join(dir, "disk")
	if err := os.MkdirAll(disk, 0o755); err != nil {
		return "", fmt.Errorf("vmlab: %w", err)
	}
	if !isMountPoint(disk) {
		if err := unix.Mount("tmpfs", disk, "tmpfs", 0, "mode=755"); err != nil {
			return "", fmt.Errorf("vmlab: %s is on overlayfs, and mounting a tmpfs for the VMs' disks failed: %w", dir, err)
		}
	}
	return disk, nil
}
