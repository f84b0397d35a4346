package config

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// sensitiveMark marks values derived from sensitive variables.
const sensitiveMark = "sensitive"

// varDecl is a variable block and the value chosen for it so far.
type varDecl struct {
	v          *Variable
	body       *rawBody
	hasDefault bool
	value      cty.Value
	source     string
	valueRange *hcl.Range // where the value was written, when in a file
	// valueExpr is the expression valueRange holds, nil otherwise: the
	// keys of a map written there locate for_each instances.
	valueExpr   hcl.Expression
	ok          bool // the declaration decoded without errors
	validations []*rawBody
}

// loadVariables decodes variable blocks and picks each variable's value.
func (l *loader) loadVariables(autoVars []source) {
	for _, name := range slices.Sorted(maps.Keys(l.blocks["variable"])) {
		l.decodeVariable(name, l.blocks["variable"][name])
	}
	l.envVars()
	for _, f := range autoVars {
		l.varFile(f.name, f.src, "file "+f.name)
	}
	for _, a := range l.opts.Vars {
		switch {
		case a.File != "":
			p := a.File
			if !filepath.IsAbs(p) {
				p = filepath.Join(l.dir, p)
			}
			src, err := readFile(p)
			if err == errTooLarge {
				l.diags = append(l.diags, tooLargeDiag(a.File))
				continue
			}
			if err != nil {
				l.diags = append(l.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Cannot read variables file",
					Detail:   fmt.Sprintf("Reading -var-file=%s: %s. Relative paths are relative to the configuration directory.", a.File, err),
				})
				continue
			}
			l.varFile(a.File, src, "-var-file "+a.File)
		default:
			l.cliVar(a.Assign)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(l.varDecls)) {
		d := l.varDecls[name]
		if !d.ok {
			continue
		}
		if d.source == "" && l.opts.UnsetUnknown {
			// Unknown of its type, and as secret as a value would be, so
			// type and sensitivity checks still apply; its validation
			// rules, and checks of what derives from it, are skipped.
			val := cty.UnknownVal(d.v.Type)
			if d.v.Sensitive {
				val = val.Mark(sensitiveMark)
			}
			l.scope.vars[name] = val
			l.unset[name] = true
			continue
		}
		if d.source == "" {
			detail := fmt.Sprintf("The variable %q has no default and no value was given. Set it in %s or a *%s file, with -var=\"%s=…\" or -var-file=FILE, or in the environment variable %s%s.",
				name, DefaultVarsFile, AutoVarsSuffix, name, EnvVarPrefix, name)
			if d.v.Description != "" {
				detail += "\n\nIts description: " + d.v.Description
			}
			l.errorf(d.body.block.DefRange, "No value for required variable", "%s", detail)
			d.ok = false
			continue
		}
		val := d.value
		if d.v.Sensitive {
			val = val.Mark(sensitiveMark)
		}
		l.scope.vars[name] = val
		d.v.Value = d.value
		d.v.Source = d.source
	}
	// Variables without a value stay unknown so that references to them do
	// not pile further errors onto the one above.
	for name := range l.varDecls {
		if _, ok := l.scope.vars[name]; !ok {
			l.scope.vars[name] = cty.DynamicVal
		}
	}
	for _, name := range slices.Sorted(maps.Keys(l.varDecls)) {
		if d := l.varDecls[name]; d.ok && !l.unset[name] {
			l.checkValidations(d)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(l.varDecls)) {
		l.cfg.Variables = append(l.cfg.Variables, l.varDecls[name].v)
	}
}

func (l *loader) decodeVariable(name string, b *hcl.Block) {
	rb := l.splitBody("variable", b)
	v := &Variable{Name: name, Type: cty.DynamicPseudoType, DeclRange: b.DefRange}
	d := &varDecl{v: v, body: rb, ok: true, validations: rb.multi["validation"]}
	l.varDecls[name] = d
	if a := rb.attrs["type"]; a != nil {
		ty, diags := typeexpr.TypeConstraint(a.Expr)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			d.ok = false
		} else {
			v.Type = ty
		}
	}
	if a := rb.attrs["description"]; a != nil {
		if s, ok := l.literal(a, cty.String, "a string, like description = \"IP of the VM\""); ok && !s.IsNull() {
			v.Description = s.AsString()
		}
	}
	if a := rb.attrs["sensitive"]; a != nil {
		if s, ok := l.literal(a, cty.Bool, "true or false"); ok && !s.IsNull() {
			v.Sensitive = s.True()
		}
	}
	if a := rb.attrs["default"]; a != nil {
		val, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			d.ok = false
			return
		}
		if d.ok {
			cv, err := convert.Convert(val, v.Type)
			if err != nil {
				l.errorf(a.Expr.Range(), "Invalid default value for variable",
					"The default of variable %q does not match its type %s: %s. Change the default or the type.",
					name, typeexpr.TypeString(v.Type), convertErr(err))
				d.ok = false
				return
			}
			val = cv
		}
		d.hasDefault = true
		v.Default = val
		d.value, d.source, d.valueRange, d.valueExpr = val, "default", rangePtr(a.Expr.Range()), a.Expr
	}
}

