package vmlab

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SudoUser is the non-root account every VM has, with passwordless sudo.
const SudoUser = "meshx"

// account is the sudo user's identity, chosen once per lab from the host's
// passwd and group files (the VMs' lower layer).
type account struct {
	UID, GID int
}

// pickAccount returns the lowest UID and GID from 1000 that the host does
// not use.
func pickAccount() (account, error) {
	used := func(file string) (map[int]bool, error) {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ids := map[int]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Split(sc.Text(), ":")
			if len(fs) > 2 {
				if n, err := strconv.Atoi(fs[2]); err == nil {
					ids[n] = true
				}
			}
		}
		return ids, sc.Err()
	}
	uids, err := used("/etc/passwd")
	if err != nil {
		return account{}, fmt.Errorf("vmlab: %w", err)
	}
	gids, err := used("/etc/group")
	if err != nil {
		return account{}, fmt.Errorf("vmlab: %w", err)
	}
	a := account{UID: 1000, GID: 1000}
	for uids[a.UID] {
		a.UID++
	}
	for gids[a.GID] {
		a.GID++
	}
	return a, nil
}

// vmFiles is what a VM's upper layer starts with.
type vmFiles struct {
	name, address string
	hostKey       keyPair
	clientKey     string // authorized_keys line
	acct          account
}

// upperWriter writes into an overlay upper directory before it is mounted.
// Parent directories are created with the mode and owner they have on the
// host (the lower layer), so the merged view looks like the host's.
type upperWriter struct {
	upper string
	err   error
}

func (w *upperWriter) parents(vmPath string) {
	if w.err != nil {
		return
	}
	dir := path.Dir(vmPath)
	if dir == "/" {
		return
	}
	if _, err := os.Lstat(w.upper + dir); err == nil {
		return
	}
	w.parents(dir)
	if w.err != nil {
		return
	}
	mode, uid, gid := os.FileMode(0o755), 0, 0
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		st := fi.Sys().(*syscall.Stat_t)
		mode, uid, gid = fi.Mode().Perm()|fi.Mode()&(os.ModeSticky|os.ModeSetgid), int(st.Uid), int(st.Gid)
	}
	w.mkdir(dir, mode, uid, gid)
}

func (w *upperWriter) mkdir(vmPath string, mode os.FileMode, uid, gid int) {
	if w.err != nil {
		return
	}
	p := w.upper + vmPath
	if err := os.Mkdir(p, mode); err != nil && !os.IsExist(err) {
		w.err = err
		return
	}
	if err := os.Chmod(p, mode); err != nil {
		w.err = err
		return
	}
	w.err = os.Lchown(p, uid, gid)
}

func (w *upperWriter) file(vmPath, content string, mode os.FileMode, uid, gid int) {
	w.parents(vmPath)
	if w.err != nil {
		return
	}
	p := w.upper + vmPath
	if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
		_ = os.Remove(p) // a whiteout written earlier
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		w.err = err
		return
	}
	if err := os.Chmod(p, mode); err != nil {
		w.err = err
		return
	}
	w.err = os.Lchown(p, uid, gid)
}

// fileLike writes content with the mode and owner of the host's file.
func (w *upperWriter) fileLike(vmPath, content string) {
	mode, uid, gid := os.FileMode(0o644), 0, 0
	if fi, err := os.Stat(vmPath); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		mode, uid, gid = fi.Mode().Perm(), int(st.Uid), int(st.Gid)
	}
	w.file(vmPath, content, mode, uid, gid)
}

func (w *upperWriter) symlink(vmPath, target string) {
	w.parents(vmPath)
	if w.err != nil {
		return
	}
	_ = os.Remove(w.upper + vmPath)
	w.err = os.Symlink(target, w.upper+vmPath)
}

// opaque creates a directory that hides the host's directory of that name.
func (w *upperWriter) opaque(vmPath string, mode os.FileMode, uid, gid int) {
	w.parents(vmPath)
	w.mkdir(vmPath, mode, uid, gid)
	if w.err != nil {
		return
	}
	w.err = unix.Setxattr(w.upper+vmPath, "trusted.overlay.opaque", []byte("y"), 0)
}

// whiteout hides the host's file of that name.
func (w *upperWriter) whiteout(vmPath string) {
	w.parents(vmPath)
	if w.err != nil {
		return
	}
	w.err = unix.Mknod(w.upper+vmPath, unix.S_IFCHR, 0)
}

