package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/config"
	"github.com/posener/complete"
)

// Meta is what every command shares: the streams, the global options and
// the helpers for common flags and diagnostics.
type Meta struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// WorkingDir is the configuration directory: "." or -chdir's DIR.
	// Relative paths given to a command are relative to it.
	WorkingDir string
	// Env is the process environment, the only one commands read (see
	// env.go for the variables).
	Env []string

	terminal bool // Stderr is a terminal
	// stdoutTerminal is whether Stdout is a terminal: colour on Stdout and
	// prompts need it.
	stdoutTerminal bool
	noColor        bool // -no-color
	vars           []config.VarArg
}

func newMeta(stdin io.Reader, stdout, stderr io.Writer, env []string) *Meta {
	return &Meta{Stdin: stdin, Stdout: stdout, Stderr: stderr, WorkingDir: ".", Env: env, terminal: isTerminal(stderr), stdoutTerminal: isTerminal(stdout)}
}

// Color reports whether output may carry terminal colour codes: on a
// terminal, unless -no-color, NO_COLOR or TERM=dumb says otherwise.
func (m *Meta) Color() bool { return m.terminal && m.colorAllowed() }

// ColorStdout is Color for what goes to Stdout: a plan piped to a file or a
// CI log carries no escape codes.
func (m *Meta) ColorStdout() bool { return m.stdoutTerminal && m.colorAllowed() }

// colorAllowed is what the user said about colour, whatever the terminal:
// -no-color, NO_COLOR (no-color.org) and TERM=dumb (a terminal that
// understands no escape codes, such as Emacs' shell) turn it off.
func (m *Meta) colorAllowed() bool {
	return !m.noColor && m.getenv(noColorEnv) == "" && m.getenv("TERM") != "dumb"
}

// FlagSet returns a flag set for a command, with -no-color registered.
// Parse errors are returned, not printed: pass them to FlagError.
func (m *Meta) FlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&m.noColor, "no-color", false, "")
	return fs
}

// Parse parses args with fs, accepting options after positional arguments
// too (meshx apply plan.mxplan -no-color; meshx output -raw env -var
// env=prod), as kubectl and git do: package flag alone stops at the first
// argument that is not an option. "--" ends the options; what follows it
// is positional whatever it looks like.
func (m *Meta) Parse(fs *flag.FlagSet, args []string) error {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		// An option that takes a value takes the next argument.
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(positional) > 0 {
		flags = append(flags, "--")
	}
	return fs.Parse(append(flags, positional...))
}

// isBoolFlag reports whether f is set by its name alone (-json), as
// package flag decides it.
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// varArgs records -var and -var-file in command-line order.
type varArgs struct {
	m    *Meta
	file bool
}

func (v varArgs) String() string { return "" }

func (v varArgs) Set(s string) error {
	if v.file {
		v.m.vars = append(v.m.vars, config.VarArg{File: s})
	} else {
		v.m.vars = append(v.m.vars, config.VarArg{Assign: s})
	}
	return nil
}

// VarFlags adds -var 'name=value' and -var-file=FILE; both repeat, and
// later ones win.
func (m *Meta) VarFlags(fs *flag.FlagSet) {
	fs.Var(varArgs{m: m}, "var", "")
	fs.Var(varArgs{m: m, file: true}, "var-file", "")
}

// VarFlagsHelp is the help text of the flags VarFlags adds.
const VarFlagsHelp = `  -var 'name=value'   Set a variable; repeatable. Overrides MESHX_VAR_<name>,
                      meshx.vars and *.auto.vars.
  -var-file=FILE      Read variables from FILE (name = value lines);
                      repeatable. -var and -var-file apply in the order
                      given, the last one winning.`

// CompleteVarFlags are the completions of -no-color, -var and -var-file.
func (m *Meta) CompleteVarFlags() complete.Flags {
	return complete.Flags{
		"-no-color": complete.PredictNothing,
		"-var":      complete.PredictAnything,
		"-var-file": complete.PredictFiles("*.vars"),
	}
}

// LoadConfig loads the configuration in WorkingDir with the -var and
// -var-file flags and the environment. The Config is never nil.
func (m *Meta) LoadConfig() (*config.Config, hcl.Diagnostics) {
	return config.Load(m.WorkingDir, config.LoadOptions{Vars: m.vars, Env: m.Env})
}

// View returns the base view of this run: its streams, and whether each
// may carry colour. Call it after parsing the flags, -no-color being one,
// and build the command's own view on it (views.NewPlan and the like).
func (m *Meta) View() *views.View {
	return views.NewView(m.Stdout, m.Stderr, views.ViewOptions{
		ColorStdout: m.ColorStdout(),
		ColorStderr: m.Color(),
		Width:       terminalWidth(m.Stderr),
		Version:     Version,
	})
}

// Sources returns the bytes of parsed files by name, as views wants them.
func Sources(files map[string]*hcl.File) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for name, f := range files {
		if f != nil {
			out[name] = f.Bytes
		}
	}
	return out
}

// diagnosticsView is the part every command's view has.
type diagnosticsView interface{ Diagnostics(hcl.Diagnostics) }

// flagError reports a command-line error through the command's view, so
// -json gets JSON even for a bad flag, and returns exit status 1.
func flagError(v diagnosticsView, err error) int {
	v.Diagnostics(hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid command-line option",
		Detail:   fmt.Sprintf("%s. Run the command with -help to see its options.", strings.TrimSuffix(err.Error(), ".")),
	}})
	return ExitError
}

// viewType is the view a command's flags chose: -json, else
// -format=markdown, else human. When parsing failed (parseErr), -json may
// follow the bad option, so args are scanned for it.
func viewType(jsonOut bool, format string, args []string, parseErr error) views.ViewType {
	switch {
	case jsonOut || (parseErr != nil && wantsJSON(args)):
		return views.ViewJSON
	case format == "markdown":
		return views.ViewMarkdown
	}
	return views.ViewHuman
}

// wantsJSON reports whether args ask for -json, for viewType after a
// parse error.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "-json", "--json", "-json=true", "--json=true":
			return true
		}
	}
	return false
}
