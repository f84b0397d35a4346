package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/posener/complete"
	"github.com/rogpeppe/go-internal/diff"
)

func init() {
	register("fmt", func(m *Meta) Command { return &fmtCommand{Meta: m} })
}

// Exit statuses of fmt. An error is 1, as for every other command (2 means
// "changes present" to scripts that run plan -detailed-exitcode); 3, as
// Terraform's, means -check found unformatted input.
const (
	fmtExitError       = 1
	fmtExitUnformatted = 3
)

// fmtCommand rewrites configuration files in the canonical style.
type fmtCommand struct {
	*Meta
	list, write, diff, check, recursive bool
}

func (c *fmtCommand) Synopsis() string { return "Rewrite configuration files to the canonical format" }

func (c *fmtCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] fmt [options] [target...]

  Rewrites *.hcl, meshx.vars and *.vars files to the canonical format and
  style (hclwrite). A target is a file or a directory (default: the current
  directory, or -chdir=DIR); "-" reads standard input and writes the result to
  standard output.

  Exit status: 0 when done (or, with -check, when everything is formatted),
  1 for an error (a bad option, a syntax error), 3 when -check finds
  unformatted input.

Options:
  -list=false         Do not list the files whose formatting differs.
  -write=false        Do not rewrite the files (implied by -check and by
                      standard input).
  -diff               Show a diff of the formatting changes.
  -check              Only check whether the input is formatted.
  -recursive          Also process the subdirectories of directory targets.
  -no-color           Do not use terminal colours.
`)
}

func (c *fmtCommand) AutocompleteArgs() complete.Predictor {
	return complete.PredictOr(complete.PredictDirs("*"), complete.PredictFiles("*.hcl"), complete.PredictFiles("*.vars"))
}

func (c *fmtCommand) AutocompleteFlags() complete.Flags {
	return complete.Flags{
		"-list":      complete.PredictNothing,
		"-write":     complete.PredictNothing,
		"-diff":      complete.PredictNothing,
		"-check":     complete.PredictNothing,
		"-recursive": complete.PredictNothing,
		"-no-color":  complete.PredictNothing,
	}
}

// formattable reports whether fmt processes a file found in a directory.
func formattable(name string) bool {
	return strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".vars")
}

func (c *fmtCommand) Run(args []string) int {
	fs := c.FlagSet("fmt")
	fs.BoolVar(&c.list, "list", true, "")
	fs.BoolVar(&c.write, "write", true, "")
	fs.BoolVar(&c.diff, "diff", false, "")
	fs.BoolVar(&c.check, "check", false, "")
	fs.BoolVar(&c.recursive, "recursive", false, "")
	err := c.Parse(fs, args)
	view := c.View()
	if err != nil {
		return flagError(view, err)
	}
	if c.check {
		c.write = false
	}
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{"."}
	}
	var diags hcl.Diagnostics
	files := map[string]*hcl.File{}
	unformatted := false
	for _, t := range targets {
		if t == "-" {
			changed, d := c.stdin(files)
			diags = append(diags, d...)
			unformatted = unformatted || changed
			continue
		}
		changed, d := c.target(t, files)
		diags = append(diags, d...)
		unformatted = unformatted || changed
	}
	view.SetSources(Sources(files))
	view.Diagnostics(diags)
	switch {
	case diags.HasErrors():
		return fmtExitError
	case c.check && unformatted:
		return fmtExitUnformatted
	}
	return 0
}

// path resolves a target against the working directory.
func (c *fmtCommand) path(t string) string {
	if filepath.IsAbs(t) {
		return t
	}
	return filepath.Join(c.WorkingDir, t)
}

// target formats one file or directory target.
func (c *fmtCommand) target(t string, files map[string]*hcl.File) (bool, hcl.Diagnostics) {
	p := c.path(t)
	fi, err := os.Stat(p)
	if err != nil {
		return false, errorDiag("Cannot format "+t, fmt.Sprintf("%s. Give existing files or directories.", err))
	}
	if !fi.IsDir() {
		if !formattable(t) {
			return false, errorDiag("Cannot format "+t, "Only *.hcl and *.vars files can be formatted.")
		}
		return c.file(t, p, files)
	}
	var paths []string
	walkErr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != p && (!c.recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if formattable(d.Name()) && !strings.HasPrefix(d.Name(), ".") {
			paths = append(paths, path)
		}
		return nil
	})
	if walkErr != nil {
		return false, errorDiag("Cannot format "+t, walkErr.Error()+".")
	}
	sort.Strings(paths)
	var diags hcl.Diagnostics
	changed := false
	for _, path := range paths {
		rel, err := filepath.Rel(c.WorkingDir, path)
		if err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(t) {
			rel = path
		}
		ch, d := c.file(rel, path, files)
		diags = append(diags, d...)
		changed = changed || ch
	}
	return changed, diags
}

// file formats one file; name is how it is shown.
func (c *fmtCommand) file(name, path string, files map[string]*hcl.File) (bool, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return false, errorDiag("Cannot read "+name, err.Error()+".")
	}
	out, diags := format(name, src, files)
	if diags.HasErrors() {
		return false, diags
	}
	if bytes.Equal(src, out) {
		return false, diags
	}
	if c.list {
		fmt.Fprintln(c.Stdout, name)
	}
	if c.diff {
		c.Stdout.Write(diff.Diff("old/"+filepath.ToSlash(name), src, "new/"+filepath.ToSlash(name), out))
	}
	if c.write {
		if err := writeFileKeepMode(path, out); err != nil {
			return true, append(diags, errorDiag("Cannot write "+name, err.Error()+".")...)
		}
	}
	return true, diags
}

// stdin formats standard input to standard output (or only checks it).
func (c *fmtCommand) stdin(files map[string]*hcl.File) (bool, hcl.Diagnostics) {
	if c.Stdin == nil {
		return false, errorDiag("Cannot read standard input", "No standard input is available.")
	}
	src, err := io.ReadAll(c.Stdin)
	if err != nil {
		return false, errorDiag("Cannot read standard input", err.Error()+".")
	}
	out, diags := format("<stdin>", src, files)
	if diags.HasErrors() {
		return false, diags
	}
	changed := !bytes.Equal(src, out)
	switch {
	case c.diff:
		c.Stdout.Write(diff.Diff("old/<stdin>", src, "new/<stdin>", out))
	case !c.check:
		c.Stdout.Write(out)
	}
	return changed, diags
}

// format checks the syntax of src and returns it in canonical form.
func format(name string, src []byte, files map[string]*hcl.File) ([]byte, hcl.Diagnostics) {
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, name)
	if f != nil {
		files[name] = f
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), diags
}

// writeFileKeepMode replaces a file's content, keeping its mode, through a
// temporary file and a rename so that a crash never leaves half a file.
func writeFileKeepMode(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), fi.Mode().Perm())); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func errorDiag(summary, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}
}
