// Package svcmgr is the lab VMs' stand-in for systemd: a small service
// manager that runs as PID 1 of a lab VM, and the systemctl command that talks
// to it.
//
// It reads real unit files from the usual directories (/etc/systemd/system,
// /run/systemd/system, /lib/systemd/system, ...) with drop-ins, aliases,
// masking and templates, and runs their Exec lines the way systemd does:
// ExecStartPre/ExecStart/ExecStartPost, Type=simple|exec|notify|forking|
// oneshot, PIDFile, Restart= with RestartSec and the start rate limit,
// Environment/EnvironmentFile, User/Group, WorkingDirectory,
// RuntimeDirectory, ExecStop/ExecReload, KillMode and ConditionPathExists.
// enable/disable/mask create and remove the same symlinks systemd does, so
// is-enabled answers from the file system exactly like systemctl.
//
// State is honest: the manager is the parent (or, for forking daemons, the
// reaper) of every service process, so a main process that dies is noticed at
// once and is-active reports "failed" (or "activating" while Restart= is
// pending). Like systemd it keeps the definition of an active unit loaded:
// a unit file changed on disk is used only after daemon-reload, and status
// prints systemd's warning until then.
//
// It deliberately does not do what the lab does not need: no cgroups (a
// unit's processes are its main process, its session and the sessions of
// the commands it ran), no targets, sockets, timers or dependencies between
// units, no journal (each unit's output goes to
// /run/meshx-systemctl/log/<unit>.log, and status shows its tail), no
// sd_notify (Type=notify is treated as simple), and no D-Bus: systemctl
// sends its arguments over a unix socket in /run/meshx-systemctl and prints
// what the manager answers.
package svcmgr
