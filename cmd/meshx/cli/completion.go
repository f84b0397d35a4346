package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	mcli "github.com/hashicorp/cli"
	"github.com/hashicorp/hcl/v2"
	"github.com/meshx-dev/meshx/internal/shellquote"
	"github.com/posener/complete"
	"github.com/posener/complete/cmd/install"
)

// complete answers a shell's completion request (COMP_LINE is set), built
// from the registered commands and their AutocompleteFlags/Args.
func (m *Meta) complete() bool {
	root := complete.Command{
		Sub: complete.Commands{},
		GlobalFlags: complete.Flags{
			"-chdir":   complete.PredictDirs("*"),
			"-help":    complete.PredictNothing,
			"-version": complete.PredictNothing,
		},
		Flags: complete.Flags{
			"-install-autocomplete":   complete.PredictNothing,
			"-uninstall-autocomplete": complete.PredictNothing,
		},
	}
	for _, name := range commandNames() {
		sub := complete.Command{}
		if ac, ok := registry[name](m).(mcli.CommandAutocomplete); ok {
			sub.Args = ac.AutocompleteArgs()
			sub.Flags = ac.AutocompleteFlags()
		}
		root.Sub[name] = sub
	}
	root.Sub["help"] = complete.Command{Args: complete.PredictSet(commandNames()...)}
	c := complete.New("meshx", root)
	c.Out = m.Stdout
	return c.Complete()
}

// installCompletion adds (or removes) "complete -C <meshx> meshx" to the
// user's bash and zsh start-up files, as terraform -install-autocomplete
// does.
func (m *Meta) installCompletion(add bool) int {
	var err error
	if add {
		err = install.Install("meshx")
	} else {
		err = install.Uninstall("meshx")
	}
	if err != nil {
		m.View().Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot change the shell's start-up files", Detail: err.Error() + "."}})
		return ExitError
	}
	if add {
		fmt.Fprintln(m.Stdout, "Completion installed; start a new shell to use it.")
	} else {
		fmt.Fprintln(m.Stdout, "Completion removed.")
	}
	return 0
}

func init() {
	register("completion", func(m *Meta) Command { return &completionCommand{Meta: m} })
}

// completionCommand prints the shell code enabling completion, for users
// who prefer not to have their start-up files edited.
type completionCommand struct{ *Meta }

func (c *completionCommand) Synopsis() string { return "Print shell code enabling completion" }

func (c *completionCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] completion bash|zsh

  Prints the shell code that makes bash or zsh complete meshx's commands,
  options and file arguments by asking meshx itself. Load it with

    source <(meshx completion bash)     # in ~/.bashrc
    source <(meshx completion zsh)      # in ~/.zshrc

  or let "meshx -install-autocomplete" add it to your start-up files.
`)
}

func (c *completionCommand) AutocompleteArgs() complete.Predictor {
	return complete.PredictSet("bash", "zsh")
}

func (c *completionCommand) AutocompleteFlags() complete.Flags { return complete.Flags{} }

func (c *completionCommand) Run(args []string) int {
	fs := c.FlagSet("completion")
	err := c.Parse(fs, args)
	view := c.View()
	switch {
	case err != nil:
		return flagError(view, err)
	case fs.NArg() != 1:
		return flagError(view, fmt.Errorf("completion needs one argument, bash or zsh"))
	}
	bin, err := os.Executable()
	if err == nil {
		bin, err = filepath.Abs(bin)
	}
	if err != nil {
		view.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot find the meshx binary", Detail: err.Error() + "."}})
		return ExitError
	}
	switch fs.Arg(0) {
	case "bash":
		fmt.Fprintf(c.Stdout, "complete -C %s meshx\n", shellquote.Word(bin))
	case "zsh":
		fmt.Fprintf(c.Stdout, "autoload -U +X bashcompinit && bashcompinit\ncomplete -o nospace -C %s meshx\n", shellquote.Word(bin))
	default:
		return flagError(view, fmt.Errorf("unknown shell %q: use bash or zsh", fs.Arg(0)))
	}
	return 0
}
