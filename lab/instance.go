package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// InstanceMarker is the file up writes first into an instance directory.
// down and up remove nothing from a directory without it (or, for an
// instance made before the marker existed, without a lab.json naming the
// directory): they run as root, and -dir may name any directory.
const InstanceMarker = ".meshx-lab-instance"

// checkInstance returns an error unless dir is a lab instance directory:
// it holds InstanceMarker, or a lab.json whose dir is dir.
func checkInstance(dir string) error {
	if _, err := os.Lstat(filepath.Join(dir, InstanceMarker)); err == nil {
		return nil
	}
	if b, err := os.ReadFile(labJSON(dir)); err == nil {
		var f labFile
		if json.Unmarshal(b, &f) == nil && f.Version == 1 && filepath.Clean(f.Dir) == filepath.Clean(dir) {
			return nil
		}
	}
	return fmt.Errorf("%s is not a lab instance directory: it has neither the %s file meshx-lab up writes nor a lab.json naming it, so meshx-lab removes nothing there. Check -dir: it must be the directory an instance was brought up in, such as the path meshx-lab status prints",
		dir, InstanceMarker)
}

// claimInstance makes dir an instance directory, refusing a directory
// that holds anything but an instance.
func claimInstance(dir string) error {
	if checkInstance(dir) != nil {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if len(ents) > 0 {
			return checkInstance(dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, InstanceMarker), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
