// Package debfile holds what config and the VM provider both know of a
// Debian package file: it is an ar archive, and starts with that
// archive's magic. config checks that a package path names one before
// anything is touched; providers/vm reads the package's control fields.
// It does not read the archive's members.
package debfile
