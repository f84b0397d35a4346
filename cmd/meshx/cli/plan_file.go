package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/meshx-dev/meshx/planfile"
)

// readPlanFile reads the saved plan at path. The diagnostic says what is
// wrong with the file and what to do; a plan file comes from outside, so
// it is input to check, not a command-line option.
func readPlanFile(path string) (*planfile.File, *hcl.Diagnostic) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot read plan file",
			Detail:   fmt.Sprintf("%s. Pass the file meshx plan -out=FILE wrote; a relative path is relative to -chdir's directory.", err),
		}
	}
	defer fh.Close()
	f, err := planfile.Read(fh)
	if err != nil {
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid plan file",
			Detail: fmt.Sprintf("%s cannot be used as a saved plan: %s.\n\nPass the file meshx plan -out=FILE wrote. If it is damaged or was not made by meshx, make the plan again with meshx plan -out=FILE and review it.",
				path, strings.TrimSuffix(err.Error(), ".")),
		}
	}
	return f, nil
}
