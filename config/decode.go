package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decoder evaluates the attributes of one block body into Go values. Every
// failure is diagnosed; the block is then marked failed so that blocks
// referencing it are skipped instead of piling up follow-on errors.
type decoder struct {
	l      *loader
	ctx    *hcl.EvalContext
	body   *rawBody
	where  string // `vm "ecs1"`, `the ssh block of vm "ecs1"`
	prefix string // Ranges key prefix: "", "ssh.", …
	ranges map[string]hcl.Range
	failed *bool
}

func (l *loader) decoder(n *node, body *rawBody, where, prefix string, ranges map[string]hcl.Range) *decoder {
	return &decoder{l: l, ctx: l.scope.ctx(), body: body, where: where, prefix: prefix, ranges: ranges, failed: &n.failed}
}

// nested returns a decoder for a nested block, or nil when it is absent.
func (d *decoder) nested(typ string) *decoder {
	b := d.body.blocks[typ]
	if b == nil {
		return nil
	}
	return &decoder{l: d.l, ctx: d.ctx, body: b, where: "the " + typ + " block of " + d.where, prefix: d.prefix + typ + ".", ranges: d.ranges, failed: d.failed}
}

// labeled returns decoders for a repeatable nested block with one label,
// in file order, each with the label.
func (d *decoder) labeled(typ string) (out []*decoder, labels []string) {
	for _, b := range d.body.multi[typ] {
		label := b.block.Labels[0]
		out = append(out, &decoder{l: d.l, ctx: d.ctx, body: b, where: fmt.Sprintf("the %s %q block of %s", typ, label, d.where),
			prefix: d.prefix + typ + "." + label + ".", ranges: d.ranges, failed: d.failed})
		labels = append(labels, label)
	}
	return out, labels
}

func (d *decoder) attr(name string) *hcl.Attribute { return d.body.attrs[name] }

// has reports whether the attribute is written, with a value to check.
func (d *decoder) has(name string) bool {
	a := d.body.attrs[name]
	// One that derives from a variable validate was not given is as
	// good as unwritten: every check of its value is skipped.
	return a != nil && !d.l.dependsOnUnset(a.Expr, map[string]bool{})
}

// rng returns the range of an attribute's expression, or of the block
// header when it is not written (for defaults).
func (d *decoder) rng(name string) hcl.Range {
	if a := d.body.attrs[name]; a != nil {
		return a.Expr.Range()
	}
	return d.body.block.DefRange
}

// nonNull reports whether an attribute is written and does not evaluate to
// null (a null source means "no sidecar package", so that a variable can
// switch the block off). Evaluation errors count as non-null: they are
// reported when the attribute is decoded.
func (d *decoder) nonNull(name string) bool {
	a := d.body.attrs[name]
	if a == nil {
		return false
	}
	v, diags := a.Expr.Value(d.ctx)
	return diags.HasErrors() || !v.IsNull()
}

