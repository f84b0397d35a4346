package cli

// How to add a command
//
// Create one file, command_<name>.go, in this package:
//
//	func init() { register("plan", func(m *Meta) Command { return &planCommand{Meta: m} }) }
//
//	type planCommand struct{ *Meta }
//
//	func (c *planCommand) Synopsis() string { return "Show what apply would change" }
//	func (c *planCommand) Help() string     { return "Usage: meshx [global options] plan [options]\n\n…" }
//	func (c *planCommand) Run(args []string) int {
//		var jsonOut bool
//		fs := c.FlagSet("plan")          // has -no-color
//		fs.BoolVar(&jsonOut, "json", false, "")
//		c.VarFlags(fs)                   // -var, -var-file, in order
//		err := c.Parse(fs, args)         // options may follow arguments
//		base := c.View()
//		view := views.NewPlan(viewType(jsonOut, "", args, err), base, views.PlanViewOptions{})
//		if err != nil {
//			return flagError(view, err)  // in JSON with -json
//		}
//		cfg, diags := c.LoadConfig()     // honours -chdir, -var, MESHX_VAR_*
//		base.SetSources(Sources(cfg.Files))
//		view.Diagnostics(diags)
//		…
//	}
//
// The command's output goes through its view, chosen once from the flags
// (see package views on how a command gets one); the command itself never
// branches on the output format.
//
// Optionally implement AutocompleteFlags/AutocompleteArgs (see
// hashicorp/cli's CommandAutocomplete; Meta.CompleteVarFlags helps) for
// shell completion. The command shows up in `meshx -help`, `meshx help`,
// completion and the testscript runner without further wiring. Flags accept
// both -flag=value and --flag=value (package flag does). Write output only
// through the view (or to c.Stdout and c.Stderr for data such as fmt's),
// never to os.Stdout.

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	mcli "github.com/hashicorp/cli"
	"golang.org/x/term"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/meshx-dev/meshx/config"
)

// Version is meshx's version, set at build time with
// -ldflags "-X github.com/meshx-dev/meshx/cmd/meshx/cli.Version=1.2.3".
var Version = "0.1.0-dev"

// Command is one meshx subcommand.
type Command = mcli.Command

// factory makes a command bound to one invocation's Meta.
type factory func(*Meta) Command

// registry holds every command, filled by register in init funcs.
var registry = map[string]factory{}

// register adds a command. Call it from an init func in the command's file.
func register(name string, f factory) {
	if _, dup := registry[name]; dup {
		panic("cli: command registered twice: " + name)
	}
	registry[name] = f
}

// commandNames returns the registered command names, sorted.
func commandNames() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Run runs meshx with args (without the program name) and returns the exit
// status. A panic is a bug: Run recovers it and returns ExitError, so that
// a crash never reads as success or as plan -detailed-exitcode's "changes
// present" (2, also Go's status for an unrecovered panic).
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "Error: meshx crashed: %v\n\n%s\nThis is a bug in meshx %s. Please report it with the output above and the command you ran. If it crashed during apply, run meshx plan to see what is left to do.\n",
				views.Escape(fmt.Sprint(r)), debug.Stack(), Version)
			code = ExitError
		}
	}()
	return run(args, stdin, stdout, stderr)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	m := newMeta(stdin, stdout, stderr, os.Environ())

	// Shells call the binary with COMP_LINE set to ask for completions.
	if m.getenv(compLineEnv) != "" && m.complete() {
		return 0
	}

	args, code, done := m.globalOptions(args)
	if done {
		return code
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, helpText())
		return 1
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprintln(stdout, helpText())
		return 0
	case "-v", "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	case "help":
		return m.help(args[1:])
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "Error: unknown global option %s. Global options go before the command; command options after it.\n\n%s\n", args[0], helpText())
		return 1
	}
	if _, ok := registry[args[0]]; !ok {
		fmt.Fprintf(stderr, "Error: meshx has no command named %q.%s\n\nTo see all of meshx's commands, run:\n  meshx -help\n", args[0], didYouMean(args[0], commandNames()))
		return 1
	}
	c := &mcli.CLI{
		Name:        "meshx",
		Args:        args,
		Commands:    map[string]mcli.CommandFactory{},
		HelpFunc:    func(map[string]mcli.CommandFactory) string { return helpText() },
		HelpWriter:  stdout,
		ErrorWriter: stderr,
	}
	for name, f := range registry {
		c.Commands[name] = func() (mcli.Command, error) { return f(m), nil }
	}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %s\n", err)
		return 1
	}
	return code
}

// globalOptions consumes the options before the command. done is set when
// an option was the whole job (or failed).
func (m *Meta) globalOptions(args []string) (rest []string, code int, done bool) {
	for len(args) > 0 {
		a := args[0]
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") {
			break
		}
		switch name {
		case "chdir":
			if !hasVal {
				if len(args) < 2 {
					fmt.Fprintln(m.Stderr, "Error: -chdir needs a directory, like -chdir=envs/prod.")
					return nil, 1, true
				}
				val, args = args[1], args[1:]
			}
			if fi, err := os.Stat(val); err != nil || !fi.IsDir() {
				fmt.Fprintf(m.Stderr, "Error: -chdir=%s: not a directory.\n", val)
				return nil, 1, true
			}
			m.WorkingDir = val
		case "install-autocomplete", "uninstall-autocomplete":
			return nil, m.installCompletion(name == "install-autocomplete"), true
		default:
			return args, 0, false
		}
		args = args[1:]
	}
	return args, 0, false
}

// help implements `meshx help [command]`.
func (m *Meta) help(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(m.Stdout, helpText())
		return 0
	}
	f, ok := registry[args[0]]
	if !ok {
		fmt.Fprintf(m.Stderr, "Error: meshx has no command named %q.%s\n", args[0], didYouMean(args[0], commandNames()))
		return 1
	}
	fmt.Fprintln(m.Stdout, strings.TrimSpace(f(m).Help()))
	return 0
}

// helpText is the top-level usage.
func helpText() string {
	var b strings.Builder
	b.WriteString(`Usage: meshx [global options] <command> [options] [args]

meshx makes Istio mesh expansion declarative: clusters, VMs and the services
they host are described in *.hcl files; meshx validates them, plans the
changes and applies them over the Kubernetes API and SSH.

Commands:
`)
	names := commandNames()
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	m := newMeta(nil, io.Discard, io.Discard, nil)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, registry[n](m).Synopsis())
	}
	b.WriteString(`
Global options (before the command):
  -chdir=DIR                Use the configuration in DIR instead of the
                            current directory.
  -help                     Show this help; "meshx help <command>" shows a
                            command's.
  -version                  Show the version, like "meshx version".
  -install-autocomplete     Install bash and zsh completion for meshx.
  -uninstall-autocomplete   Remove it again.

Options are written -name=value; --name=value works too.`)
	return b.String()
}

// didYouMean suggests the closest name.
func didYouMean(name string, names []string) string {
	best := config.Suggest(name, names)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth returns w's width, or 0 when it is not a terminal.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}