// literal evaluates an attribute that may not reference anything.
func (l *loader) literal(a *hcl.Attribute, ty cty.Type, want string) (cty.Value, bool) {
	val, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	cv, err := convert.Convert(val, ty)
	if err != nil || !cv.IsKnown() {
		l.errorf(a.Expr.Range(), "Incorrect attribute value type", "The attribute %q must be %s.", a.Name, want)
		return cty.NilVal, false
	}
	return cv, true
}

func rangePtr(r hcl.Range) *hcl.Range { return &r }

// envVars applies MESHX_VAR_<name> entries; undeclared names are ignored,
// as the environment is shared with everything else.
func (l *loader) envVars() {
	for _, kv := range l.opts.Env {
		k, raw, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvVarPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, EnvVarPrefix)
		d := l.varDecls[name]
		if d == nil || !d.ok {
			continue
		}
		l.setRaw(d, raw, "environment", "the environment variable "+k)
	}
}

// cliVar applies one -var argument.
func (l *loader) cliVar(assign string) {
	name, raw, ok := strings.Cut(assign, "=")
	if !ok || name == "" {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid -var option",
			Detail:   fmt.Sprintf("The option -var=%q is not a name and a value separated by '=', like -var=\"vm_address=10.0.0.5\".", assign),
		})
		return
	}
	name = strings.TrimSpace(name)
	d := l.varDecls[name]
	if d == nil {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Value for undeclared variable",
			Detail:   fmt.Sprintf("The option -var=\"%s=…\" sets a variable that is not declared%s Declare it with a variable %q {} block, or fix the name.", name, suggest(name, slices.Sorted(maps.Keys(l.varDecls))), name),
		})
		return
	}
	if !d.ok {
		return
	}
	l.setRaw(d, raw, "-var", fmt.Sprintf("the option -var=\"%s=…\"", name))
}

// setRaw sets a variable from a string given outside any file: primitive
// (and untyped) variables take it as a string, others parse it as an HCL
// expression, as Terraform does.
func (l *loader) setRaw(d *varDecl, raw, source, what string) {
	var val cty.Value
	if d.v.Type.IsPrimitiveType() || d.v.Type == cty.DynamicPseudoType {
		val = cty.StringVal(raw)
	} else {
		var expr hclsyntax.Expression
		var diags hcl.Diagnostics
		if d := checkExpressionSource([]byte(raw), what); d != nil {
			diags = hcl.Diagnostics{d}
		} else {
			expr, diags = hclsyntax.ParseExpression([]byte(raw), what, hcl.InitialPos)
		}
		if !diags.HasErrors() {
			val, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			l.errorf(d.body.block.DefRange, "Invalid value for input variable",
				"The value of %s for variable %q is not a valid expression of type %s: %s",
				what, d.v.Name, typeexpr.TypeString(d.v.Type), diags.Error())
			return
		}
	}
	cv, err := convert.Convert(val, d.v.Type)
	if err != nil {
		l.errorf(d.body.block.DefRange, "Invalid value for input variable",
			"The value of %s is not valid for variable %q of type %s: %s. Give a value of that type.",
			what, d.v.Name, typeexpr.TypeString(d.v.Type), convertErr(err))
		return
	}
	d.value, d.source, d.valueRange, d.valueExpr = cv, source, nil, nil
}

