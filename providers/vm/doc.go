// Package vm observes and changes what meshx manages on one virtual machine
// over SSH (golang.org/x/crypto/ssh): whole files, keys merged into env
// files, single lines, Debian packages and service units.
//
// The planner decides WHAT each VM needs and builds it with the functions
// File, Token, EnvFile, Line, Package and Unit; a Provider (one per VM, from
// New) implements providers.Provider: Observe reads every requested
// instance in one remote command, Apply carries out one change, Close
// hangs up.
//
// Each kind is one type in a file of its own (file.go with token.go,
// env_file.go, line.go, package.go, unit.go) that its builder attaches to
// Resource.Private: it says what Observe reads for it, builds its Observed
// from what was read and its manifest entry, and applies itself (the
// instance interface in resources.go). A VM file's diff is computed in
// one place, fileSpec.observed (file.go). Observe, the manifest and
// deletions, which undo what a manifest entry records, are shared
// (observe.go, manifest.go, apply.go).
//
// What the package guarantees:
//
//   - Host keys are checked against known_hosts; an unknown or changed key
//     stops that VM with its fingerprint and how to trust it. Trust on first
//     use happens only when Host.TrustOnFirstUse is set, and never for a
//     changed key.
//   - One SSH connection per VM, opened on first use and reused. Connecting
//     is retried with backoff on refused or reset connections only (never
//     on authentication or host-key failures, nor on a host that does not
//     answer within Host.ConnectTimeout: another attempt would wait as
//     long).
//   - Observe costs one SSH session: a POSIX sh script reads hashes, modes,
//     owners, package versions, unit states and the manifest at once (one
//     perl and one sha256sum for all files, one dpkg-query for all
//     packages). Provider.Stats counts connections and sessions.
//   - An idle connection is kept alive and redialled when it stopped
//     answering; a command is never retried once it started.
//   - Nothing is interpolated into a shell unquoted. Paths, unit, package,
//     user and key names are validated (no control characters, no double
//     quotes or backslashes in paths) and every argument is single-quoted.
//     Secret bytes travel only on a session's stdin, never in a command line.
//   - Files are written atomically: a new temp file in the same directory,
//     its sha256 checked against what was sent (a cut connection leaves a
//     short file, which is discarded), fsync, fchown, fchmod, rename.
//   - No symbolic link is followed in a directory another user can write
//     (istio-proxy owns /var/lib/istio/envoy): files are reached one
//     verified directory at a time, opened with O_NOFOLLOW and read only
//     when fstat says regular; owner and mode are set on the open temp
//     file. A link meshx would read, write or replace is refused (see
//     fsPerl in scripts_fs.go).
//   - Manifest entries read back from a VM are validated like
//     configuration values before any reaches a script.
//   - The bytes of a sensitive file are never read back: Observe returns its
//     plans.Fingerprint, and its outputs, precondition details and
//     error messages carry only that fingerprint, never the full sha256. A
//     non-sensitive file's text comes back (up to 64 KiB of UTF-8) so a
//     plan can show a diff; larger or binary files come back as a
//     fingerprint and their desired content is carried as
//     plans.Sensitive so both compare by fingerprint.
//   - After installing a .deb, systemctl daemon-reload runs (the sidecar
//     package ships unit files without reloading them); units are enabled
//     unless is-enabled already says enabled, static, alias, indirect or
//     generated.
//
// The manifest /var/lib/meshx/<environment>.json (root only, 0600) records
// every instance an environment manages, with what meshx last applied and
// what was there before it. It gives Observed.Owned, Observed.Drift, the
// orphans to delete, and lets a delete undo exactly what meshx did:
//
//   - a file meshx created is removed; a file that existed before meshx
//     first wrote it ("preexisting") is left in place with its current
//     content, only forgotten;
//   - env-file keys meshx added are removed, keys it overwrote get their
//     previous value back; other keys and comments are never touched;
//   - a line meshx appended is removed; a line that was already there stays;
//   - a package meshx installed is purged (dpkg -P: its configuration files
//     go too, as they came with it); one that was installed
//     before is never removed;
//   - a unit meshx enabled is disabled, one it started is stopped.
//
// What it does not do: decide which instances a VM needs, render file
// contents (package istio does), order changes, or run anything
// but the fixed scripts in this package plus Exec's quoted argv. It assumes
// a Debian-like VM with a POSIX sh, GNU coreutils, perl-base (Essential on
// Debian and Ubuntu), dpkg and systemctl; as a non-root user it needs
// passwordless sudo (Host.Sudo).
package vm
