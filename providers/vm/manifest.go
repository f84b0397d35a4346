package vm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// manifestFormat is the version of the manifest layout.
const manifestFormat = 1

// manifest is what one environment manages on one VM, kept as
// /var/lib/meshx/<environment>.json (root only, 0600).
//
// It is JSON with one entry per line, each starting with its type, key and
// name, so the observe script can list entries with sed without a JSON
// parser (keys and names never hold a double quote, a backslash or a
// control character: validation refuses them).
type manifest struct {
	Format      int      `json:"format"`
	Environment string   `json:"environment"`
	VM          string   `json:"vm"`
	Entries     []*entry `json:"entries"`
}

// entry is one managed instance. Fields are used by the kinds noted.
type entry struct {
	// Type is the address type (file, env, line, package, unit) and Key
	// the address key; Name is the object on the VM (a path, a dpkg
	// package or a unit name).
	Type string `json:"type"`
	Key  string `json:"key"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Preexisting records that the object existed before meshx first
	// applied it (for a unit: was already enabled), so a delete leaves it.
	Preexisting bool `json:"preexisting,omitempty"`

	// Files: what meshx last wrote.
	SHA256    string `json:"sha256,omitempty"`
	Mode      string `json:"mode,omitempty"`
	Owner     string `json:"owner,omitempty"`
	Group     string `json:"group,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`

	// Env files: the managed keys.
	Keys map[string]envRecord `json:"keys,omitempty"`

	// Lines: the line, and whether meshx created the file for it.
	Line        string `json:"line,omitempty"`
	CreatedFile bool   `json:"created_file,omitempty"`

	// Packages: the version installed and, for a .deb, its sha256 (SHA256
	// above) and source.
	Version string `json:"version,omitempty"`
	Source  string `json:"source,omitempty"`

	// Units: whether the unit was active before meshx first started it.
	WasActive bool `json:"was_active,omitempty"`
}

// hasSensitiveKey reports whether e (which may be nil) records a
// sensitive env-file key.
func (e *entry) hasSensitiveKey() bool {
	if e == nil {
		return false
	}
	for _, rec := range e.Keys {
		if rec.Sensitive {
			return true
		}
	}
	return false
}

// envRecord is one managed key of an env file.
type envRecord struct {
	// Value is what meshx last set, or its providers.Fingerprint when
	// Sensitive: the manifest never holds a secret.
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
	// Prior is the value the key had before meshx first set it; nil when
	// meshx added the key.
	Prior *string `json:"prior,omitempty"`
}

func parseManifest(b []byte, env string) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON (%v); fix or remove it", err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("manifest has format %d, this meshx reads format %d", m.Format, manifestFormat)
	}
	if m.Environment != env {
		return nil, fmt.Errorf("manifest names environment %q, not %q", m.Environment, env)
	}
	seen := map[[2]string]bool{}
	for _, e := range m.Entries {
		if e == nil || kindOfType[e.Type] == "" {
			return nil, fmt.Errorf("manifest has an entry of unknown type")
		}
		if seen[[2]string{e.Type, e.Key}] {
			return nil, fmt.Errorf("manifest lists %s %q twice", e.Type, e.Key)
		}
		seen[[2]string{e.Type, e.Key}] = true
	}
	return &m, nil
}

// marshal writes the manifest with one entry per line, sorted.
func (m *manifest) marshal() ([]byte, error) {
	sort.Slice(m.Entries, func(i, j int) bool {
		a, b := m.Entries[i], m.Entries[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Key < b.Key
	})
	var buf bytes.Buffer
	envJSON, _ := json.Marshal(m.Environment)
	vmJSON, _ := json.Marshal(m.VM)
	fmt.Fprintf(&buf, "{\"format\":%d,\"environment\":%s,\"vm\":%s,\"entries\":[\n", manifestFormat, envJSON, vmJSON)
	for i, e := range m.Entries {
		var line bytes.Buffer
		enc := json.NewEncoder(&line)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
		buf.Write(bytes.TrimRight(line.Bytes(), "\n"))
		if i < len(m.Entries)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

func (m *manifest) find(typ, key string) *entry {
	for _, e := range m.Entries {
		if e.Type == typ && e.Key == key {
			return e
		}
	}
	return nil
}

func (m *manifest) remove(typ, key string) {
	out := m.Entries[:0]
	for _, e := range m.Entries {
		if e.Type != typ || e.Key != key {
			out = append(out, e)
		}
	}
	m.Entries = out
}

// clone returns a deep copy, so a failed write leaves the cached manifest
// as it was.
func (m *manifest) clone() *manifest {
	c := *m
	c.Entries = make([]*entry, len(m.Entries))
	for i, e := range m.Entries {
		ec := *e
		if e.Keys != nil {
			ec.Keys = make(map[string]envRecord, len(e.Keys))
			for k, v := range e.Keys {
				ec.Keys[k] = v
			}
		}
		c.Entries[i] = &ec
	}
	return &c
}

// manifestPath is where env's manifest lives on this VM.
func (p *Provider) manifestPath(env string) string { return p.stateDir + "/" + env + ".json" }
