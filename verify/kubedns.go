package verify

import (
	"strings"
)

// dnsFile is what a dnsmasq kubedns file promises: names answered with an
// address (address=/NAME/ADDR), in file order, and domains forwarded to a
// server (server=/DOMAIN/ADDR).
type dnsFile struct {
	names   []string
	address map[string]string
	servers map[string]string
}

// parseKubedns reads the address= and server= lines of a dnsmasq file;
// other lines, and names that are not host names, are ignored (a name
// resolved on the VM is always one validName accepts).
func parseKubedns(text string) dnsFile {
	f := dnsFile{address: map[string]string{}, servers: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		key, rest, ok := strings.Cut(line, "=")
		if !ok || (key != "address" && key != "server") {
			continue
		}
		parts := strings.Split(rest, "/")
		if len(parts) != 3 || parts[0] != "" || !validName(parts[1]) {
			continue
		}
		name, addr := strings.ToLower(parts[1]), parts[2]
		if key == "server" {
			f.servers[name] = addr
			continue
		}
		if _, dup := f.address[name]; !dup {
			f.names = append(f.names, name)
		}
		f.address[name] = addr
	}
	return f
}

// validName reports whether s is a host name a check may pass to a command
// on a VM: letters, digits, hyphens and dots, not starting with a hyphen.
func validName(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
