package vm

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/meshx-dev/meshx/internal/shellquote"
)

// Names sent to the VM are validated before they are quoted: quoting keeps
// the shell from interpreting them, validation keeps them meaningful (no
// option-looking names, no line breaks that would split a record of the
// observe protocol or the manifest).
var (
	// unitNameRE follows systemd's unit name alphabet, without the
	// backslash it uses for escapes.
	unitNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,250}$`)
	// packageNameRE is Debian policy §5.6.1.
	packageNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]{1,127}$`)
	// accountRE accepts a user or group name as Debian's adduser does, or
	// a numeric id.
	accountRE = regexp.MustCompile(`^([a-z_][a-z0-9_.-]{0,31}\$?|[0-9]{1,10})$`)
	// environmentRE names the manifest file, so it is a plain file name.
	environmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	// sha256RE is a lower-case hex sha256.
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// manifestDir holds the manifests; meshx refuses to manage files in it.
const manifestDir = "/var/lib/meshx"

// validatePath checks that p is a clean absolute path meshx may manage.
// Spaces, quotes and dollar signs are allowed (they are quoted); control
// characters, double quotes and backslashes are not.
func validatePath(p string) error {
	switch {
	case p == "":
		return errors.New("path is empty")
	case len(p) > 4096:
		return errors.New("path is longer than 4096 bytes")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is not absolute", p)
	case p == "/":
		return errors.New("path is the root directory")
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean (want %q)", p, path.Clean(p))
	case p == manifestDir || strings.HasPrefix(p, manifestDir+"/"):
		return fmt.Errorf("path %q is inside %s, where meshx keeps its manifests", p, manifestDir)
	}
	if err := checkText(p, false); err != nil {
		return fmt.Errorf("path %q %w", p, err)
	}
	if strings.ContainsAny(p, `"\`) {
		return fmt.Errorf("path %q must not contain a double quote or a backslash", p)
	}
	if strings.TrimSpace(p) != p || strings.Contains(p, " /") || strings.Contains(p, "/ ") {
		return fmt.Errorf("path %q must not have a path element that starts or ends with a space", p)
	}
	return nil
}

// checkText rejects invalid UTF-8 and control characters (a tab only when
// tabs is false). Its error reads after the subject: "must not …".
func checkText(s string, tabs bool) error {
	if !utf8.ValidString(s) {
		return errors.New("must be valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r == '\t' && tabs:
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029':
			return fmt.Errorf("must not contain the control character %U", r)
		}
	}
	return nil
}

// validateLine checks a line meshx keeps in a file: one line of text
// (tabs allowed).
func validateLine(line string) error {
	switch {
	case line == "" || strings.TrimSpace(line) == "":
		return errors.New("line is empty")
	case len(line) > 4096:
		return errors.New("line is longer than 4096 bytes")
	}
	if err := checkText(line, true); err != nil {
		return fmt.Errorf("line %w", err)
	}
	return nil
}

func validateUnit(name string) error {
	if !unitNameRE.MatchString(name) {
		return fmt.Errorf("unit name %q is not valid: want letters, digits and :_.@- (not first)", name)
	}
	return nil
}

func validatePackage(name string) error {
	if !packageNameRE.MatchString(name) {
		return fmt.Errorf("package name %q is not valid: want lower-case letters, digits and +.- (Debian policy)", name)
	}
	return nil
}

func validateAccount(what, name string) error {
	if !accountRE.MatchString(name) {
		return fmt.Errorf("%s %q is not a valid user or group name", what, name)
	}
	return nil
}

func validateEnvironment(env string) error {
	if !environmentRE.MatchString(env) {
		return fmt.Errorf("environment %q is not valid for a manifest file name: want letters, digits and _.-", env)
	}
	return nil
}

func validateMode(mode uint32) error {
	if mode > 0o7777 {
		return fmt.Errorf("mode %o is not a file mode (at most 07777)", mode)
	}
	return nil
}

// quote returns s as one single-quoted word for a POSIX shell.
func quote(s string) string { return shellquote.Quote(s) }

// shellJoin quotes every element of argv and joins them with spaces.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}
