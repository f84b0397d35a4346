// Package shellquote writes strings as POSIX shell words, for the scripts
// the VM provider runs and the env files (cluster.env, sidecar.env) that
// the sidecar's start script sources. It does not parse shell.
package shellquote
