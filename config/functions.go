package config

import (
	"encoding/pem"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"github.com/zclconf/go-cty/cty/gocty"
)

// functions returns the functions available in expressions: go-cty's
// standard library under Terraform's names, try and can, file and
// templatefile (paths relative to dir), and cidrhost, cidrsubnet and
// cidrnetmask.
//
// keyFile reports whether an absolute, clean path is a private key file
// (named by a private_key_file attribute); nil means none is. What file()
// reads from one is sensitive.
func functions(dir string, keyFile func(string) bool) map[string]function.Function {
	fs := map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          lengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
		"try":             tryfunc.TryFunc,
		"can":             tryfunc.CanFunc,
		"cidrhost":        cidrHostFunc,
		"cidrsubnet":      cidrSubnetFunc,
		"cidrnetmask":     cidrNetmaskFunc,
		"file":            fileFunc(dir, keyFile),
	}
	// templatefile sees every function but itself, so templates cannot
	// recurse.
	inner := make(map[string]function.Function, len(fs))
	for k, v := range fs {
		inner[k] = v
	}
	fs["templatefile"] = templateFileFunc(dir, keyFile, inner)
	return fs
}

// readConfigFile reads a file named by file() or templatefile(). When the
// path is sensitive, errors do not repeat it.
func readConfigFile(dir, path string, sensitive bool) (string, error) {
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	shown := fmt.Sprintf("%q", path)
	if sensitive {
		shown = "the path, a sensitive value,"
	}
	b, err := readFile(p)
	if err != nil {
		if err == errTooLarge {
			return "", fmt.Errorf("%s is %w", shown, err)
		}
		if os.IsNotExist(err) {
			return "", fmt.Errorf("no file exists at %s (relative paths are relative to the configuration directory)", shown)
		}
		if sensitive {
			return "", fmt.Errorf("cannot read the file at %s", shown)
		}
		return "", fmt.Errorf("read %s: %w", shown, err)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("contents of %s are not valid UTF-8", shown)
	}
	return string(b), nil
}

// pathArg unmarks a path argument, reporting whether it was marked.
func pathArg(v cty.Value) (string, cty.ValueMarks) {
	v, marks := v.Unmark()
	return v.AsString(), marks
}

// secretContent marks s sensitive when it is, or the file at path is, a
// private key: a plan or output must never show one in clear.
func secretContent(s string, marks cty.ValueMarks, dir, path string, keyFile func(string) bool) cty.Value {
	v := cty.StringVal(s).WithMarks(marks)
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	if isPrivateKey(s) || (keyFile != nil && keyFile(filepath.Clean(path))) {
		v = v.Mark(sensitiveMark)
	}
	return v
}

// isPrivateKey reports whether s holds a private key: a PEM block whose
// type ends in PRIVATE KEY (PKCS#1, PKCS#8, SEC 1, OpenSSH, encrypted ones)
// or a PuTTY key file.
func isPrivateKey(s string) bool {
	if strings.Contains(s, "PuTTY-User-Key-File-") {
		return true
	}
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return true
		}
	}
}

// fileFunc is file(). Its result is sensitive when the path is, or when it
// is a private key (see secretContent).
func fileFunc(dir string, keyFile func(string) bool) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a file (relative to the configuration directory) as a UTF-8 string.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String, AllowMarked: true}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path, marks := pathArg(args[0])
			s, err := readConfigFile(dir, path, len(marks) > 0)
			if err != nil {
				return cty.UnknownVal(cty.String), function.NewArgError(0, err)
			}
			return secretContent(s, marks, dir, path, keyFile), nil
		},
	})
}

func templateFileFunc(dir string, keyFile func(string) bool, funcs map[string]function.Function) function.Function {
	render := func(args []cty.Value) (cty.Value, error) {
		path, marks := pathArg(args[0])
		src, err := readConfigFile(dir, path, len(marks) > 0)
		if err != nil {
			return cty.DynamicVal, function.NewArgError(0, err)
		}
		shown := path
		if len(marks) > 0 {
			shown = "template"
		}
		if err := checkTemplateSource([]byte(src), shown); err != nil {
			return cty.DynamicVal, function.NewArgError(0, err)
		}
		expr, diags := hclsyntax.ParseTemplate([]byte(src), shown, hcl.Pos{Line: 1, Column: 1})
		if diags.HasErrors() {
			return cty.DynamicVal, function.NewArgError(0, diags)
		}
		vars := args[1]
		if !vars.CanIterateElements() {
			return cty.DynamicVal, function.NewArgErrorf(1, "template variables must be a map or an object")
		}
		ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: funcs}
		for it := vars.ElementIterator(); it.Next(); {
			k, v := it.Element()
			if k.Type() != cty.String || !k.IsKnown() {
				return cty.DynamicVal, function.NewArgErrorf(1, "template variable names must be strings")
			}
			name := k.AsString()
			if !hclsyntax.ValidIdentifier(name) {
				return cty.DynamicVal, function.NewArgErrorf(1, "template variable name %q is not a valid identifier", name)
			}
			ctx.Variables[name] = v
		}
		for _, t := range expr.Variables() {
			if _, ok := ctx.Variables[t.RootName()]; !ok {
				return cty.DynamicVal, function.NewArgErrorf(1, "template %q uses %q, which is not in the variables map", shown, t.RootName())
			}
		}
		v, diags := expr.Value(ctx)
		if diags.HasErrors() {
			return cty.DynamicVal, diags
		}
		v = v.WithMarks(marks)
		if u, _ := v.UnmarkDeep(); u.Type() == cty.String && u.IsKnown() && !u.IsNull() {
			if sv := secretContent(u.AsString(), nil, dir, path, keyFile); sv.IsMarked() {
				v = v.Mark(sensitiveMark)
			}
		}
		return v, nil
	}
	return function.New(&function.Spec{
		Description: "Renders a template file (relative to the configuration directory) with the given variables.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String, AllowMarked: true},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: func(args []cty.Value) (cty.Type, error) {
			if !args[0].IsKnown() || !args[1].IsWhollyKnown() {
				return cty.DynamicPseudoType, nil
			}
			v, err := render(args)
			return v.Type(), err
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) { return render(args) },
	})
}

