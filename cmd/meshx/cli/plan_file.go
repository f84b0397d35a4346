package cli

import (
	"fmt"
	"os"
	"path/filepath"
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

// writePlanFile writes pf to path atomically, readable by its owner only.
// The temporary file is new (os.CreateTemp opens with O_EXCL and mode
// 0600), so nothing planted in the directory, a world-readable leftover or
// a symlink to another file, can take the plan's place or be written
// through.
func writePlanFile(path string, pf *planfile.File) error {
	fh, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = planfile.Write(fh, pf)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(fh.Name(), path)
	}
	if err != nil {
		os.Remove(fh.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
