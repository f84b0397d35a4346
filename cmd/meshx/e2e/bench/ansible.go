package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/meshx-dev/meshx/lab"
)

// manifestEntry is the part of a meshx manifest entry (see package
// providers/vm) the playbook needs.
type manifestEntry struct {
	Type  string                     `json:"type"`
	Name  string                     `json:"name"`
	Mode  string                     `json:"mode"`
	Owner string                     `json:"owner"`
	Group string                     `json:"group"`
	Line  string                     `json:"line"`
	Keys  map[string]json.RawMessage `json:"keys"`
}

// hostVars is what the playbook checks on one VM.
type hostVars struct {
	Files    []fileVar `json:"meshx_files"`
	EnvLines []lineVar `json:"meshx_env_lines"`
	Lines    []lineVar `json:"meshx_lines"`
	Packages []string  `json:"meshx_packages"`
	Units    []string  `json:"meshx_units"`
}

type fileVar struct {
	Src   string `json:"src"`
	Dest  string `json:"dest"`
	Mode  string `json:"mode"`
	Owner string `json:"owner"`
	Group string `json:"group"`
}

type lineVar struct {
	Path   string `json:"path"`
	Line   string `json:"line"`
	Regexp string `json:"regexp,omitempty"`
}

// playbook checks, with ansible-playbook --check --diff, what meshx
// manages on each VM: the files with their content, mode and owner; each
// managed key of an env file as its KEY=value line; the lines; the
// packages installed; the units enabled and started. One task per kind,
// looping over the host's items, as an Ansible user would write it.
const playbook = `- hosts: all
  gather_facts: false
  tasks:
    - name: files
      ansible.builtin.copy:
        src: "{{ item.src }}"
        dest: "{{ item.dest }}"
        mode: "{{ item.mode }}"
        owner: "{{ item.owner }}"
        group: "{{ item.group }}"
      loop: "{{ meshx_files }}"
    - name: env file keys
      ansible.builtin.lineinfile:
        path: "{{ item.path }}"
        regexp: "{{ item.regexp }}"
        line: "{{ item.line }}"
      loop: "{{ meshx_env_lines }}"
    - name: lines
      ansible.builtin.lineinfile:
        path: "{{ item.path }}"
        line: "{{ item.line }}"
      loop: "{{ meshx_lines }}"
    - name: packages
      ansible.builtin.apt:
        name: "{{ meshx_packages }}"
        state: present
    - name: units
      ansible.builtin.systemd:
        name: "{{ item }}"
        enabled: true
        state: started
      loop: "{{ meshx_units }}"
`

// ansibleConfig is Ansible tuned as its documentation advises for speed:
// no fact gathering, pipelining, SSH connection sharing within a run.
// Connection sharing across runs is off (a fresh control directory per
// run), like meshx and the floor, which connect afresh each time.
const ansibleConfig = `[defaults]
inventory = inventory
gathering = explicit
interpreter_python = /usr/bin/python3
host_key_checking = True
retry_files_enabled = False
deprecation_warnings = False

[ssh_connection]
pipelining = True
`

// writeAnsible writes, in dir, a playbook, inventory and host_vars that
// check on vms what environment env of meshx manages there, as its
// manifests and the VMs' files say after an apply.
func writeAnsible(dir string, l *lab.Lab, env string, vms []string) error {
	if err := os.MkdirAll(filepath.Join(dir, "host_vars"), 0o755); err != nil {
		return err
	}
	var inv strings.Builder
	inv.WriteString("[all]\n")
	for _, name := range vms {
		v := l.VM(name)
		if v == nil {
			return fmt.Errorf("lab has no VM %s", name)
		}
		fmt.Fprintf(&inv, "%s ansible_host=%s ansible_user=%s ansible_ssh_private_key_file=%s ansible_ssh_common_args='-o UserKnownHostsFile=%s -o %s'\n",
			name, v.Address, v.User, l.SSHPrivateKey, l.KnownHosts, kex)
		hv, err := vmVars(dir, v, env)
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(hv, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "host_vars", name+".json"), b, 0o644); err != nil {
			return err
		}
	}
	for name, content := range map[string]string{"inventory": inv.String(), "ansible.cfg": ansibleConfig, "check.yml": playbook} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// vmVars reads VM v's manifest of env and copies its managed files to
// dir/files/<vm>/ as the playbook's sources.
func vmVars(dir string, v *lab.VM, env string) (hostVars, error) {
	hv := hostVars{Files: []fileVar{}, EnvLines: []lineVar{}, Lines: []lineVar{}, Packages: []string{}, Units: []string{}}
	man := filepath.Join(v.RootDir, "var/lib/meshx", env+".json")
	b, err := os.ReadFile(man)
	if err != nil {
		return hv, fmt.Errorf("%s: %w (apply first)", v.Name, err)
	}
	var m struct {
		Entries []manifestEntry `json:"entries"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return hv, fmt.Errorf("%s: %w", man, err)
	}
	for _, e := range m.Entries {
		switch e.Type {
		case "file":
			src := filepath.Join(dir, "files", v.Name, e.Name)
			if err := copyFile(filepath.Join(v.RootDir, e.Name), src); err != nil {
				return hv, fmt.Errorf("%s: %w", v.Name, err)
			}
			hv.Files = append(hv.Files, fileVar{Src: src, Dest: e.Name, Mode: e.Mode, Owner: e.Owner, Group: e.Group})
		case "env":
			lines, err := keyLines(filepath.Join(v.RootDir, e.Name), e.Keys)
			if err != nil {
				return hv, fmt.Errorf("%s: %w", v.Name, err)
			}
			for _, k := range sortedKeys(lines) {
				hv.EnvLines = append(hv.EnvLines, lineVar{Path: e.Name, Line: lines[k], Regexp: "^" + regexp.QuoteMeta(k) + "="})
			}
		case "line":
			hv.Lines = append(hv.Lines, lineVar{Path: e.Name, Line: e.Line})
		case "package":
			hv.Packages = append(hv.Packages, e.Name)
		case "unit":
			hv.Units = append(hv.Units, e.Name)
		}
	}
	return hv, nil
}

// keyLines returns the KEY=value line of each key of an env file.
func keyLines(path string, keys map[string]json.RawMessage) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, _, ok := strings.Cut(sc.Text(), "=")
		if _, managed := keys[k]; ok && managed {
			out[k] = sc.Text()
		}
	}
	if len(out) != len(keys) {
		return nil, fmt.Errorf("%s has %d of its %d managed keys", path, len(out), len(keys))
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// ansibleRecap checks a check-mode run's PLAY RECAP: every host ok, none
// changed, failed or unreachable, so Ansible verified the same converged
// state meshx did.
func ansibleRecap(out []byte, hosts int) error {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	inRecap := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "PLAY RECAP") {
			inRecap = true
			continue
		}
		if !inRecap || !strings.Contains(line, " : ") {
			continue
		}
		n++
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			if c, _ := strconv.Atoi(v); c > 0 && (k == "changed" || k == "failed" || k == "unreachable") {
				return fmt.Errorf("ansible: %s", strings.Join(strings.Fields(line), " "))
			}
		}
	}
	if n != hosts {
		return fmt.Errorf("ansible: recap lists %d hosts, want %d:\n%s", n, hosts, tailOf(string(out), 20))
	}
	return nil
}