// raw evaluates an attribute; ok is false when it is absent, null or failed.
// Marks are removed: typed configuration carries no marks.
func (d *decoder) raw(name string) (cty.Value, bool) {
	a := d.body.attrs[name]
	if a == nil {
		return cty.NilVal, false
	}
	d.ranges[d.prefix+name] = a.Expr.Range()
	v, diags := a.Expr.Value(d.ctx)
	d.l.diags = append(d.l.diags, diags...)
	if diags.HasErrors() {
		*d.failed = true
		return cty.NilVal, false
	}
	if v.ContainsMarked() {
		d.l.sensitive[a.Expr.Range()] = true
		d.l.refuseSensitive(a.Expr.Range(), a.Name, d.where)
	}
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

// sensitive reports whether an attribute's value derives from a sensitive
// value: diagnostics must then not quote it.
func (d *decoder) sensitive(name string) bool {
	a := d.body.attrs[name]
	return a != nil && d.l.sensitive[a.Expr.Range()]
}

// quoted returns an attribute's value quoted for a diagnostic, or
// "(sensitive value)" when it derives from a sensitive value.
func (d *decoder) quoted(name, s string) string {
	return d.l.quotedAt(d.rng(name), s)
}

// quotedAt returns s, the value of the expression at rng, quoted for a
// diagnostic, or "(sensitive value)" when it derives from a sensitive
// value.
func (l *loader) quotedAt(rng hcl.Range, s string) string {
	if l.sensitive[rng] {
		return sensitiveText
	}
	return quote(s)
}

// shownAt is quotedAt for values shown without quotes (CIDRs, IPs).
func (l *loader) shownAt(rng hcl.Range, s string) string {
	if l.sensitive[rng] {
		return sensitiveText
	}
	return s
}

// refuseSensitive reports a sensitive value in an attribute whose value
// plans show (names, addresses, CIDRs, labels, …) or that meshx uses to
// connect: typed configuration carries no marks, so it could not be kept
// out of plans and messages.
func (l *loader) refuseSensitive(rng hcl.Range, name, where string) {
	l.errorf(rng, "Sensitive value where it cannot be protected",
		"The %s of %s derives from a sensitive value, but meshx shows this attribute in plans and messages. Sensitive values may be used only in sidecar_env, cluster_env and sensitive outputs; use a value that is not sensitive here.",
		name, where)
}

// sensitiveText stands for a sensitive value in diagnostics.
const sensitiveText = "(sensitive value)"

// value evaluates an attribute that must be known now, converted to ty.
func (d *decoder) value(name string, ty cty.Type, hint string) (cty.Value, bool) {
	v, ok := d.raw(name)
	if !ok {
		return cty.NilVal, false
	}
	a := d.body.attrs[name]
	unset := d.l.dependsOnUnset(a.Expr, map[string]bool{})
	if !v.IsWhollyKnown() && !unset {
		d.unknown(a)
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil || cv.IsNull() {
		msg := "null"
		if err != nil {
			msg = convertErr(err)
		}
		diag := d.l.errorf(a.Expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q of %s: %s. Write %s.", name, d.where, msg, hint)
		diag.Expression, diag.EvalContext = a.Expr, d.ctx
		*d.failed = true
		return cty.NilVal, false
	}
	if !cv.IsWhollyKnown() {
		return cty.NilVal, false // validate without a value: type checked only
	}
	return cv, true
}

// unknown reports an attribute that depends on apply-time values.
func (d *decoder) unknown(a *hcl.Attribute) {
	if d.l.dependsOnUnset(a.Expr, map[string]bool{}) {
		return // validate without a value: nothing to check
	}
	var refs []string
	for _, t := range a.Expr.Variables() {
		if isApplyTimeRef(t) {
			refs = append(refs, traversalString(t))
		}
	}
	because := "a value meshx learns only while applying"
	if len(refs) > 0 {
		because += " (" + strings.Join(refs, ", ") + ")"
	}
	d.l.errorf(a.Expr.Range(), "Value known only after apply",
		"The attribute %q of %s depends on %s, but it must be known when planning. Use a literal, a variable or a local that does not depend on load-balancer addresses or discovered service CIDRs; only outputs and the values of sidecar_env and cluster_env may.",
		a.Name, d.where, because)
	*d.failed = true
}

// isApplyTimeRef reports references to values known only after apply.
func isApplyTimeRef(t hcl.Traversal) bool {
	if t.RootName() != "cluster" {
		return false
	}
	step := attrStep(t, 2)
	if _, ok := t[min(2, len(t)-1)].(hcl.TraverseIndex); ok {
		step = attrStep(t, 3) // an instance of a cluster block with for_each or count
	}
	return step == "ilb" || step == "service_cidr"
}

func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String {
				b.WriteString(fmt.Sprintf("[%q]", s.Key.AsString()))
			} else {
				b.WriteString("[…]")
			}
		default:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

func (d *decoder) str(name, def string) string {
	v, ok := d.value(name, cty.String, fmt.Sprintf("a string, like %s = \"…\"", name))
	if !ok {
		return def
	}
	return v.AsString()
}

func (d *decoder) boolean(name string, def bool) bool {
	v, ok := d.value(name, cty.Bool, fmt.Sprintf("true or false, like %s = true", name))
	if !ok {
		return def
	}
	return v.True()
}

// port decodes a port number in 1–65535.
func (d *decoder) port(name string, def int) int {
	v, ok := d.value(name, cty.Number, fmt.Sprintf("a whole number, like %s = %d", name, def))
	if !ok {
		return def
	}
	p, ok := portNumber(v)
	if !ok {
		d.l.errorf(d.rng(name), "Invalid port", "The %s of %s is %s; a port is a whole number from 1 to 65535.", name, d.where, v.AsBigFloat().Text('f', -1))
		return def
	}
	return p
}

func portNumber(v cty.Value) (int, bool) {
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, false
	}
	i, _ := bf.Int64()
	if i < 1 || i > 65535 {
		return 0, false
	}
	return int(i), true
}

// duration decodes a Go duration string such as "10m".
func (d *decoder) duration(name string, def time.Duration) time.Duration {
	s := d.str(name, "")
	if s == "" {
		return def
	}
	t, err := time.ParseDuration(s)
	if err != nil || t <= 0 {
		d.l.errorf(d.rng(name), "Invalid duration",
			"The %s of %s is %s, which is not a positive duration. Write a number with a unit, like \"90s\", \"10m\" or \"24h\".", name, d.where, d.quoted(name, s))
		return def
	}
	return t
}

// stringMap decodes a map of strings; keyRange gives each key's range when
// the map is written literally.
func (d *decoder) stringMap(name string) (map[string]string, map[string]hcl.Range) {
	v, ok := d.value(name, cty.Map(cty.String), fmt.Sprintf("a map of strings, like %s = { key = \"value\" }", name))
	if !ok {
		return nil, nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			d.l.errorf(d.rng(name), "Incorrect attribute value type", "The value of %q in %s is null; write a string.", k.AsString(), name)
			continue
		}
		out[k.AsString()] = e.AsString()
	}
	return out, keyRanges(d.attr(name).Expr, d.rng(name))
}

// keyRanges returns the range of each key of a literal object expression;
// keys of non-literal expressions map to fallback.
func keyRanges(expr hcl.Expression, fallback hcl.Range) map[string]hcl.Range {
	out := map[string]hcl.Range{}
	pairs, diags := hcl.ExprMap(expr)
	if diags.HasErrors() {
		return out
	}
	for _, p := range pairs {
		k, diags := p.Key.Value(nil)
		if diags.HasErrors() || !k.IsKnown() || k.IsNull() {
			continue
		}
		if ks, err := convert.Convert(k, cty.String); err == nil {
			out[ks.AsString()] = hcl.RangeBetween(p.Key.Range(), p.Value.Range())
		}
	}
	return out
}

func rangeOr(m map[string]hcl.Range, k string, fallback hcl.Range) hcl.Range {
	if r, ok := m[k]; ok {
		return r
	}
	return fallback
}

// envMap decodes sidecar_env or cluster_env, whose values (not keys) may be
// known only after apply.
func (d *decoder) envMap(name string) EnvMap {
	a := d.attr(name)
	if a == nil {
		return EnvMap{Values: map[string]string{}}
	}
	m := EnvMap{Values: map[string]string{}, Expr: a.Expr, Range: a.Expr.Range()}
	d.ranges[d.prefix+name] = a.Expr.Range()
	v, diags := a.Expr.Value(d.ctx)
	d.l.diags = append(d.l.diags, diags...)
	if diags.HasErrors() {
		*d.failed = true
		return m
	}
	if v.IsNull() {
		return m
	}
	if !v.IsKnown() {
		d.unknown(a)
		return m
	}
	// A whole map that is sensitive (a sensitive variable, or a key
	// computed from one) makes every key sensitive.
	whole := v.IsMarked()
	v, _ = v.Unmark()
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		d.l.errorf(a.Expr.Range(), "Incorrect attribute value type",
			"The %s of %s must be a map of settings, like %s = { ISTIO_INBOUND_INTERCEPTION_MODE = \"TPROXY\" }; it is a %s.",
			name, d.where, name, ty.FriendlyName())
		*d.failed = true
		return m
	}
	keys := keyRanges(a.Expr, a.Expr.Range())
	for it := v.ElementIterator(); it.Next(); {
		kv, ev := it.Element()
		k := kv.AsString()
		krng := rangeOr(keys, k, a.Expr.Range())
		sensitive := whole || ev.ContainsMarked()
		if !envNameRe.MatchString(k) {
			shown := quote(k)
			if whole {
				shown = "A key computed from a sensitive value"
			}
			d.l.errorf(krng, "Invalid environment variable name",
				"%s in %s of %s is not a valid name: use letters, digits and '_', not starting with a digit, like ISTIO_INBOUND_PORTS.", shown, name, d.where)
			continue
		}
		ev, _ = ev.UnmarkDeep()
		if !ev.IsWhollyKnown() {
			if d.l.dependsOnUnset(a.Expr, map[string]bool{}) {
				continue // validate without a value: nothing to check
			}
			if sensitive && name == "sidecar_env" {
				// Which keys of sidecar.env are secret is decided when
				// observing it, from the values known then.
				d.l.errorf(krng, "Sensitive value known only after apply",
					"The value of %s in %s of %s derives from a sensitive value and from a value known only after apply; meshx can protect a sensitive setting of sidecar.env only when it is known at plan time. Move the setting to cluster_env, or compute it from values known at plan time.", k, name, d.where)
				*d.failed = true
				continue
			}
			m.Unknown = append(m.Unknown, k)
			if sensitive {
				m.Sensitive = append(m.Sensitive, k)
			}
			continue
		}
		sv, err := convert.Convert(ev, cty.String)
		if err != nil || sv.IsNull() {
			d.l.errorf(krng, "Incorrect attribute value type",
				"The value of %s in %s of %s must be a string, number or bool.", k, name, d.where)
			continue
		}
		s := sv.AsString()
		if strings.ContainsAny(s, "\n\r\x00") {
			d.l.errorf(krng, "Invalid environment value",
				"The value of %s in %s of %s contains a line break or NUL, which the env file format cannot hold. Remove it (trimspace() helps with file()).", k, name, d.where)
			continue
		}
		m.Values[k] = s
		if sensitive {
			m.Sensitive = append(m.Sensitive, k)
		}
	}
	sort.Strings(m.Unknown)
	sort.Strings(m.Sensitive)
	return m
}

