// Package envfile reads and edits env files such as sidecar.env: files a
// POSIX shell sources, of KEY=value lines (optionally prefixed by
// "export "), with # comments. It reads values the way sh would for the
// quoting forms people write, and edits only the assignment lines of the
// keys it is given, keeping every other line as it is.
//
// It is pure text processing: it neither reads files nor runs a shell,
// which the vm provider does. Its fuzz test runs in every test run and
// links nothing but this package.
package envfile
