package config

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits on what the loader reads. HCL's parser and evaluator recurse once
// per nesting level, and a Go program that runs out of stack dies with an
// unrecoverable fatal error, so hostile input is measured before it is
// parsed. Both limits are far above anything written by hand. The size
// limit bounds memory too: lexing costs a few hundred bytes a token, so a
// 1 MiB file of one-byte tokens takes about 400 MB before it is refused.
const (
	// MaxFileSize is the largest configuration, variables or template
	// file meshx reads, in bytes.
	MaxFileSize = 1 << 20
	// MaxNesting is the deepest an expression may nest, counting
	// brackets, braces, parentheses, quotes, template interpolations and
	// directives, and the operators of one expression.
	MaxNesting = 1000
)

// errTooLarge is returned by readFile for a file over MaxFileSize.
var errTooLarge = fmt.Errorf("larger than %d MiB", MaxFileSize>>20)

// readFile reads the file at p, at most MaxFileSize bytes of it: it fails
// with errTooLarge rather than read further.
func readFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, errTooLarge
	}
	return b, nil
}

// tooLargeDiag reports a file readFile refused; name is as ranges show it.
func tooLargeDiag(name string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "File too large",
		Detail: fmt.Sprintf("%s is larger than %d MiB, the most meshx reads from one file. Check that it is the file you meant; split a large configuration into several *.hcl files.",
			name, MaxFileSize>>20),
		Subject: &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos},
	}
}

// nestingDiag checks that tokens nest at most MaxNesting deep and returns
// an error diagnostic at the first token beyond, or nil.
func nestingDiag(tokens hclsyntax.Tokens) *hcl.Diagnostic {
	// levels[i] is the bracket open at level i and the operators of its
	// innermost expression so far: a chain of n operators parses into a
	// tree n deep.
	type level struct {
		open hclsyntax.TokenType
		ops  int
	}
	levels := []level{{}}
	depth := 0
	push := func(open hclsyntax.TokenType) {
		levels = append(levels, level{open: open})
		depth++
	}
	pop := func() {
		if top := len(levels) - 1; top > 0 {
			depth -= 1 + levels[top].ops
			levels = levels[:top]
		}
	}
	for i, t := range tokens {
		top := &levels[len(levels)-1]
		switch t.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp:
			push(t.Type)
		case hclsyntax.TokenTemplateControl:
			// %{ if } and %{ for } open a level their %{ end… } closes.
			if i+1 < len(tokens) && tokens[i+1].Type == hclsyntax.TokenIdent {
				switch string(tokens[i+1].Bytes) {
				case "if", "for":
					push(t.Type)
				case "endif", "endfor":
					pop()
				}
			}
		case hclsyntax.TokenTemplateSeqEnd:
			// The "}" of a directive closes nothing; %{ end… } did.
			if top.open == hclsyntax.TokenTemplateInterp {
				pop()
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			pop()
		case hclsyntax.TokenNewline:
			// Inside brackets and parentheses a newline does not end
			// an expression.
			if top.open == hclsyntax.TokenOBrack || top.open == hclsyntax.TokenOParen {
				continue
			}
			depth -= top.ops
			top.ops = 0
		case hclsyntax.TokenComma, hclsyntax.TokenEqual:
			depth -= top.ops
			top.ops = 0
		case hclsyntax.TokenPlus, hclsyntax.TokenMinus, hclsyntax.TokenStar, hclsyntax.TokenSlash,
			hclsyntax.TokenPercent, hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual,
			hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq, hclsyntax.TokenGreaterThan,
			hclsyntax.TokenGreaterThanEq, hclsyntax.TokenAnd, hclsyntax.TokenOr,
			hclsyntax.TokenBang, hclsyntax.TokenQuestion:
			top.ops++
			depth++
		default:
			continue
		}
		if depth > MaxNesting {
			r := t.Range
			return &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Expression nested too deeply",
				Detail: fmt.Sprintf("This expression nests more than %d levels deep, counting brackets, braces, parentheses, quotes, template interpolations and operators; meshx refuses to parse it rather than run out of stack. Check that the file is the one you meant, and split deep expressions with local values.",
					MaxNesting),
				Subject: &r,
			}
		}
	}
	return nil
}

// checkConfigSource checks a configuration or variables file before it
// is parsed.
func checkConfigSource(src []byte, name string) *hcl.Diagnostic {
	if len(src) > MaxFileSize {
		return tooLargeDiag(name)
	}
	tokens, _ := hclsyntax.LexConfig(src, name, hcl.InitialPos)
	return nestingDiag(tokens)
}

// checkExpressionSource checks an expression given outside any file.
func checkExpressionSource(src []byte, name string) *hcl.Diagnostic {
	if len(src) > MaxFileSize {
		return tooLargeDiag(name)
	}
	tokens, _ := hclsyntax.LexExpression(src, name, hcl.InitialPos)
	return nestingDiag(tokens)
}

// checkTemplateSource checks a templatefile template before it is parsed.
func checkTemplateSource(src []byte, name string) error {
	tokens, _ := hclsyntax.LexTemplate(src, name, hcl.InitialPos)
	if d := nestingDiag(tokens); d != nil {
		return errors.New(d.Subject.String() + ": " + d.Detail)
	}
	return nil
}
