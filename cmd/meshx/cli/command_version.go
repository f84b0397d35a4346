package cli

import (
	"runtime"
	"strings"

	"github.com/meshx-dev/meshx/cmd/meshx/views"
	"github.com/posener/complete"
)

func init() {
	register("version", func(m *Meta) Command { return &versionCommand{Meta: m} })
}

type versionCommand struct{ *Meta }

func (c *versionCommand) Synopsis() string { return "Show the meshx version" }

func (c *versionCommand) Help() string {
	return strings.TrimSpace(`
Usage: meshx [global options] version [options]

  Shows the meshx version and platform. "meshx -version" does the same.

Options:
  -json               Print {"meshx_version", "platform", "go_version"}.
`)
}

func (c *versionCommand) AutocompleteArgs() complete.Predictor { return complete.PredictNothing }

func (c *versionCommand) AutocompleteFlags() complete.Flags {
	return complete.Flags{"-json": complete.PredictNothing}
}

func (c *versionCommand) Run(args []string) int {
	var jsonOut bool
	fs := c.FlagSet("version")
	fs.BoolVar(&jsonOut, "json", false, "")
	err := c.Parse(fs, args)
	view := views.NewVersion(viewType(jsonOut, "", args, err), c.View())
	if err != nil {
		return flagError(view, err)
	}
	view.Version(views.VersionInfo{Version: Version, Platform: runtime.GOOS + "_" + runtime.GOARCH, GoVersion: runtime.Version()})
	return ExitOK
}
