// Package vmlab is the VM half of the meshx lab: it brings up "VMs" that
// meshx manages over real SSH, and tears them down again.
//
// Each VM is a real OpenSSH sshd (Debian's openssh-server) in its own
// network namespace, with its own address on a lab-only bridge
// (10.251.<SubnetIndex>.0/24: the bridge is .1, VMs .10 up, .200–.250 are
// left to the cluster LB controller), its own hostname, PID, mount, UTS and
// IPC namespaces, and a private copy-on-write root file system: an overlay
// whose lower layer is the host's root and whose upper layer lives in the
// lab directory (on a tmpfs there when that directory is itself on
// overlayfs). Nothing meshx writes in a VM reaches the host or another VM.
// /run, /tmp and /dev are private; the host's SSH host keys, /root, /home
// and the lab directory are hidden.
//
// PID 1 of each VM is a service-manager stand-in (package svcmgr) that
// answers systemctl from the VM's real unit files. It boots sshd from
// Debian's own ssh.service (plus units enabled inside the VM, after a
// Reboot). dnsmasq runs from Debian's unmodified dnsmasq.service when
// something starts it; the VM's resolv.conf says nameserver 127.0.0.1, so
// `host istio-pilot.istio-system` asks it. There is no upstream resolver:
// queries dnsmasq cannot answer from its configuration get REFUSED (on a
// real VM, the upstream's NXDOMAIN), so plain `host` prints the A record
// and exits 1 for the AAAA and MX lookups it also makes.
//
// The lab also generates an ed25519 client key and a known_hosts file with
// every VM's host key, creates a user "meshx" with passwordless sudo next to
// root (sudo itself comes from the host's packages), builds a stand-in
// istio-sidecar .deb in two versions (DebVersions) with dpkg-deb, and serves
// them over HTTP on the bridge address, port DebPort.
//
// Up is idempotent and records everything it creates in the lab directory
// (lab.json) before creating it; Down removes exactly what is recorded:
// processes by PID (checked against their start time; killing a VM's PID 1
// ends every process in it), mounts, veths, network namespaces, the bridge,
// and the directory. Exec runs a command inside a VM through nsenter, for
// tests; Reboot restarts a VM on its disk; StopSSHD and StartSSHD make a VM
// unreachable and reachable again. ReserveSubnet lets parallel test
// packages pick distinct subnets.
//
// The VM processes (PID 1 of each VM, the HTTP server) run a copy of the
// executable that called Up, which dispatches on its name in an init
// function (reexec.go): importing this package is all it takes. Inside a
// VM that copy is /usr/bin/systemctl and answers the other names Debian
// links to systemctl (runlevel; reboot and friends refuse).
//
// Each VM's merged root is mounted on the host at VM.RootDir, so tests can
// inspect it; tools that walk the lab directory recursively (grep -r, find)
// see the host's root file system there.
//
// It deliberately does not emulate a machine: there is one kernel, no
// systemd, no cgroups per VM, no outside network (no default route, no NAT,
// no forwarding), and the host's installed packages are the VMs' installed
// packages. It needs root, overlayfs, and the iproute2, util-linux
// (nsenter), openssh-server, dnsmasq and dpkg tools.
package vmlab
