package cli

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"meshx": func() { os.Exit(Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI end to end: testdata/script/*.txtar, with the
// repository's examples copied to $WORK/examples.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exits": exitsCmd, "repeat": repeatCmd, "genplan": genplanCmd},
		Setup: func(env *testscript.Env) error {
			return copyTree("../../../examples", filepath.Join(env.WorkDir, "examples"))
		},
	})
}

// exitsCmd is "exits N command args...": it runs the command like exec and
// checks that it exits with status N, for commands with several failure
// statuses (fmt's 2 and 3).
func exitsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// repeatCmd is "repeat FILE PREFIX TEXT N": it writes PREFIX and N times
// TEXT to FILE, for inputs too large to keep in a script.
func repeatCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: repeat FILE PREFIX TEXT N")
	}
	n, err := strconv.Atoi(args[3])
	if err != nil {
		ts.Fatalf("repeat: %q is not a number", args[3])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(args[1]+strings.Repeat(args[2], n)), 0o644))
}

// genplanCmd is "genplan bomb|truncated FILE": it writes a crafted
// compressed plan file. bomb is about 250 KB of gzip that decompresses to
// a 250 MiB plan; truncated is a valid plan's gzip cut short.
func genplanCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: genplan bomb|truncated FILE")
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write([]byte(`{"format_version": 1, "meshx_version": "`))
	switch args[0] {
	case "bomb":
		chunk := bytes.Repeat([]byte("A"), 1<<20)
		for range 250 {
			zw.Write(chunk)
		}
		zw.Write([]byte(`"}`))
		zw.Close()
	case "truncated":
		zw.Write([]byte(`0.1.0"}`))
		zw.Close()
		z.Truncate(z.Len() - 10)
	default:
		ts.Fatalf("genplan: unknown kind %q", args[0])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), z.Bytes(), 0o644))
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}