// varFile applies a variables file: name = value attributes whose values may
// not reference anything.
func (l *loader) varFile(name string, src []byte, source string) {
	l.cfg.VarFiles = append(l.cfg.VarFiles, name)
	if d := checkConfigSource(src, name); d != nil {
		l.diags = append(l.diags, d)
		return
	}
	parse := l.parser.ParseHCL
	if strings.HasSuffix(name, JSONSuffix) {
		parse = l.parser.ParseJSON
	}
	f, diags := parse(src, name)
	l.diags = append(l.diags, diags...)
	if f == nil || diags.HasErrors() {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, an := range sortedAttrNames(attrs) {
		a := attrs[an]
		d := l.varDecls[an]
		if d == nil {
			l.warnf(a.NameRange, "Value for undeclared variable",
				"The file %s sets %q, but no variable of that name is declared. Declare it with a variable %q {} block, or remove the line.",
				name, an, an)
			continue
		}
		if !d.ok {
			continue
		}
		if !d.v.Sensitive {
			// The snippet of a duplicate key's line would show a
			// sensitive value.
			l.checkDuplicateKeys(a.Expr)
		}
		val, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		cv, err := convert.Convert(val, d.v.Type)
		if err != nil {
			// The snippet of the value's line would show a sensitive value.
			rng := a.Expr.Range()
			if d.v.Sensitive {
				rng = d.body.block.DefRange
			}
			l.errorf(rng, "Invalid value for input variable",
				"The value for variable %q in %s is not valid for its type %s: %s. Give a value of that type.",
				an, name, typeexpr.TypeString(d.v.Type), convertErr(err))
			continue
		}
		d.value, d.source, d.valueRange, d.valueExpr = cv, source, rangePtr(a.Expr.Range()), a.Expr
	}
}

// checkValidations runs a variable's validation blocks.
func (l *loader) checkValidations(d *varDecl) {
	if len(d.validations) == 0 {
		return
	}
	ctx := l.scope.ctx()
	ctx.Variables = map[string]cty.Value{"var": cty.ObjectVal(l.scope.vars)}
	for _, vb := range d.validations {
		cond, msg := vb.attrs["condition"], vb.attrs["error_message"]
		if cond == nil || msg == nil {
			continue
		}
		if !l.onlyVarRefs(cond.Expr) || !l.onlyVarRefs(msg.Expr) {
			continue
		}
		val, diags := cond.Expr.Value(ctx)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		shown := friendlyValue(val)
		if val.ContainsMarked() {
			shown = "a sensitive value"
		}
		val, _ = val.UnmarkDeep()
		if !val.IsKnown() {
			continue
		}
		bv, err := convert.Convert(val, cty.Bool)
		if err != nil || bv.IsNull() {
			l.errorf(cond.Expr.Range(), "Invalid validation condition",
				"The condition of a validation block must be true or false; this one is %s. Write a comparison, like length(var.x) > 0.",
				shown)
			continue
		}
		if bv.True() {
			continue
		}
		text := "The value is not valid."
		mv, diags := msg.Expr.Value(ctx)
		l.diags = append(l.diags, diags...)
		if mv.ContainsMarked() {
			text = "The value is not valid. (The error message refers to a sensitive value, so it is not shown.)"
		} else if !diags.HasErrors() && mv.IsKnown() && !mv.IsNull() {
			if s, err := convert.Convert(mv, cty.String); err == nil {
				text = s.AsString()
			}
		}
		l.errorf(d.subject(), "Invalid value for variable",
			"%s\n\nThe value of var.%s comes from %s and fails the validation rule at %s.",
			text, d.v.Name, describeSource(d.source, d.v.Name), posString(cond.Expr.Range()))
	}
}

// subject is where diagnostics about the variable's value point: where the
// value is written, or the declaration when there is no such place or the
// variable is sensitive (the snippet would show the value).
func (d *varDecl) subject() hcl.Range {
	if d.valueRange != nil && !d.v.Sensitive {
		return *d.valueRange
	}
	return d.body.block.DefRange
}

// onlyVarRefs reports, with a diagnostic, expressions of validation blocks
// that reference anything but variables.
func (l *loader) onlyVarRefs(expr hcl.Expression) bool {
	ok := true
	for _, t := range expr.Variables() {
		if t.RootName() == "var" {
			if name := attrStep(t, 1); name != "" && l.varDecls[name] == nil {
				l.errorf(t.SourceRange(), "Reference to undeclared input variable",
					"No variable named %q is declared. Declare it with a variable %q {} block, or fix the name.", name, name)
				ok = false
			}
			continue
		}
		l.errorf(t.SourceRange(), "Invalid reference in variable validation",
			"A validation rule may reference only variables (var.<name>); %s is evaluated later. Move the check to where the value is used.",
			t.RootName())
		ok = false
	}
	return ok
}

// convertErr renders a conversion error as a phrase.
func convertErr(err error) string {
	s := err.Error()
	return strings.TrimSuffix(s, ".")
}

// friendlyValue describes a value briefly for diagnostics.
func friendlyValue(v cty.Value) string {
	switch {
	case v.IsNull():
		return "null"
	case !v.IsKnown():
		return "unknown"
	case v.ContainsMarked():
		return "a sensitive value"
	case v.Type() == cty.String:
		return fmt.Sprintf("the string %q", v.AsString())
	default:
		return "a " + v.Type().FriendlyName()
	}
}

// describeSource renders a Variable.Source for a sentence.
func describeSource(src, name string) string {
	switch {
	case src == "default":
		return "its default"
	case src == "environment":
		return "the environment variable " + EnvVarPrefix + name
	case src == "-var":
		return "a -var option"
	case strings.HasPrefix(src, "file "):
		return "the file " + strings.TrimPrefix(src, "file ")
	}
	return src
}

// dependsOnUnset reports whether expr derives from a variable left unset
// under LoadOptions.UnsetUnknown, directly, through locals or through a
// block whose instances are unknown for it: its value is unknown because
// it was not given, not because meshx learns it only while applying.
func (l *loader) dependsOnUnset(expr hcl.Expression, seen map[string]bool) bool {
	for _, t := range expr.Variables() {
		name := attrStep(t, 1)
		switch t.RootName() {
		case "var":
			if l.unset[name] {
				return true
			}
		case "local":
			if a := l.localAttrs[name]; a != nil && !seen[name] {
				seen[name] = true
				if l.dependsOnUnset(a.Expr, seen) {
					return true
				}
			}
		case "cluster", "vm", "service":
			if l.unexpanded[t.RootName()+"."+name] {
				return true
			}
		}
	}
	return false
}
