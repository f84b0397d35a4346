package config

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/meshx-dev/meshx/istio"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// LoadOptions are the inputs of Load besides the directory.
type LoadOptions struct {
	// Vars are the -var and -var-file arguments in command-line order;
	// later ones win.
	Vars []VarArg
	// Env is the process environment in os.Environ form; only MESHX_VAR_*
	// entries are read. Nil means no environment variables.
	Env []string
	// HomeDir expands "~" in paths; "" means os.UserHomeDir.
	HomeDir string
	// UnsetUnknown lets variables without a value stay unknown instead of
	// being an error, as terraform validate does: checks that need their
	// values are skipped. For validate only; plan and apply need values.
	UnsetUnknown bool
}

// VarArg is one -var or -var-file argument; exactly one field is set.
type VarArg struct {
	// Assign is a -var argument: "name=value".
	Assign string
	// File is a -var-file argument: a path, relative to the configuration
	// directory unless absolute.
	File string
}

// EnvVarPrefix starts the names of environment variables that set
// variables: MESHX_VAR_<name>.
const EnvVarPrefix = "MESHX_VAR_"

// DefaultVarsFile is read automatically when present, before *.auto.vars.
const DefaultVarsFile = "meshx.vars"

// AutoVarsSuffix marks variable files read automatically, in lexical order.
const AutoVarsSuffix = ".auto.vars"

// JSONSuffix marks a variables file written in JSON rather than HCL, as
// Terraform's *.tfvars.json: meshx.vars.json, *.auto.vars.json, or a
// -var-file whose name ends in it. A JSON object's members are the
// variables: {"vm_address": "10.0.0.5", "ports": {"http": 9080}}.
const JSONSuffix = ".json"

// isDefaultVarsFile reports meshx.vars and meshx.vars.json, which are read
// before every *.auto.vars file.
func isDefaultVarsFile(name string) bool {
	return name == DefaultVarsFile || name == DefaultVarsFile+JSONSuffix
}

// isAutoVarsFile reports the variables files Load reads by itself.
func isAutoVarsFile(name string) bool {
	name = strings.TrimSuffix(name, JSONSuffix)
	return name == DefaultVarsFile || strings.HasSuffix(name, AutoVarsSuffix)
}

// source is one file's name (as ranges show it) and content.
type source struct {
	name string
	src  []byte
}

