// Package vmlab is the VM half of the meshx lab: it brings up "VMs" that
// meshx can manage over real SSH, and tears them down again.
//
// Each VM is a real OpenSSH sshd (Debian's openssh-server) in its own
// network namespace, with its own address on a lab-only bridge
// (10.251.<SubnetIndex>.0/24), its own hostname, PID, mount, UTS and IPC
// namespaces, and a private copy-on-write root file system: an overlay whose
// lower layer is the host's root and whose upper layer lives in the lab
// directory, so nothing meshx writes in a VM reaches the host or another VM.
// PID 1 of each VM is a service-manager stand-in (package svcmgr) that
// answers systemctl from the VM's real unit files; it starts sshd from
// Debian's ssh.service at boot, and dnsmasq runs from Debian's
// dnsmasq.service when meshx starts it. /run, /tmp and /dev are private.
//
// The lab also generates an ed25519 client key and a known_hosts file with
// every VM's host key, creates a user "meshx" with passwordless sudo next to
// root, builds a stand-in istio-sidecar .deb in two versions with dpkg-deb,
// and serves them over HTTP from the bridge address.
//
// Up is idempotent and records everything it creates in the lab directory;
// Down removes exactly what is recorded: processes by PID (checked against
// their start time), mounts, veths, network namespaces, the bridge, files.
// Exec runs a command inside a VM through nsenter, for tests.
//
// The VM processes (PID 1 of each VM, the HTTP server) run a copy of the
// executable that called Up, which dispatches on its name in an init
// function (see reexec.go); importing this package is all it takes.
//
// It deliberately does not emulate a machine: there is one kernel, no
// systemd, no cgroups per VM, no outside network (no default route, no NAT,
// no forwarding), and the host's installed packages are the VMs' installed
// packages. It needs root, overlayfs, and the iproute2, util-linux
// (nsenter), openssh-server, dnsmasq and dpkg tools.
package vmlab
