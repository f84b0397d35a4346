package cli

import "strings"

// The environment variables of meshx's own, besides MESHX_VAR_<name>
// (package config). Commands read the environment from Meta.Env through
// getenv, never from the process, so a test gives each run its own. The
// providers read KUBECONFIG and SSH_AUTH_SOCK as kubectl and ssh do, and
// the variable the CLI names for a key's passphrase.
const (
	// LockTTLEnv sets how long the lock outlives a holder that stopped
	// renewing it (default 30s): for tests and unusual setups.
	LockTTLEnv = "MESHX_LOCK_TTL"
	// RunURLEnv is the URL of the CI run: plan -format=markdown links it
	// at the end of the comment, and the lock's holder record names it.
	RunURLEnv = "MESHX_RUN_URL"
	// SSHPassphraseEnv holds the passphrase of encrypted SSH private keys.
	SSHPassphraseEnv = "MESHX_SSH_PASSPHRASE"
	// noColorEnv turns colour off (no-color.org), as does TERM=dumb.
	noColorEnv = "NO_COLOR"
	// compLineEnv is set by bash and zsh when they ask for completions.
	compLineEnv = "COMP_LINE"
)

// getenv returns the value of an environment variable from m.Env; the
// last assignment wins, as in the process environment.
func (m *Meta) getenv(key string) string {
	for i := len(m.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(m.Env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// runURL is the address of the CI run, from the variables of common CI
// systems: GitHub Actions', else MESHX_RUN_URL, GitLab's CI_JOB_URL or
// Jenkins' BUILD_URL.
func (m *Meta) runURL() string {
	if s, r, id := m.getenv("GITHUB_SERVER_URL"), m.getenv("GITHUB_REPOSITORY"), m.getenv("GITHUB_RUN_ID"); s != "" && r != "" && id != "" {
		return s + "/" + r + "/actions/runs/" + id
	}
	for _, k := range []string{RunURLEnv, "CI_JOB_URL", "BUILD_URL"} {
		if v := m.getenv(k); v != "" {
			return v
		}
	}
	return ""
}