// Load reads every *.hcl file in dir as one environment, with variable
// values from opts, meshx.vars and *.auto.vars in dir. Precedence, lowest
// first: variable defaults, MESHX_VAR_<name>, meshx.vars, *.auto.vars in
// lexical order, then opts.Vars in order.
//
// The returned Config is never nil; when diags has errors only its Dir and
// Files are meaningful.
func Load(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &Config{Dir: abs, Files: map[string]*hcl.File{}}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration directory",
			Detail:   fmt.Sprintf("%s. Run meshx in the directory holding your *.hcl files, or pass -chdir=DIR.", err),
		}}
	}
	var files, auto []source
	var readDiags hcl.Diagnostics
	var autoNames []string
	for _, e := range entries {
		name := e.Name()
		if ignoredFile(name) {
			continue
		}
		isHCL := strings.HasSuffix(name, ".hcl")
		isVars := isAutoVarsFile(name)
		if !isHCL && !isVars {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			continue
		}
		b, err := readFile(p)
		if err == errTooLarge {
			readDiags = append(readDiags, tooLargeDiag(name))
			continue
		}
		if err != nil {
			readDiags = append(readDiags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read configuration file",
				Detail:   fmt.Sprintf("%s. Check the file's permissions.", err),
			})
			continue
		}
		if isHCL {
			files = append(files, source{name, b})
		} else {
			auto = append(auto, source{name, b})
			autoNames = append(autoNames, name)
		}
	}
	// meshx.vars (then meshx.vars.json) comes before the *.auto.vars files
	// whatever its name sorts as.
	slices.SortStableFunc(auto, func(a, b source) int {
		return cmp.Compare(boolInt(!isDefaultVarsFile(a.name)), boolInt(!isDefaultVarsFile(b.name)))
	})
	if len(files) == 0 && len(readDiags) == 0 {
		return &Config{Dir: abs, Files: map[string]*hcl.File{}}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("meshx reads every *.hcl file of a directory, and %s has none. Run meshx in the directory holding your configuration, or pass -chdir=DIR.", dir),
		}}
	}
	cfg, diags := load(abs, files, auto, opts)
	return cfg, append(readDiags, diags...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ignoredFile reports editor backups and hidden files, as Terraform does.
func ignoredFile(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		(strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"))
}

// loader holds the state of one Load.
type loader struct {
	dir    string
	home   string
	opts   LoadOptions
	parser *hclparse.Parser
	diags  hcl.Diagnostics
	cfg    *Config
	scope  *scope

	meshxBlocks []*hcl.Block
	blocks      map[string]map[string]*hcl.Block // kind → name → block
	localAttrs  map[string]*hcl.Attribute
	varDecls    map[string]*varDecl
	// unset are the variables without a value under UnsetUnknown.
	unset map[string]bool
	// unexpanded are the blocks ("vm.web") whose for_each or count
	// derives from an unset variable: their instances are unknown.
	unexpanded map[string]bool
	// keyAt maps an instance of a block with for_each ("vm.web[\"a\"]")
	// to where its key is written, "meshx.vars:3", when known.
	keyAt map[string]string

	nodes    map[string]*node
	order    []*node
	clusters map[string]*Cluster
	vms      map[string]*VM
	services map[string]*Service
	// objects maps block kind → instance name → the value references to
	// the instance evaluate to.
	objects map[string]map[string]cty.Value
	profile string
	istioNS string
	// firstFile names the first configuration file parsed, for diagnostics
	// about something missing from all of them.
	firstFile    string
	syntaxErrors bool
	// sensitive holds the ranges of the attribute expressions whose values
	// derive from sensitive values; diagnostics do not quote them.
	sensitive map[hcl.Range]bool
	// keyFiles are the paths of the private keys ssh blocks name, clean
	// and absolute: file() of one is sensitive.
	keyFiles map[string]bool
}

// hideSensitiveReasons rewrites the detail of diagnostics about an
// expression that refers to a sensitive value when the detail may quote
// it: HCL and function errors quote the values they got ("cannot convert
// \"…\" to number"). A detail keeps its reason only when it has no quote,
// no digit and none of the sensitive strings ("a number is required");
// otherwise what comes before the first colon, which names the problem,
// stays and the reason goes.
func hideSensitiveReasons(diags hcl.Diagnostics) {
	for _, d := range diags {
		var secrets []string
		if d.Expression != nil && d.EvalContext != nil {
			secrets = sensitiveStrings(d.Expression, d.EvalContext)
		}
		leaksKey := strings.Contains(d.Detail, "PRIVATE KEY") // file() of a key, quoted by a function
		if secrets == nil && !leaksKey {
			continue
		}
		if !leaksKey && !strings.ContainsAny(d.Detail, "\"'0123456789") && !containsAny(d.Detail, secrets) {
			continue
		}
		head, _, found := strings.Cut(d.Detail, ": ")
		if !found || leaksKey || containsAny(head, secrets) {
			head = "The expression is not valid"
		}
		d.Detail = head + ": the reason is not shown, because the expression refers to a sensitive value."
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// sensitiveStrings returns the string forms of the marked values the
// variables of expr refer to (empty strings for values that have none),
// or nil when it refers to no marked value.
func sensitiveStrings(expr hcl.Expression, ctx *hcl.EvalContext) []string {
	var out []string
	for _, t := range expr.Variables() {
		for ; len(t) > 0; t = t[:len(t)-1] {
			v, diags := t.TraverseAbs(ctx)
			if diags.HasErrors() {
				continue
			}
			if v.ContainsMarked() {
				u, pvms := v.UnmarkDeepWithPaths()
				for _, pvm := range pvms {
					mv, err := pvm.Path.Apply(u)
					if err != nil {
						continue
					}
					out = append(out, leafStrings(mv)...)
				}
				out = append(out, "")
			}
			break
		}
	}
	return out
}

// leafStrings returns the known primitive leaves of v as strings.
func leafStrings(v cty.Value) []string {
	var out []string
	_ = cty.Walk(v, func(_ cty.Path, e cty.Value) (bool, error) {
		if e.IsKnown() && !e.IsNull() && e.Type().IsPrimitiveType() {
			if s, err := convert.Convert(e, cty.String); err == nil {
				out = append(out, s.AsString())
			}
		}
		return true, nil
	})
	return out
}

// findKeyFiles records, before anything that could read them is
// evaluated, the private key files named by ssh blocks whose
// private_key_file can be evaluated from variables alone (others are
// recorded when their VM is decoded). What file() reads from them is
// sensitive even when it does not look like a key.
func (l *loader) findKeyFiles() {
	ctx := l.scope.ctx()
	ctx.Variables = map[string]cty.Value{"var": cty.ObjectVal(l.scope.vars)}
	for _, n := range l.nodes {
		if n.kind != "vm" || n.body == nil || n.body.blocks["ssh"] == nil {
			continue
		}
		a := n.body.blocks["ssh"].attrs["private_key_file"]
		if a == nil {
			continue
		}
		v, diags := a.Expr.Value(ctx)
		if v, _ = v.Unmark(); diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			continue
		}
		l.keyFiles[l.path(v.AsString())] = true
	}
}

func load(dir string, files, autoVars []source, opts LoadOptions) (*Config, hcl.Diagnostics) {
	home := opts.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	l := &loader{
		dir:        dir,
		home:       home,
		opts:       opts,
		parser:     hclparse.NewParser(),
		cfg:        &Config{Dir: dir},
		blocks:     map[string]map[string]*hcl.Block{},
		localAttrs: map[string]*hcl.Attribute{},
		varDecls:   map[string]*varDecl{},
		unset:      map[string]bool{},
		unexpanded: map[string]bool{},
		keyAt:      map[string]string{},
		sensitive:  map[hcl.Range]bool{},
		keyFiles:   map[string]bool{},
		nodes:      map[string]*node{},
		clusters:   map[string]*Cluster{},
		vms:        map[string]*VM{},
		services:   map[string]*Service{},
		objects:    map[string]map[string]cty.Value{},
		profile:    istio.DefaultProfile,
		istioNS:    "istio-system",
	}
	l.scope = newScope(functions(dir, func(p string) bool { return l.keyFiles[p] }))
	for _, f := range files {
		if l.parseFile(f) != nil && l.firstFile == "" {
			l.firstFile = f.name
		}
	}
	if l.syntaxErrors {
		// Syntax errors leave bodies partial; checking them would only
		// add noise.
		l.cfg.Files = l.parser.Files()
		sortDiagnostics(l.diags)
		return l.cfg, l.diags
	}
	l.loadVariables(autoVars)
	l.buildNodes()
	l.findKeyFiles()
	l.evaluate()
	l.validate()
	l.cfg.Files = l.parser.Files()
	l.cfg.eval = l.evalState()
	hideSensitiveReasons(l.diags)
	sortDiagnostics(l.diags)
	return l.cfg, l.diags
}

// parseFile parses one configuration file and sorts its top-level blocks.
func (l *loader) parseFile(f source) *hcl.File {
	if d := checkConfigSource(f.src, f.name); d != nil {
		l.diags = append(l.diags, d)
		l.syntaxErrors = true
		return nil
	}
	file, diags := l.parser.ParseHCL(f.src, f.name)
	l.diags = append(l.diags, diags...)
	l.syntaxErrors = l.syntaxErrors || diags.HasErrors()
	if file == nil {
		return nil
	}
	l.checkDuplicateKeys(file.Body)
	content, diags := file.Body.Content(rootSchema)
	l.diags = append(l.diags, diags...)
	for _, b := range content.Blocks {
		switch b.Type {
		case "meshx":
			if len(l.meshxBlocks) > 0 {
				l.errorf(b.DefRange, "Duplicate meshx block",
					"An environment has one meshx block; the first is at %s. Merge the two blocks.",
					posString(l.meshxBlocks[0].DefRange))
				continue
			}
			l.meshxBlocks = append(l.meshxBlocks, b)
		case "locals":
			attrs, diags := b.Body.JustAttributes()
			l.diags = append(l.diags, diags...)
			for _, name := range sortedAttrNames(attrs) {
				a := attrs[name]
				if prev, dup := l.localAttrs[name]; dup {
					l.errorf(a.NameRange, "Duplicate local value",
						"A local value named %q is already defined at %s. Local names must be unique across all locals blocks; rename or remove one.",
						name, posString(prev.NameRange))
					continue
				}
				l.localAttrs[name] = a
			}
		default:
			name := b.Labels[0]
			if !hclsyntax.ValidIdentifier(name) {
				l.errorf(b.LabelRanges[0], "Invalid block name",
					"The name %q of this %s block is not a valid identifier. Names start with a letter and contain only letters, digits, '_' and '-', so that they can be referenced as %s.<name>.",
					name, b.Type, b.Type)
				continue
			}
			m := l.blocks[b.Type]
			if m == nil {
				m = map[string]*hcl.Block{}
				l.blocks[b.Type] = m
			}
			if prev, dup := m[name]; dup {
				l.errorf(b.DefRange, "Duplicate "+b.Type+" block",
					"A %s named %q is already declared at %s. Names must be unique across all files of the environment; rename or remove one.",
					b.Type, name, posString(prev.DefRange))
				continue
			}
			m[name] = b
		}
	}
	return file
}

// errorf appends an error diagnostic with subject rng.
func (l *loader) errorf(rng hcl.Range, summary, detail string, args ...any) *hcl.Diagnostic {
	return l.diag(hcl.DiagError, rng, summary, detail, args...)
}

// warnf appends a warning diagnostic with subject rng.
func (l *loader) warnf(rng hcl.Range, summary, detail string, args ...any) *hcl.Diagnostic {
	return l.diag(hcl.DiagWarning, rng, summary, detail, args...)
}

func (l *loader) diag(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detail string, args ...any) *hcl.Diagnostic {
	r := rng
	d := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: &r}
	l.diags = append(l.diags, d)
	return d
}

// posString renders a range's start as file:line for details.
func posString(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }

// sortedAttrNames orders attributes by position, so diagnostics about
// duplicates point at the later one.
func sortedAttrNames(attrs hcl.Attributes) []string {
	names := slices.Sorted(maps.Keys(attrs))
	sort.SliceStable(names, func(i, j int) bool {
		return attrs[names[i]].Range.Start.Byte < attrs[names[j]].Range.Start.Byte
	})
	return names
}

// sortDiagnostics orders diagnostics by file and position; those without a
// subject come first, in their original order.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}
