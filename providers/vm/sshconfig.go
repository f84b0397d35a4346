package vm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// sshSettings is what an OpenSSH client configuration says about one host
// alias: the subset meshx honours.
type sshSettings struct {
	HostName      string
	Port          int
	User          string
	IdentityFiles []string
	KnownHosts    string   // the first UserKnownHostsFile
	ProxyJump     []string // hops, "[user@]host[:port]" each, in order
}

// readSSHConfig reads what file says about alias. A missing file says
// nothing. Tokens %h (the alias or HostName), %p, %r and %% are expanded,
// as ssh does in HostName, IdentityFile and UserKnownHostsFile.
func readSSHConfig(file, alias string) (sshSettings, error) {
	var s sshSettings
	if file == "" {
		return s, nil
	}
	f, err := os.Open(expandHome(file))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return s, fmt.Errorf("ssh config %s: %w", file, err)
	}
	get := func(key string) string {
		v, _ := cfg.Get(alias, key)
		return strings.TrimSpace(v)
	}
	s.HostName = get("HostName")
	if p := get("Port"); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port <= 0 || s.Port > 65535 {
			return s, fmt.Errorf("ssh config %s: Port %q of Host %s is not a port", file, p, alias)
		}
	}
	s.User = get("User")
	host := alias
	if s.HostName != "" {
		s.HostName = expandTokens(s.HostName, alias, s.Port, s.User)
		host = s.HostName
	}
	ids, _ := cfg.GetAll(alias, "IdentityFile")
	for _, id := range ids {
		s.IdentityFiles = append(s.IdentityFiles, expandHome(expandTokens(strings.TrimSpace(id), host, s.Port, s.User)))
	}
	if kh := strings.Fields(get("UserKnownHostsFile")); len(kh) > 0 && kh[0] != "none" {
		s.KnownHosts = expandHome(expandTokens(kh[0], host, s.Port, s.User))
	}
	if j := get("ProxyJump"); j != "" && j != "none" {
		for _, hop := range strings.Split(j, ",") {
			s.ProxyJump = append(s.ProxyJump, strings.TrimSpace(hop))
		}
	}
	return s, nil
}

// expandTokens expands ssh_config's %h, %p, %r and %%.
func expandTokens(v, host string, port int, user string) string {
	if port == 0 {
		port = 22
	}
	r := strings.NewReplacer("%%", "%", "%h", host, "%p", strconv.Itoa(port), "%r", user)
	return r.Replace(v)
}

// hop is one jump host of a chain.
type hop struct{ user, addr string }

// resolveJumps turns ProxyJump entries into addresses: each entry's host
// may itself be an alias of the ssh configuration (its HostName, Port and
// User apply, as ssh applies them).
func resolveJumps(file string, jumps []string, defaultUser string) ([]hop, error) {
	var out []hop
	for _, j := range jumps {
		user, host, port := "", j, ""
		if i := strings.LastIndex(host, "@"); i >= 0 {
			user, host = host[:i], host[i+1:]
		}
		if h, p, err := net.SplitHostPort(host); err == nil {
			host, port = h, p
		}
		st, err := readSSHConfig(file, host)
		if err != nil {
			return nil, err
		}
		if st.HostName != "" {
			host = st.HostName
		}
		if port == "" && st.Port != 0 {
			port = strconv.Itoa(st.Port)
		}
		if user == "" {
			user = st.User
		}
		if user == "" {
			user = defaultUser
		}
		hu, addr, err := parseBastion(user+"@"+net.JoinHostPort(host, portOr22(port)), defaultUser)
		if err != nil {
			return nil, fmt.Errorf("jump host %q: %w", j, err)
		}
		out = append(out, hop{hu, addr})
	}
	return out, nil
}

func portOr22(p string) string {
	if p == "" {
		return "22"
	}
	return p
}

// defaultIdentities are the key files ssh tries when nothing names one.
var defaultIdentities = []string{"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk"}
