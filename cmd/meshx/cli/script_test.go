package cli

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits": exitsCmd, "listen": listenCmd, "kubeconfig": kubeconfigCmd,
			"repeat": repeatCmd, "genplan": genplanCmd,
		},
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

// listenCmd is "listen silent|refused|hanging VAR": it sets VAR to the
// host:port of a loopback TCP port that accepts connections and never
// says a byte (silent), that refuses them (refused), or an HTTPS server
// that completes the TLS handshake and never answers a request (hanging),
// and VAR_PORT to its port, for tests of hosts that never answer.
func listenCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || (args[0] != "silent" && args[0] != "refused" && args[0] != "hanging") {
		ts.Fatalf("usage: listen silent|refused|hanging VAR")
	}
	if args[0] == "hanging" {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		ts.Defer(func() { srv.CloseClientConnections(); srv.Close() })
		ts.Setenv(args[1], srv.Listener.Addr().String())
		ts.Setenv(args[1]+"_PORT", fmt.Sprint(srv.Listener.Addr().(*net.TCPAddr).Port))
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv(args[1], l.Addr().String())
	ts.Setenv(args[1]+"_PORT", fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	if args[0] == "refused" {
		ts.Check(l.Close())
		return
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
}

// kubeconfigCmd is "kubeconfig FILE SERVER...": it writes a kubeconfig
// with one context per server (c0, c1, …; current c0) and a token user.
func kubeconfigCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: kubeconfig FILE SERVER...")
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\ncurrent-context: c0\nusers:\n- name: u\n  user:\n    token: t\nclusters:\n")
	for i, s := range args[1:] {
		fmt.Fprintf(&b, "- name: c%d\n  cluster:\n    server: %s\n    insecure-skip-tls-verify: true\n", i, s)
	}
	b.WriteString("contexts:\n")
	for i := range args[1:] {
		fmt.Fprintf(&b, "- name: c%d\n  context:\n    cluster: c%d\n    user: u\n", i, i)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o600))
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
