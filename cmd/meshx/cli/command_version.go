package cli

import (
	"fmt"
	"runtime"
	"strings"

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

// versionJSON is the version -json document; its field names are a
// machine format and do not change.
type versionJSON struct {
	Version   string `json:"meshx_version"`
	Platform  string `json:"platform"`
	GoVersion string `json:"go_version"`
}

func (c *versionCommand) Run(args []string) int {
	var jsonOut bool
	fs := c.FlagSet("version")
	fs.BoolVar(&jsonOut, "json", false, "")
	if err := c.Parse(fs, args); err != nil {
		return c.FlagError(err, jsonOut || wantsJSON(args))
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	if jsonOut {
		c.writeJSON(versionJSON{Version: Version, Platform: platform, GoVersion: runtime.Version()})
		return 0
	}
	fmt.Fprintf(c.Stdout, "meshx v%s\non %s\n", Version, platform)
	return 0
}