func parsePrefixArg(v cty.Value) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(v.AsString())
	if err != nil {
		return netip.Prefix{}, function.NewArgErrorf(0, "invalid CIDR %q: %s", v.AsString(), err)
	}
	return p.Masked(), nil
}

func addrToInt(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

func intToAddr(n *big.Int, is4 bool) netip.Addr {
	size := 16
	if is4 {
		size = 4
	}
	b := n.FillBytes(make([]byte, size))
	a, _ := netip.AddrFromSlice(b)
	return a
}

func intArg(v cty.Value, i int) (int64, error) {
	var n int64
	if err := gocty.FromCtyValue(v, &n); err != nil {
		return 0, function.NewArgErrorf(i, "must be a whole number: %s", err)
	}
	return n, nil
}

var cidrHostFunc = function.New(&function.Spec{
	Description: "Returns the IP of host number hostnum within a CIDR prefix; negative numbers count from the end.",
	Params:      []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := parsePrefixArg(args[0])
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		hostnum, err := intArg(args[1], 1)
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		hostBits := uint(p.Addr().BitLen() - p.Bits())
		size := new(big.Int).Lsh(big.NewInt(1), hostBits)
		h := big.NewInt(hostnum)
		if hostnum < 0 {
			h.Add(h, size)
		}
		if h.Sign() < 0 || h.Cmp(size) >= 0 {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "prefix %s has no host number %d", p, hostnum)
		}
		n := addrToInt(p.Addr())
		n.Add(n, h)
		return cty.StringVal(intToAddr(n, p.Addr().Is4()).String()), nil
	},
})

var cidrSubnetFunc = function.New(&function.Spec{
	Description: "Returns subnet number netnum of a CIDR prefix extended by newbits bits.",
	Params: []function.Parameter{
		{Name: "prefix", Type: cty.String},
		{Name: "newbits", Type: cty.Number},
		{Name: "netnum", Type: cty.Number},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := parsePrefixArg(args[0])
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		newbits, err := intArg(args[1], 1)
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		netnum, err := intArg(args[2], 2)
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		bitLen := p.Addr().BitLen()
		newLen := int64(p.Bits()) + newbits
		if newbits < 0 || newLen > int64(bitLen) {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "cannot extend prefix %s by %d bits", p, newbits)
		}
		if netnum < 0 || new(big.Int).Lsh(big.NewInt(1), uint(newbits)).Cmp(big.NewInt(netnum)) <= 0 {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(2, "prefix %s extended by %d bits has no subnet number %d", p, newbits, netnum)
		}
		n := addrToInt(p.Addr())
		n.Add(n, new(big.Int).Lsh(big.NewInt(netnum), uint(int64(bitLen)-newLen)))
		out := netip.PrefixFrom(intToAddr(n, p.Addr().Is4()), int(newLen))
		return cty.StringVal(out.String()), nil
	},
})

var cidrNetmaskFunc = function.New(&function.Spec{
	Description: "Returns the dotted netmask of an IPv4 CIDR prefix.",
	Params:      []function.Parameter{{Name: "prefix", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := parsePrefixArg(args[0])
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		if !p.Addr().Is4() {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "%s is not an IPv4 prefix", p)
		}
		m := ^uint32(0) << (32 - p.Bits())
		if p.Bits() == 0 {
			m = 0
		}
		return cty.StringVal(fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)), nil
	},
})

// lengthFunc is Terraform's length: characters of a string, elements of a
// collection, attributes of an object.
var lengthFunc = function.New(&function.Spec{
	Description: "Returns the number of characters of a string or elements of a collection.",
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
		AllowMarked:      true,
	}},
	Type: function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, marks := args[0].Unmark()
		ty := v.Type()
		switch {
		case ty == cty.DynamicPseudoType || !v.IsKnown():
			return cty.UnknownVal(cty.Number).WithMarks(marks), nil
		case v.IsNull():
			return cty.NilVal, function.NewArgErrorf(0, "argument must not be null")
		case ty == cty.String:
			n, err := stdlib.Strlen(v)
			return n.WithMarks(marks), err
		case ty.IsObjectType():
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))).WithMarks(marks), nil
		case ty.IsListType() || ty.IsSetType() || ty.IsMapType() || ty.IsTupleType():
			return v.Length().WithMarks(marks), nil
		}
		return cty.NilVal, function.NewArgErrorf(0, "argument must be a string, a collection or an object")
	},
})
