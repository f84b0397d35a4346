package vm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/meshx-dev/meshx/providers/vm/envfile"
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
	// WasEmpty records, for a preexisting file, that it was empty: a
	// placeholder, which a delete empties again rather than leaving
	// meshx's content in it.
	WasEmpty bool `json:"was_empty,omitempty"`

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
	// Value is what meshx last set, or its plans.Fingerprint when
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
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("manifest entry %s %q: %w; meshx will not act on it: fix or remove the entry", e.Type, e.Key, err)
		}
		if seen[[2]string{e.Type, e.Key}] {
			return nil, fmt.Errorf("manifest lists %s %q twice", e.Type, e.Key)
		}
		seen[[2]string{e.Type, e.Key}] = true
	}
	return &m, nil
}

var (
	// octalModeRE is how the manifest records a file mode.
	octalModeRE = regexp.MustCompile(`^0[0-7]{3,4}$`)
	// debVersionRE is Debian policy §5.6.12's alphabet.
	debVersionRE = regexp.MustCompile(`^[A-Za-z0-9.+~:-]*$`)
)

// validate checks an entry read back from a VM with the rules that
// configuration values pass before meshx first wrote them, so that a
// manifest edited on the VM (or written by a meshx with other rules)
// never sends an unchecked name to a script.
func (e *entry) validate() error {
	if e.Key == "" || checkText(e.Key, false) != nil || strings.ContainsAny(e.Key, `"\`) {
		return errors.New("the key must be non-empty text without control characters, double quotes or backslashes")
	}
	if e.Kind != kindOfType[e.Type] {
		return fmt.Errorf("kind %q is not %s", e.Kind, kindOfType[e.Type])
	}
	var errs []error
	switch e.Type {
	case TypeFile, TypeEnv, TypeLine:
		errs = append(errs, validatePath(e.Name))
	case TypePackage:
		errs = append(errs, validatePackage(e.Name))
	case TypeUnit:
		errs = append(errs, validateUnit(e.Name))
	}
	if e.Type == TypeLine {
		errs = append(errs, validateLine(e.Line))
	}
	if e.Mode != "" && !octalModeRE.MatchString(e.Mode) {
		errs = append(errs, fmt.Errorf("mode %q is not an octal file mode", e.Mode))
	}
	if e.Owner != "" {
		errs = append(errs, validateAccount("owner", e.Owner))
	}
	if e.Group != "" {
		errs = append(errs, validateAccount("group", e.Group))
	}
	if e.SHA256 != "" && !sha256RE.MatchString(e.SHA256) {
		errs = append(errs, fmt.Errorf("sha256 %q is not 64 lower-case hex digits", e.SHA256))
	}
	if !debVersionRE.MatchString(e.Version) {
		errs = append(errs, fmt.Errorf("version %q is not a Debian version", e.Version))
	}
	if err := checkText(e.Source, false); err != nil {
		errs = append(errs, fmt.Errorf("source %q %w", e.Source, err))
	}
	for _, k := range slices.Sorted(maps.Keys(e.Keys)) {
		rec := e.Keys[k]
		if !envfile.ValidKey(k) {
			errs = append(errs, fmt.Errorf("key %q is not a shell variable name", k))
			continue
		}
		if err := checkText(rec.Value, true); err != nil {
			errs = append(errs, fmt.Errorf("the value of %s %w", k, err))
		}
		if rec.Prior != nil {
			if err := checkText(*rec.Prior, true); err != nil {
				errs = append(errs, fmt.Errorf("the prior value of %s %w", k, err))
			}
		}
	}
	return firstErr(errs...)
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