// hostFile returns the host's file content ("" if absent).
func hostFile(p string) string {
	b, _ := os.ReadFile(p)
	s := string(b)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// addMember appends user to the member list of group in a group or gshadow
// file's content.
func addMember(content, group, user string, memberField int) string {
	lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	for i, l := range lines {
		f := strings.Split(l, ":")
		if len(f) > memberField && f[0] == group {
			if f[memberField] == "" {
				f[memberField] = user
			} else {
				f[memberField] += "," + user
			}
			lines[i] = strings.Join(f, ":")
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// sshdConfig is every VM's sshd_config: Debian's defaults, the VM's own
// host key only, keys only.
const sshdConfig = `# meshx lab VM: written by the lab (package vmlab).
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
UseDNS no
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`

// prepareUpper writes a new VM's upper layer: identity, network files, keys,
// accounts and the systemctl stand-in.
func prepareUpper(upper string, f vmFiles) error {
	w := &upperWriter{upper: upper}
	w.mkdir("", 0o755, 0, 0)

	// Host secrets and homes stay on the host.
	w.opaque("/root", 0o700, 0, 0)
	w.opaque("/home", 0o755, 0, 0)
	if keys, err := filepath.Glob("/etc/ssh/ssh_host_*"); err == nil {
		for _, k := range keys {
			w.whiteout(k)
		}
	}
	// A new VM has only sshd enabled. The host's own enabled services
	// (dnsmasq, a database, …) would otherwise show as enabled inside the
	// VM while its boot does not start them, and what is enabled must be
	// what starts at boot.
	if links, err := filepath.Glob("/etc/systemd/system/multi-user.target.wants/*"); err == nil {
		for _, l := range links {
			if b := filepath.Base(l); b != "ssh.service" && b != "sshd.service" {
				w.whiteout(l)
			}
		}
	}
	// A container build's policy-rc.d (exit 101) would stop maintainer
	// scripts from starting services; real VMs have none.
	if _, err := os.Lstat("/usr/sbin/policy-rc.d"); err == nil {
		w.whiteout("/usr/sbin/policy-rc.d")
	}

	w.file("/etc/hostname", f.name+"\n", 0o644, 0, 0)
	w.file("/etc/hosts", fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n", f.address, f.name), 0o644, 0, 0)
	// dnsmasq in the VM answers once it runs; until then lookups fail fast.
	w.file("/etc/resolv.conf", "# meshx lab VM: the VM's own dnsmasq\nnameserver 127.0.0.1\n", 0o644, 0, 0)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	w.file("/etc/machine-id", hex.EncodeToString(id)+"\n", 0o444, 0, 0)

	w.file("/etc/ssh/ssh_host_ed25519_key", string(f.hostKey.private), 0o600, 0, 0)
	w.file("/etc/ssh/ssh_host_ed25519_key.pub", f.hostKey.public+"\n", 0o644, 0, 0)
	w.file("/etc/ssh/sshd_config", sshdConfig, 0o644, 0, 0)
	// ssh.service passes $SSHD_OPTS: log to the unit log, not syslog.
	w.file("/etc/default/ssh", "# meshx lab VM: sshd logs to stderr (the unit log)\nSSHD_OPTS=-e\n", 0o644, 0, 0)

	a := f.acct
	u := SudoUser
	passwd := hostFile("/etc/passwd")
	if !strings.Contains("\n"+passwd, "\n"+u+":") {
		w.fileLike("/etc/passwd", passwd+fmt.Sprintf("%s:x:%d:%d:meshx lab user:/home/%s:/bin/bash\n", u, a.UID, a.GID, u))
		w.fileLike("/etc/shadow", hostFile("/etc/shadow")+u+":*:20000:0:99999:7:::\n")
		w.fileLike("/etc/group", addMember(hostFile("/etc/group"), "sudo", u, 3)+fmt.Sprintf("%s:x:%d:\n", u, a.GID))
		w.fileLike("/etc/gshadow", addMember(hostFile("/etc/gshadow"), "sudo", u, 3)+u+":!::\n")
	}
	w.parents("/etc/sudoers.d/x")
	w.file("/etc/sudoers.d/meshx-lab", u+" ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440, 0, 0)

	for _, home := range []struct {
		dir      string
		uid, gid int
	}{{"/root", 0, 0}, {"/home/" + u, a.UID, a.GID}} {
		if home.dir != "/root" {
			w.mkdir(home.dir, 0o755, home.uid, home.gid)
		}
		for _, dot := range []string{".bashrc", ".profile"} {
			w.file(home.dir+"/"+dot, hostFile("/etc/skel/"+dot), 0o644, home.uid, home.gid)
		}
		w.mkdir(home.dir+"/.ssh", 0o700, home.uid, home.gid)
		w.file(home.dir+"/.ssh/authorized_keys", f.clientKey+"\n", 0o600, home.uid, home.gid)
	}

	// systemctl: the service-manager stand-in (bind-mounted at boot).
	w.file(vmBinPath, "", 0o755, 0, 0)
	w.symlink("/usr/bin/systemctl", vmBinPath)
	if w.err != nil {
		return fmt.Errorf("vmlab: %s: prepare root: %w", f.name, w.err)
	}
	return nil
}
