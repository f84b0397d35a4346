package planfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/meshx-dev/meshx/plans"
)

// FormatVersion is the newest major version of the file format this
// package writes and reads. Adding fields keeps it; anything an older
// reader would misread or refuse bumps it. Version 2 added instance
// addresses of blocks with for_each or count (vm.web["a"].unit["istio"]),
// which a version 1 reader cannot parse.
const FormatVersion = 2

// MinFormatVersion is the oldest major version Read accepts. Write writes
// the oldest version that can hold the plan, so a plan without instance
// keys still reads in a meshx that knows only version 1.
const MinFormatVersion = 1

// File is a saved plan.
type File struct {
	// FormatVersion is the format's major version; Write sets the
	// oldest one that holds the plan and Read the one it read.
	FormatVersion int
	MeshxVersion  string
	CreatedAt     time.Time
	Environment   string
	// ConfigDigest is a sha256 over the configuration files and variable
	// values, computed by the CLI, so apply can tell the configuration
	// changed since the plan.
	ConfigDigest string
	Destroy      bool
	// Targets are the -target addresses the plan was limited to.
	Targets []string
	// Variables records the input variables: names, and values of the
	// non-sensitive ones.
	Variables []Variable
	// Changes are sorted by address.
	Changes []plans.Change
	Outputs []plans.OutputValue
}

// Variable is one input variable as a plan file records it.
type Variable struct {
	Name      string
	Sensitive bool
	// Value is JSON-shaped. It is stored only when Sensitive is false.
	Value any
}

// FromPlan starts a File from p: environment, destroy mode, changes,
// outputs and targets. The caller sets MeshxVersion, CreatedAt,
// ConfigDigest and Variables.
func FromPlan(p *plans.Plan) *File {
	f := &File{
		FormatVersion: FormatVersion,
		Environment:   p.Environment,
		Destroy:       p.Destroy,
		Changes:       append([]plans.Change(nil), p.Changes...),
		Outputs:       append([]plans.OutputValue(nil), p.Outputs...),
		Targets:       p.Targets,
	}
	return f
}

// Plan returns the plan the file holds, for rendering. Executing it needs a
// fresh planner.Plan checked against it (Compare).
func (f *File) Plan() *plans.Plan {
	return &plans.Plan{
		Environment: f.Environment,
		Destroy:     f.Destroy,
		Changes:     f.Changes,
		Outputs:     f.Outputs,
		Targets:     f.Targets,
	}
}

// On-disk shapes. Field names are the format's own and never follow Go
// renames.
type fileJSON struct {
	FormatVersion int            `json:"format_version"`
	MeshxVersion  string         `json:"meshx_version"`
	CreatedAt     time.Time      `json:"created_at"`
	Environment   string         `json:"environment"`
	ConfigDigest  string         `json:"config_digest"`
	Destroy       bool           `json:"destroy"`
	Targets       []string       `json:"targets"`
	Variables     []variableJSON `json:"variables"`
	Changes       []changeJSON   `json:"changes"`
	Outputs       []outputJSON   `json:"outputs"`
}

type variableJSON struct {
	Name      string `json:"name"`
	Sensitive bool   `json:"sensitive"`
	Value     any    `json:"value,omitempty"`
}

type changeJSON struct {
	Address      string             `json:"address"`
	Action       string             `json:"action"`
	Kind         string             `json:"kind,omitempty"`
	Target       string             `json:"target,omitempty"`
	Before       any                `json:"before"`
	After        any                `json:"after"`
	Sensitive    []string           `json:"sensitive,omitempty"`
	Reason       string             `json:"reason,omitempty"`
	Drift        bool               `json:"drift,omitempty"`
	Adopt        bool               `json:"adopt,omitempty"`
	Precondition plans.Precondition `json:"precondition"`
	DependsOn    []string           `json:"depends_on,omitempty"`
}

type outputJSON struct {
	Name      string `json:"name"`
	Sensitive bool   `json:"sensitive"`
	Value     any    `json:"value"`
}

