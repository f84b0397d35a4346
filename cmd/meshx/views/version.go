package views

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// VersionInfo is what meshx version reports; its JSON field names are a
// machine format and do not change.
type VersionInfo struct {
	Version   string `json:"meshx_version"`
	Platform  string `json:"platform"`
	GoVersion string `json:"go_version"`
}

// Version is the view of meshx version.
type Version interface {
	Version(info VersionInfo)
	Diagnostics(diags hcl.Diagnostics)
}

// NewVersion returns version's view: {"meshx_version", "platform",
// "go_version"} (ViewJSON), or two lines of text.
func NewVersion(vt ViewType, v *View) Version {
	if vt == ViewJSON {
		return versionJSON{v}
	}
	return versionHuman{v}
}

type versionHuman struct{ *View }

func (v versionHuman) Version(info VersionInfo) {
	fmt.Fprintf(v.stdout, "meshx v%s\non %s\n", info.Version, info.Platform)
}

type versionJSON struct{ *View }

func (v versionJSON) Version(info VersionInfo)          { v.writeJSON(info) }
func (v versionJSON) Diagnostics(diags hcl.Diagnostics) { v.documentDiagnostics(diags) }
