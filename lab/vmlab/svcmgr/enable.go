package svcmgr

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// installInfo is a unit's [Install] section.
type installInfo struct {
	WantedBy, RequiredBy, Alias, Also []string
}

func (i installInfo) empty() bool {
	return len(i.WantedBy) == 0 && len(i.RequiredBy) == 0 && len(i.Alias) == 0
}

func install(u *Unit) installInfo {
	fields := func(key string) []string {
		var out []string
		for _, v := range u.Values("Install", key) {
			out = append(out, strings.Fields(v)...)
		}
		return out
	}
	return installInfo{
		WantedBy:   fields("WantedBy"),
		RequiredBy: fields("RequiredBy"),
		Alias:      fields("Alias"),
		Also:       fields("Also"),
	}
}

// enableLinks returns the symlinks in the configuration directory that
// enable u: <target>.wants/<name>, <target>.requires/<name>, and aliases.
func (f fsys) enableLinks(u *Unit) []string {
	var links []string
	ents, err := os.ReadDir(f.p(configDir))
	if err != nil {
		return nil
	}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() && (strings.HasSuffix(n, ".wants") || strings.HasSuffix(n, ".requires")) {
			p := path.Join(configDir, n, u.Name)
			if _, err := os.Lstat(f.p(p)); err == nil {
				links = append(links, p)
			}
		}
	}
	for _, a := range install(u).Alias {
		p := path.Join(configDir, a)
		if fi, err := os.Lstat(f.p(p)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if t, err := f.resolveLinks(p); err == nil && t == u.Path {
				links = append(links, p)
			}
		}
	}
	sort.Strings(links)
	return links
}

// unitFileState is systemd's UnitFileState: enabled, disabled, static,
// indirect, alias or masked; "" for a unit that does not exist.
func (f fsys) unitFileState(u *Unit) string {
	switch {
	case u.Masked:
		return "masked"
	case !u.Found():
		return ""
	case u.Requested != u.Name:
		return "alias"
	}
	inst := install(u)
	if inst.empty() {
		if len(inst.Also) > 0 {
			return "indirect"
		}
		return "static"
	}
	if len(f.enableLinks(u)) > 0 {
		return "enabled"
	}
	return "disabled"
}

var errNoInstall = errors.New("no installation config")

// enable creates the symlinks systemd's enable creates and returns one
// "Created symlink" line per link. errNoInstall means the unit has no
// [Install] section worth acting on.
func (f fsys) enable(u *Unit) ([]string, error) {
	switch {
	case u.Masked:
		return nil, fmt.Errorf("Unit file %s is masked.", u.Name)
	case !u.Found():
		return nil, fmt.Errorf("Unit file %s does not exist.", u.Requested)
	}
	inst := install(u)
	if inst.empty() {
		return nil, errNoInstall
	}
	var msgs []string
	link := func(p string) error {
		if _, err := os.Lstat(f.p(p)); err == nil {
			return nil
		}
		if err := os.MkdirAll(f.p(path.Dir(p)), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(u.Path, f.p(p)); err != nil {
			return err
		}
		msgs = append(msgs, fmt.Sprintf("Created symlink %s → %s.", p, u.Path))
		return nil
	}
	for _, t := range inst.WantedBy {
		if err := link(path.Join(configDir, t+".wants", u.Name)); err != nil {
			return msgs, err
		}
	}
	for _, t := range inst.RequiredBy {
		if err := link(path.Join(configDir, t+".requires", u.Name)); err != nil {
			return msgs, err
		}
	}
	for _, a := range inst.Alias {
		if err := link(path.Join(configDir, a)); err != nil {
			return msgs, err
		}
	}
	return msgs, nil
}

// disable removes every symlink that enables u and returns one "Removed"
// line per link.
func (f fsys) disable(u *Unit) ([]string, error) {
	if !u.Found() || u.Masked {
		return nil, nil
	}
	var msgs []string
	for _, p := range f.enableLinks(u) {
		if err := os.Remove(f.p(p)); err != nil {
			return msgs, err
		}
		msgs = append(msgs, fmt.Sprintf("Removed %q.", p))
	}
	return msgs, nil
}

// mask links /etc/systemd/system/<name> to /dev/null.
func (f fsys) mask(name string) (string, error) {
	p := path.Join(configDir, normalizeName(name))
	if fi, err := os.Lstat(f.p(p)); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return "", fmt.Errorf("File %s already exists.", p)
		}
		if t, _ := os.Readlink(f.p(p)); t == "/dev/null" {
			return "", nil
		}
		if err := os.Remove(f.p(p)); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(f.p(configDir), 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink("/dev/null", f.p(p)); err != nil {
		return "", err
	}
	return fmt.Sprintf("Created symlink %s → /dev/null.", p), nil
}

// unmask removes a mask created by mask.
func (f fsys) unmask(name string) (string, error) {
	p := path.Join(configDir, normalizeName(name))
	if t, err := os.Readlink(f.p(p)); err != nil || t != "/dev/null" {
		return "", nil
	}
	if err := os.Remove(f.p(p)); err != nil {
		return "", err
	}
	return fmt.Sprintf("Removed %q.", p), nil
}