// Write encodes f. It fails, writing nothing, when any value in the plan
// is a plans.Sensitive: plans hold fingerprints, never secrets. A
// sensitive output whose value is not a fingerprint is stored as the
// fingerprint of its JSON form; a sensitive variable's value is dropped.
func Write(w io.Writer, f *File) error {
	out := fileJSON{
		FormatVersion: formatVersionFor(f),
		MeshxVersion:  f.MeshxVersion,
		CreatedAt:     f.CreatedAt,
		Environment:   f.Environment,
		ConfigDigest:  f.ConfigDigest,
		Destroy:       f.Destroy,
		Targets:       nonNil(f.Targets),
		Variables:     []variableJSON{},
		Changes:       make([]changeJSON, 0, len(f.Changes)),
		Outputs:       []outputJSON{},
	}
	for _, v := range f.Variables {
		vj := variableJSON{Name: v.Name, Sensitive: v.Sensitive}
		if !v.Sensitive {
			enc, err := encodeValue(v.Value, "var."+v.Name)
			if err != nil {
				return fmt.Errorf("write plan: %w", err)
			}
			vj.Value = enc
		}
		out.Variables = append(out.Variables, vj)
	}
	for _, c := range f.Changes {
		addr := c.Addr.String()
		cj := changeJSON{
			Address:      addr,
			Action:       c.Action.String(),
			Kind:         c.Kind,
			Target:       c.Target,
			Sensitive:    c.Sensitive,
			Reason:       c.Reason,
			Drift:        c.Drift,
			Adopt:        c.Adopt,
			Precondition: c.Precondition,
		}
		var err error
		if cj.Before, err = encodeObject(c.Before, addr+": before"); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		if cj.After, err = encodeObject(c.After, addr+": after"); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		for _, d := range c.DependsOn {
			cj.DependsOn = append(cj.DependsOn, d.String())
		}
		out.Changes = append(out.Changes, cj)
	}
	for _, o := range f.Outputs {
		value := o.Value
		if o.Sensitive {
			value = outputFingerprint(value)
		}
		enc, err := encodeValue(value, "output."+o.Name)
		if err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		out.Outputs = append(out.Outputs, outputJSON{Name: o.Name, Sensitive: o.Sensitive, Value: enc})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// outputFingerprint keeps a sensitive output's fingerprint, Unknown or
// nil, and replaces anything else by a fingerprint of its JSON form.
func outputFingerprint(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		if plans.IsFingerprint(t) {
			return t
		}
		return plans.Fingerprint([]byte(t))
	case plans.Sensitive:
		return t.Fingerprint()
	}
	if plans.IsUnknown(v) {
		return v
	}
	// Sensitive marshals as its fingerprint and Unknown as null, so this
	// cannot reveal a secret nested inside.
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return plans.Fingerprint(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MaxSize is the most Read reads of a plan file, and the most a
// compressed one may decompress to, in bytes: a plan file comes from
// outside (a CI artifact, a colleague), and a small gzip bomb must not
// take the machine's memory.
const MaxSize = 32 << 20

// MaxValues is the most JSON values (counted by their separators) Read
// decodes: two bytes of JSON ("0,") become dozens of bytes of Go values,
// so size alone does not bound memory.
const MaxValues = 1 << 20

// formatVersionFor returns the oldest format version that holds f:
// version 2 when an address names an instance of a block with for_each
// or count, else 1.
func formatVersionFor(f *File) int {
	keyed := func(a plans.Address) bool {
		_, key := a.Instance()
		return !key.IsNone()
	}
	for _, c := range f.Changes {
		if keyed(c.Addr) || slices.ContainsFunc(c.DependsOn, keyed) {
			return 2
		}
	}
	for _, t := range f.Targets {
		if a, err := plans.ParseAddress(t); err == nil && keyed(a) {
			return 2
		}
	}
	return 1
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// Read decodes a plan file written by Write, plain or gzip-compressed. It
// rejects a file of another major format version with an error that says
// which meshx wrote it. It reads at most MaxSize bytes, and decompresses
// at most MaxSize bytes.
func Read(r io.Reader) (*File, error) {
	data, err := readData(r)
	if err != nil {
		return nil, fmt.Errorf("not a meshx plan file: %w", err)
	}
	var probe struct {
		FormatVersion *int   `json:"format_version"`
		MeshxVersion  string `json:"meshx_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a meshx plan file: %w", err)
	}
	if probe.FormatVersion == nil {
		return nil, errors.New("not a meshx plan file: it has no format_version")
	}
	if v := *probe.FormatVersion; v < MinFormatVersion || v > FormatVersion {
		return nil, fmt.Errorf("format version %d (written by meshx %s) is not supported: this meshx reads versions %d to %d; run meshx plan again with this meshx",
			v, probe.MeshxVersion, MinFormatVersion, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var in fileJSON
	if err := dec.Decode(&in); err != nil {
		return nil, err
	}
	f := &File{
		FormatVersion: in.FormatVersion,
		MeshxVersion:  in.MeshxVersion,
		CreatedAt:     in.CreatedAt,
		Environment:   in.Environment,
		ConfigDigest:  in.ConfigDigest,
		Destroy:       in.Destroy,
	}
	if len(in.Targets) > 0 {
		f.Targets = in.Targets
	}
	for _, v := range in.Variables {
		fv := Variable{Name: v.Name, Sensitive: v.Sensitive}
		if !v.Sensitive { // a sensitive value has no business in a plan file
			if fv.Value, err = decodeValue(v.Value, "var."+v.Name); err != nil {
				return nil, err
			}
		}
		f.Variables = append(f.Variables, fv)
	}
	seen := map[plans.Address]bool{}
	for i, cj := range in.Changes {
		c, err := decodeChange(cj)
		if err != nil {
			return nil, fmt.Errorf("change %d: %w", i+1, err)
		}
		if seen[c.Addr] {
			return nil, fmt.Errorf("%s: planned twice", c.Addr)
		}
		seen[c.Addr] = true
		f.Changes = append(f.Changes, c)
	}
	sort.SliceStable(f.Changes, func(i, j int) bool { return f.Changes[i].Addr.Less(f.Changes[j].Addr) })
	for _, o := range in.Outputs {
		val, err := decodeValue(o.Value, "output."+o.Name)
		if err != nil {
			return nil, err
		}
		if o.Sensitive {
			val = outputFingerprint(val)
		}
		f.Outputs = append(f.Outputs, plans.OutputValue{Name: o.Name, Sensitive: o.Sensitive, Value: val})
	}
	// A meshx of an older format reads no instance keys: a file that
	// claims its format but holds them was not written by Write.
	if need := formatVersionFor(f); f.FormatVersion < need {
		return nil, fmt.Errorf("format version %d cannot hold addresses of instances (of blocks with for_each or count), which this file has: it was not written by meshx; run meshx plan again", f.FormatVersion)
	}
	return f, nil
}

// readData reads a plan file's JSON, decompressing it when it is gzipped.
func readData(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(&capReader{r: r, left: MaxSize, err: fmt.Errorf("it is larger than %d MiB", MaxSize>>20)})
	if head, _ := br.Peek(2); bytes.Equal(head, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = &capReader{r: zr, left: MaxSize, err: fmt.Errorf("it decompresses to more than %d MiB", MaxSize>>20)}
	} else {
		r = br
	}
	data, err := io.ReadAll(r)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errors.New("unexpected EOF: the file is truncated")
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	if countValues(data) > MaxValues {
		return nil, fmt.Errorf("it holds more than %d JSON values", MaxValues)
	}
	return data, nil
}

// countValues counts the commas and opening brackets outside strings of
// JSON data: about the number of values it holds.
func countValues(data []byte) int {
	n := 0
	inString, escaped := false, false
	for _, b := range data {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = b == '\\'
			inString = b != '"'
		case b == '"':
			inString = true
		case b == ',' || b == '[' || b == '{':
			n++
		}
	}
	return n
}

// capReader reads r and fails with err once more than left bytes are read.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, c.err
	}
	return n, err
}

func decodeChange(cj changeJSON) (plans.Change, error) {
	addr, err := plans.ParseAddress(cj.Address)
	if err != nil {
		return plans.Change{}, err
	}
	c := plans.Change{
		Addr:         addr,
		Kind:         cj.Kind,
		Target:       cj.Target,
		Sensitive:    cj.Sensitive,
		Reason:       cj.Reason,
		Drift:        cj.Drift,
		Adopt:        cj.Adopt,
		Precondition: cj.Precondition,
	}
	if c.Action, err = parseAction(cj.Action); err != nil {
		return c, fmt.Errorf("%s: %w", addr, err)
	}
	if c.Before, err = decodeObject(cj.Before, addr.String()+": before"); err != nil {
		return c, err
	}
	if c.After, err = decodeObject(cj.After, addr.String()+": after"); err != nil {
		return c, err
	}
	for _, d := range cj.DependsOn {
		da, err := plans.ParseAddress(d)
		if err != nil {
			return c, fmt.Errorf("%s: depends_on: %w", addr, err)
		}
		c.DependsOn = append(c.DependsOn, da)
	}
	return c, nil
}

func parseAction(s string) (plans.Action, error) {
	for a := plans.NoOp; a <= plans.Read; a++ {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown action %q", s)
}
