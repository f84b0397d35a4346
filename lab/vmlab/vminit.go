package vmlab

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/meshx-dev/meshx/lab/internal/proc"
	"github.com/meshx-dev/meshx/lab/vmlab/svcmgr"
)

// initConfig tells PID 1 of a VM what to set up.
type initConfig struct {
	Name    string   `json:"name"`
	RootDir string   `json:"root_dir"` // merged overlay root (host path), already mounted
	HideDir string   `json:"hide_dir"` // the lab directory, hidden inside the VM
	Bin     string   `json:"bin"`      // this executable (host path)
	Boot    []string `json:"boot"`     // units started at boot
}

// vmBinPath is where the lab's executable appears inside a VM;
// /usr/bin/systemctl links to it.
const vmBinPath = "/usr/lib/meshx-lab/" + selfName

// vmInit runs as PID 1 of a VM, in fresh PID, mount, UTS and IPC namespaces
// and inside the VM's network namespace (`ip netns exec`). It makes the
// overlay the root, mounts private /proc, /sys, /dev, /run and /tmp, sets
// the hostname and becomes the VM's service manager. It never returns
// unless setup fails.
func vmInit(cfgPath string) error {
	var c initConfig
	if err := proc.ReadJSON(cfgPath, &c); err != nil {
		return err
	}
	logger := log.New(os.Stderr, c.Name+": ", log.LstdFlags|log.Lmicroseconds)
	if err := setupRoot(c); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(c.Name)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	os.Clearenv()
	os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	os.Setenv("LANG", "C.UTF-8")
	// PID 1 gets only the signals it handles; SIGKILL from the host (Down)
	// ends the VM, and with it every process in it. Catch (not ignore) the
	// rest: an ignored signal would stay ignored in every service started.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for s := range sigs {
			logger.Printf("ignoring %v", s)
		}
	}()
	m, err := svcmgr.New(svcmgr.Config{Root: "/", Hostname: c.Name, Logf: logger.Printf})
	if err != nil {
		return err
	}
	ctx := context.Background()
	go m.Run(ctx)
	l, err := m.Listen()
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- m.Serve(ctx, l) }()
	m.Boot(c.Boot...)
	logger.Printf("up")
	return <-errc
}

// setupRoot builds the VM's mount namespace and pivots into the overlay.
func setupRoot(c initConfig) error {
	r := c.RootDir
	mounts := []struct {
		src, dst, fstype string
		flags            uintptr
		data             string
	}{
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"sysfs", "/sys", "sysfs", unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"tmpfs", "/dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k"},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=755,size=262144k"},
		{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777,size=1048576k"},
	}
	// Nothing mounted from here on may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	for _, mt := range mounts {
		if err := os.MkdirAll(r+mt.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(mt.src, r+mt.dst, mt.fstype, mt.flags, mt.data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", mt.fstype, mt.dst, err)
		}
	}
	if err := setupDev(r + "/dev"); err != nil {
		return err
	}
	for _, d := range []struct {
		p    string
		mode os.FileMode
	}{{"/run/lock", 0o1777}, {"/run/systemd/system", 0o755}, {"/run/meshx-systemctl", 0o755}} {
		if err := os.MkdirAll(r+d.p, d.mode); err != nil {
			return err
		}
		if err := os.Chmod(r+d.p, d.mode); err != nil {
			return err
		}
	}
	// The lab's executable, for systemctl.
	if err := unix.Mount(c.Bin, r+vmBinPath, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", vmBinPath, err)
	}
	if err := unix.Mount("", r+vmBinPath, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", vmBinPath, err)
	}
	// The lab directory is in the overlay's lower layer when it is on the
	// root file system; hide it (other VMs' upper layers, keys).
	if fi, err := os.Stat(r + c.HideDir); err == nil && fi.IsDir() {
		if err := unix.Mount("tmpfs", r+c.HideDir, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "mode=755,size=4k"); err != nil {
			return fmt.Errorf("hide %s: %w", c.HideDir, err)
		}
	}
	if err := os.Chdir(r); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	// The old root now sits on top of the new one; detach it and every
	// host mount with it.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return os.Chdir("/")
}

// setupDev populates a fresh /dev the way container runtimes do.
func setupDev(dev string) error {
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		if err := unix.Mknod(filepath.Join(dev, d.name), unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod /dev/%s: %w", d.name, err)
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("devpts", filepath.Join(dev, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return fmt.Errorf("mount devpts: %w", err)
	}
	if err := unix.Mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	for name, target := range map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "core": "/proc/kcore",
	} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	return nil
}