// path resolves a file path: "~" is the home directory, relative paths
// are relative to the configuration directory.
func (l *loader) path(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = filepath.Join(l.home, p[1:])
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, p)
	}
	return filepath.Clean(p)
}

// cidr parses a CIDR attribute, which must have no host bits set.
func (d *decoder) cidr(name string) (string, netip.Prefix) {
	s := d.str(name, "")
	if s == "" {
		if d.has(name) && !*d.failed {
			d.l.errorf(d.rng(name), "Invalid CIDR", "The %s of %s is empty. Write a CIDR prefix, like \"10.96.0.0/12\".", name, d.where)
		}
		return "", netip.Prefix{}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		// The parser's reason quotes the value.
		why := ": " + strings.TrimPrefix(err.Error(), "netip.ParsePrefix("+fmt.Sprintf("%q", s)+"): ")
		if d.sensitive(name) {
			why = ""
		}
		d.l.errorf(d.rng(name), "Invalid CIDR",
			"The %s of %s is %s, which is not a CIDR prefix%s. Write an address and a prefix length, like \"172.16.0.0/16\".",
			name, d.where, d.quoted(name, s), why)
		return "", netip.Prefix{}
	}
	if m := p.Masked(); m != p {
		fix := fmt.Sprintf(" Did you mean %q?", m.String())
		if d.sensitive(name) {
			fix = " Clear the host bits."
		}
		d.l.errorf(d.rng(name), "CIDR has host bits set",
			"The %s of %s is %s, whose address has bits set beyond the /%d prefix.%s", name, d.where, d.quoted(name, s), p.Bits(), fix)
		return "", netip.Prefix{}
	}
	return p.String(), p
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// oneOf checks an enumerated attribute value.
func (d *decoder) oneOf(name, val string, allowed []string, summary string) bool {
	for _, a := range allowed {
		if val == a {
			return true
		}
	}
	hint := ""
	if s := Suggest(val, allowed); s != "" && !d.sensitive(name) {
		hint = fmt.Sprintf(" Did you mean %q?", s)
	}
	d.l.errorf(d.rng(name), summary, "The %s of %s is %s; it must be one of %s.%s", name, d.where, d.quoted(name, val), quoteList(allowed), hint)
	return false
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// checkName reports a name that fails check, at rng.
func (l *loader) checkName(rng hcl.Range, what, name string, check func(string) string) bool {
	return l.checkNameShown(rng, what, name, quote(name), check)
}

// checkName reports the value of an attribute that fails check.
func (d *decoder) checkName(attr, what, name string, check func(string) string) bool {
	return d.l.checkNameShown(d.rng(attr), what, name, d.quoted(attr, name), check)
}

// checkNameShown is checkName with the name as the diagnostic shows it.
func (l *loader) checkNameShown(rng hcl.Range, what, name, shown string, check func(string) string) bool {
	if msg := check(name); msg != "" {
		l.errorf(rng, "Invalid "+what, "%s is not a valid %s. %s", shown, what, msg)
		return false
	}
	return true
}

// Suggest returns the candidate a user most likely meant by name, or ""
// when none is close: the nearest candidate at most two edits away (case
// aside), else the longest one that name starts with or that starts with
// name ("alibaba" for "alibabacloud", "aws" for "aw").
func Suggest(name string, candidates []string) string {
	lower := strings.ToLower(name)
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(lower, strings.ToLower(c), nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" || len(lower) < 2 {
		return best
	}
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if len(lc) >= 2 && (strings.HasPrefix(lower, lc) || strings.HasPrefix(lc, lower)) && len(c) > len(best) {
			best = c
		}
	}
	return best
}
