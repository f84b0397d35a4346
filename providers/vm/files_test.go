package vm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// These tests run against a real sshd on the host, as root, and touch only
// files under t.TempDir() (the manifests included: Provider.stateDir).

func statFile(t *testing.T, path string) (content string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fi.Mode().Perm()
}

func TestFilesLifecycle(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	dir := t.TempDir()
	const env = "bookinfo"
	const secret = "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n"
	big := strings.Repeat("0123456789abcdef", 5000) // 80000 bytes: compared by fingerprint
	clusterEnv := filepath.Join(dir, "envoy", "cluster.env")
	keyPEM := filepath.Join(dir, "certs", "key.pem")
	bigFile := filepath.Join(dir, "big.txt")
	preexisting := filepath.Join(dir, "preexisting.conf")
	if err := os.WriteFile(preexisting, []byte("hand made\n"), 0o640); err != nil {
		t.Fatal(err)
	}

	resources := func(clusterEnvText string, withKey bool) []providers.Resource {
		rs := []providers.Resource{
			File("ecs1", FileOptions{Path: clusterEnv, Content: text(clusterEnvText), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: bigFile, Content: text(big), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: preexisting, Content: text("managed\n"), Mode: 0o600, Owner: "root", Group: "root"}),
		}
		if withKey {
			rs = append(rs, File("ecs1", FileOptions{
				Path:      keyPEM,
				Content:   text(secret),
				Mode:      0o600,
				Owner:     "root",
				Group:     "root",
				Sensitive: true,
			}))
		}
		return rs
	}
	v1 := "ISTIO_SERVICE_CIDR=10.100.0.0/20\nISTIO_CP_AUTH=MUTUAL_TLS\n"

	got := countActions(converge(t, ctx, p, env, resources(v1, true)))
	if diff := cmp.Diff(map[plans.Action]int{plans.Create: 3, plans.Update: 1}, got); diff != "" {
		t.Fatalf("first apply (-want +got):\n%s", diff)
	}
	for _, f := range []struct {
		path    string
		content string
		mode    os.FileMode
	}{
		{clusterEnv, v1, 0o644},
		{keyPEM, secret, 0o600},
		{bigFile, big, 0o644},
		{preexisting, "managed\n", 0o600},
	} {
		c, m := statFile(t, f.path)
		if c != f.content || m != f.mode {
			t.Errorf("%s: content %.40q mode %o, want %.40q %o", f.path, c, m, f.content, f.mode)
		}
	}

	// Observe is one session, returns text for plain files and only a
	// fingerprint for the secret, and everything is in sync.
	before := p.Stats().Sessions
	resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: resources(v1, true)})
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	if n := p.Stats().Sessions - before; n != 1 {
		t.Fatalf("Observe used %d sessions, want 1", n)
	}
	want := map[string]plans.Object{
		clusterEnv:  {"content": v1, "mode": "0644", "owner": "root", "group": "root"},
		keyPEM:      {"content": plans.Fingerprint([]byte(secret)), "mode": "0600", "owner": "root", "group": "root"},
		bigFile:     {"content": plans.Fingerprint([]byte(big)), "mode": "0644", "owner": "root", "group": "root"},
		preexisting: {"content": "managed\n", "mode": "0600", "owner": "root", "group": "root"},
	}
	for path, w := range want {
		o := resp.Objects[addr("ecs1", TypeFile, path)]
		if !o.Exists || !o.Owned || o.Drift {
			t.Errorf("%s: exists %v owned %v drift %v, want true true false", path, o.Exists, o.Owned, o.Drift)
		}
		if diff := cmp.Diff(w, o.Object); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	dump, _ := json.Marshal(resp.Objects)
	for _, leak := range []string{"TOP-SECRET", sha256Hex([]byte(secret))} {
		if bytes.Contains(dump, []byte(leak)) || strings.Contains(fmt.Sprintf("%#v", resp), leak) {
			t.Fatalf("the observation contains %.12s…", leak)
		}
	}
	// The secret's bytes never even leave the VM.
	items, err := p.planObserve(resources(v1, true))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.runScript(ctx, time.Minute, observeScript, nil, p.observeArgs(env, items)...)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString([]byte(secret)))) || bytes.Contains(raw, []byte("TOP-SECRET")) {
		t.Fatal("the observe script sent the secret's bytes")
	}
	if !bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString([]byte(v1)))) {
		t.Fatal("the observe script did not send cluster.env's text (the check above proves nothing)")
	}
	if got := countActions(converge(t, ctx, p, env, resources(v1, true))); got[plans.NoOp] != 4 {
		t.Fatalf("second apply: %v, want 4 no-ops", got)
	}

	// A hand edit is drift, and the next apply puts it back.
	if err := os.WriteFile(clusterEnv, []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp = p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: resources(v1, true)})
	if o := resp.Objects[addr("ecs1", TypeFile, clusterEnv)]; !o.Drift || o.Object["content"] != "edited by hand\n" {
		t.Fatalf("after a hand edit: drift %v content %q, want drift and the edited text", o.Drift, o.Object["content"])
	}
	if got := converge(t, ctx, p, env, resources(v1, true)); got[addr("ecs1", TypeFile, clusterEnv)] != plans.Update {
		t.Fatalf("after a hand edit: %v, want an update of cluster.env", got)
	}
	if c, _ := statFile(t, clusterEnv); c != v1 {
		t.Fatalf("cluster.env = %q after apply", c)
	}

	// A mode change alone is an update.
	if err := os.Chmod(keyPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := converge(t, ctx, p, env, resources(v1, true)); got[addr("ecs1", TypeFile, keyPEM)] != plans.Update {
		t.Fatalf("after chmod: %v, want an update of key.pem", got)
	}
	if _, m := statFile(t, keyPEM); m != 0o600 {
		t.Fatalf("key.pem mode %o, want 0600", m)
	}

	// Dropped from configuration: an orphan, deleted.
	resp = p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: resources(v1, false)})
	if len(resp.Orphans) != 1 || resp.Orphans[0].Addr != addr("ecs1", TypeFile, keyPEM) || !resp.Orphans[0].Owned || !resp.Orphans[0].Exists {
		t.Fatalf("orphans = %+v, want key.pem, owned and existing", resp.Orphans)
	}
	if c, ok := resp.Orphans[0].Object["content"].(string); !ok || c != plans.Fingerprint([]byte(secret)) {
		t.Fatalf("orphan content = %v, want the fingerprint", resp.Orphans[0].Object["content"])
	}
	converge(t, ctx, p, env, resources(v1, false))
	if _, err := os.Stat(keyPEM); !os.IsNotExist(err) {
		t.Fatalf("key.pem still exists after its orphan delete: %v", err)
	}

	// Destroy removes what meshx created and leaves the preexisting file.
	destroy(t, ctx, p, env, resources(v1, false))
	for _, f := range []string{clusterEnv, bigFile} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s survived destroy: %v", f, err)
		}
	}
	if c, _ := statFile(t, preexisting); c != "managed\n" {
		t.Errorf("preexisting file = %q after destroy, want it left in place", c)
	}
	if _, err := os.Stat(p.manifestPath(env)); !os.IsNotExist(err) {
		t.Errorf("manifest survived destroy: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".meshx-tmp.*"))
	if len(left) > 0 {
		t.Errorf("temp files left: %q", left)
	}
}

func TestManifestIsRootOnlyAndNamesOtherOwners(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "shared.conf")
	rs := []providers.Resource{File("ecs1", FileOptions{
		Path:    path,
		Content: text("a\n"),
		Mode:    0o644,
		Owner:   "root",
		Group:   "root",
	})}
	converge(t, ctx, p, "envone", rs)
	fi, err := os.Stat(p.manifestPath("envone"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("manifest mode %o, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(p.manifestPath("envone")))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("manifest dir mode %o, want 0700", di.Mode().Perm())
	}
	resp := p.Observe(ctx, providers.ObserveRequest{Environment: "envtwo", Resources: rs})
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	o := resp.Objects[rs[0].Addr]
	if o.Owned || o.Owner != "meshx environment envone" {
		t.Fatalf("seen from envtwo: owned %v owner %q, want not owned, owner envone", o.Owned, o.Owner)
	}
	if len(resp.Orphans) != 0 {
		t.Fatalf("envtwo has orphans %v", resp.Orphans)
	}
	ar := p.Apply(ctx, providers.ApplyRequest{Environment: "envtwo", Observed: o, Change: plans.Change{Addr: o.Addr, Action: plans.Delete}})
	if ar.Err == nil || !strings.Contains(ar.Err.Error(), "not in the manifest") {
		t.Fatalf("envtwo deleting envone's file: err = %v, want a refusal", ar.Err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

func TestEnvFileMerge(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "sidecar.env")
	const original = `# Istio sidecar settings. All lines are commented by the package.
# ISTIO_INBOUND_PORTS=
export ISTIO_SERVICE=old-service
MY_OWN_KEY=kept # added by hand
ISTIO_SERVICE=duplicate
`
	if err := os.WriteFile(path, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := map[string]any{"ISTIO_SERVICE": "details", "ISTIO_INBOUND_PORTS": "9080,8080", "ISTIO_SVC_IP": "it's $(not run)"}
	res := func(keys map[string]any) []providers.Resource {
		return []providers.Resource{EnvFile("ecs1", EnvFileOptions{Path: path, Keys: func(providers.Outputs) (map[string]any, error) { return keys, nil }, Mode: 0o644, Owner: "root", Group: "root"})}
	}
	const env = "bookinfo"
	converge(t, ctx, p, env, res(keys))
	want := `# Istio sidecar settings. All lines are commented by the package.
# ISTIO_INBOUND_PORTS=
export ISTIO_SERVICE=details
MY_OWN_KEY=kept # added by hand
ISTIO_INBOUND_PORTS=9080,8080
ISTIO_SVC_IP='it'\''s $(not run)'
`
	if c, _ := statFile(t, path); c != want {
		t.Fatalf("merged file (-want +got):\n%s", cmp.Diff(want, c))
	}
	resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: res(keys)})
	wantObj := plans.Object{"ISTIO_SERVICE": "details", "ISTIO_INBOUND_PORTS": "9080,8080", "ISTIO_SVC_IP": "it's $(not run)",
		"mode": "0644", "owner": "root", "group": "root", "managed_keys": []any{"ISTIO_INBOUND_PORTS", "ISTIO_SERVICE", "ISTIO_SVC_IP"}}
	if diff := cmp.Diff(wantObj, resp.Objects[res(keys)[0].Addr].Object); diff != "" {
		t.Fatalf("observed (-want +got):\n%s", diff)
	}
	if got := countActions(converge(t, ctx, p, env, res(keys))); got[plans.NoOp] != 1 {
		t.Fatalf("second apply: %v, want a no-op", got)
	}

	// A hand edit of a managed key is drift; of another key is not.
	c, _ := statFile(t, path)
	os.WriteFile(path, []byte(strings.Replace(c, "MY_OWN_KEY=kept", "MY_OWN_KEY=changed", 1)), 0o644)
	if o := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: res(keys)}).Objects[res(keys)[0].Addr]; o.Drift {
		t.Fatal("an unmanaged key's edit is reported as drift")
	}
	c, _ = statFile(t, path)
	os.WriteFile(path, []byte(strings.Replace(c, "=9080,8080", "=1", 1)), 0o644)
	if o := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: res(keys)}).Objects[res(keys)[0].Addr]; !o.Drift {
		t.Fatal("a managed key's edit is not reported as drift")
	}

	// Dropping a key restores what was there before meshx (or removes it).
	converge(t, ctx, p, env, res(map[string]any{"ISTIO_SERVICE": "details"}))
	want = `# Istio sidecar settings. All lines are commented by the package.
# ISTIO_INBOUND_PORTS=
export ISTIO_SERVICE=details
MY_OWN_KEY=changed # added by hand
`
	if c, _ := statFile(t, path); c != want {
		t.Fatalf("after dropping keys (-want +got):\n%s", cmp.Diff(want, c))
	}

	// Destroy gives ISTIO_SERVICE its value from before meshx (the last
	// assignment, which the shell saw) and keeps the file.
	destroy(t, ctx, p, env, res(map[string]any{"ISTIO_SERVICE": "details"}))
	want = `# Istio sidecar settings. All lines are commented by the package.
# ISTIO_INBOUND_PORTS=
export ISTIO_SERVICE=duplicate
MY_OWN_KEY=changed # added by hand
`
	if c, _ := statFile(t, path); c != want {
		t.Fatalf("after destroy (-want +got):\n%s", cmp.Diff(want, c))
	}
}

func TestLineIsNeverDuplicated(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	dir := t.TempDir()
	const line = "prepend domain-name-servers 127.0.0.1;"
	tests := []struct {
		name        string
		initial     *string // nil: no file
		wantApplied string
		wantDestroy *string // nil: file removed
	}{
		{name: "appended to a file without a final newline", initial: ptr("send host-name = gethostname();"),
			wantApplied: "send host-name = gethostname();\n" + line + "\n", wantDestroy: ptr("send host-name = gethostname();\n")},
		{name: "already present is left alone", initial: ptr("# x\n" + line + "\n"),
			wantApplied: "# x\n" + line + "\n", wantDestroy: ptr("# x\n" + line + "\n")},
		{name: "missing file is created and removed again", wantApplied: line + "\n"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("dhclient%d.conf", i))
			if tt.initial != nil {
				if err := os.WriteFile(path, []byte(*tt.initial), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			rs := []providers.Resource{Line("ecs1", path, line)}
			env := fmt.Sprintf("line%d", i)
			for round := 0; round < 3; round++ {
				converge(t, ctx, p, env, rs)
			}
			c, m := statFile(t, path)
			if c != tt.wantApplied {
				t.Fatalf("after 3 applies (-want +got):\n%s", cmp.Diff(tt.wantApplied, c))
			}
			if tt.initial != nil && m != 0o640 {
				t.Errorf("mode %o, want the file's own 0640 kept", m)
			}
			destroy(t, ctx, p, env, rs)
			b, err := os.ReadFile(path)
			switch {
			case tt.wantDestroy == nil && !os.IsNotExist(err):
				t.Fatalf("after destroy: %q, %v; want the file removed", b, err)
			case tt.wantDestroy != nil && string(b) != *tt.wantDestroy:
				t.Fatalf("after destroy (-want +got):\n%s", cmp.Diff(*tt.wantDestroy, string(b)))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestEmptyPlaceholderIsEmptiedAgain: a file that existed empty before
// meshx wrote it (a package's placeholder, like the sidecar's mesh config)
// is emptied by a delete, not left with meshx's content; a non-empty one
// is left alone.
func TestEmptyPlaceholderIsEmptiedAgain(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	dir := t.TempDir()
	empty, full := filepath.Join(dir, "mesh"), filepath.Join(dir, "full")
	for path, c := range map[string]string{empty: "", full: "hand made\n"} {
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs := []providers.Resource{
		File("ecs1", FileOptions{Path: empty, Content: text("defaultConfig: {}\n"), Mode: 0o644, Owner: "root", Group: "root"}),
		File("ecs1", FileOptions{Path: full, Content: text("managed\n"), Mode: 0o644, Owner: "root", Group: "root"}),
	}
	converge(t, ctx, p, "placeholder", rs)
	destroy(t, ctx, p, "placeholder", rs)
	for path, want := range map[string]string{empty: "", full: "managed\n"} {
		if c, _ := statFile(t, path); c != want {
			t.Errorf("%s after destroy: %q, want %q", path, c, want)
		}
	}
}

// TestLineFuncFollowsItsInput: a line rendered from outputs (istiod's
// address in /etc/hosts) is added once, replaced when the input changes,
// kept while it does not, and removed by destroy; the file's other lines
// stay.
func TestLineFuncFollowsItsInput(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := func(ip string) []providers.Resource {
		return []providers.Resource{LineFunc("ecs1", path, func(providers.Outputs) (any, error) {
			return ip + " istiod.istio-system.svc", nil
		}, nil)}
	}
	const env = "hosts"
	a := addr("ecs1", TypeLine, path)
	for i, step := range []struct {
		ip   string
		want plans.Action
		file string
	}{
		{"10.0.0.9", plans.Create, "127.0.0.1 localhost\n10.0.0.9 istiod.istio-system.svc\n"},
		{"10.0.0.9", plans.NoOp, "127.0.0.1 localhost\n10.0.0.9 istiod.istio-system.svc\n"},
		{"10.0.0.10", plans.Update, "127.0.0.1 localhost\n10.0.0.10 istiod.istio-system.svc\n"},
	} {
		if got := converge(t, ctx, p, env, res(step.ip))[a]; got != step.want {
			t.Fatalf("step %d: %s, want %s", i, got, step.want)
		}
		if c, _ := statFile(t, path); c != step.file {
			t.Fatalf("step %d (-want +got):\n%s", i, cmp.Diff(step.file, c))
		}
	}
	destroy(t, ctx, p, env, res("10.0.0.10"))
	if c, _ := statFile(t, path); c != "127.0.0.1 localhost\n" {
		t.Fatalf("after destroy: %q", c)
	}
}

func TestHostileNamesAreRefusedOrQuoted(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	injections := []string{
		"$(touch " + canary + ")",
		"`touch " + canary + "`",
		"x; touch " + canary,
		"x' ; touch " + canary + "; '",
		"-rf *",
	}

	t.Run("refused", func(t *testing.T) {
		refused := []providers.Resource{
			File("ecs1", FileOptions{Path: "relative/path", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/new\nline", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/carriage\rreturn", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/double\"quote", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/back\\slash", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/../escape", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/nul\x00byte", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: "/var/lib/meshx/other.json", Content: text("x"), Mode: 0o644, Owner: "root", Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/ok", Content: text("x"), Mode: 0o644, Owner: "root; touch " + canary, Group: "root"}),
			File("ecs1", FileOptions{Path: dir + "/ok", Content: text("x"), Mode: 0o17777, Owner: "root", Group: "root"}),
			Line("ecs1", dir+"/lines", "two\nlines"),
			Unit("ecs1", "istio; touch "+canary, nil),
			Unit("ecs1", "$(touch "+canary+")", nil),
			Unit("ecs1", "-H", nil),
			Package("ecs1", "dnsmasq; touch "+canary, PackageSource{Apt: "dnsmasq"}),
			Package("ecs1", "-y", PackageSource{Apt: "dnsmasq"}),
			Package("ecs1", "istio-sidecar", PackageSource{URL: "http://x/$(touch " + canary + ")", SHA256: strings.Repeat("0", 64)}),
			EnvFile("ecs1", EnvFileOptions{Path: dir + "/env", Keys: func(providers.Outputs) (map[string]any, error) {
				return map[string]any{"A;touch": "x"}, nil
			}, Mode: 0o644, Owner: "root", Group: "root"}),
			EnvFile("ecs1", EnvFileOptions{Path: dir + "/env", Keys: func(providers.Outputs) (map[string]any, error) {
				return map[string]any{"A": "x\ntouch " + canary}, nil
			}, Mode: 0o644, Owner: "root", Group: "root"}),
		}
		for _, r := range refused {
			if _, err := r.Render(fixedOutputs{}); err == nil {
				t.Errorf("%s: Render accepted it", r.Addr)
			}
			if r.Kind == KindEnv {
				continue // env values are checked by Render and again by Apply
			}
			before := p.Stats().Sessions
			if resp := p.Observe(ctx, providers.ObserveRequest{Environment: "hostile", Resources: []providers.Resource{r}}); resp.Err == nil {
				t.Errorf("%s: Observe accepted it", r.Addr)
			}
			if p.Stats().Sessions != before {
				t.Errorf("%s: Observe sent something before refusing", r.Addr)
			}
		}
	})

	t.Run("quoted", func(t *testing.T) {
		var rs []providers.Resource
		var paths []string
		for i, inj := range injections {
			path := filepath.Join(dir, fmt.Sprintf("f%d %s", i, strings.ReplaceAll(inj, "/", "_")))
			paths = append(paths, path)
			rs = append(rs, File("ecs1", FileOptions{Path: path, Content: text(inj + "\n"), Mode: 0o644, Owner: "root", Group: "root"}))
		}
		rs = append(rs, Line("ecs1", filepath.Join(dir, "lines $(x)"), "prepend domain-name-servers 127.0.0.1; "+injections[0]+" '\"q\"'"))
		rs = append(rs, EnvFile("ecs1", EnvFileOptions{Path: filepath.Join(dir, "it's.env"), Keys: func(providers.Outputs) (map[string]any, error) {
			return map[string]any{"HOSTILE": injections[3], "OTHER": injections[1]}, nil
		}, Mode: 0o644, Owner: "root", Group: "root"}))
		converge(t, ctx, p, "hostile", rs)
		for i, path := range paths {
			if c, _ := statFile(t, path); c != injections[i]+"\n" {
				t.Errorf("%q = %q", path, c)
			}
		}
		if c, _ := statFile(t, filepath.Join(dir, "lines $(x)")); !strings.Contains(c, injections[0]+" '\"q\"'") {
			t.Errorf("line file = %q", c)
		}
		if got := countActions(converge(t, ctx, p, "hostile", rs)); got[plans.NoOp] != len(rs) {
			t.Errorf("second apply: %v, want all no-ops", got)
		}
		out, err := Exec(ctx, p, append([]string{"printf", "%s|"}, injections...)...)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Join(injections, "|") + "|"; out != want {
			t.Errorf("Exec printed %q, want %q", out, want)
		}
		destroy(t, ctx, p, "hostile", rs)
		for _, path := range paths {
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("%q survived destroy", path)
			}
		}
	})
	if _, err := os.Stat(canary); !os.IsNotExist(err) {
		t.Fatalf("an injection ran: %s exists", canary)
	}
}

// cutConn closes the connection once armed and limit more bytes were
// written: a network cut in the middle of a transfer.
type cutConn struct {
	net.Conn
	armed   *atomic.Bool
	written atomic.Int64
	limit   int64
	once    sync.Once
}

func (c *cutConn) Write(b []byte) (int, error) {
	if c.armed.Load() && c.written.Add(int64(len(b))) > c.limit {
		c.once.Do(func() {
			c.Conn.Close()
			c.armed.Store(false) // one cut: the next connection lives
		})
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

// TestManifestWriteAgainAfterACut cuts the connection in the middle of a
// manifest write, as the istio unit's first start cuts the connection
// that started it: the write runs again on a new connection, and the
// manifest holds what it must.
func TestManifestWriteAgainAfterACut(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	var armed atomic.Bool
	var dials atomic.Int32
	p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
		dials.Add(1)
		c, err := dialTCP(ctx, addr)
		if err != nil {
			return nil, err
		}
		return &cutConn{Conn: c, armed: &armed, limit: 256 << 10}, nil
	}
	ctx := testContext(t)
	// Enough entries that the cut falls inside the write's stream.
	var want *manifest
	add := func(m *manifest) {
		for i := range 20000 {
			putEntry(m, &entry{Type: "file", Key: fmt.Sprintf("/etc/f%05d", i), Name: fmt.Sprintf("/etc/f%05d", i), Kind: "file"})
		}
		want = m.clone()
	}
	armed.Store(true)
	if err := p.updateManifest(ctx, "cut", add); err != nil {
		t.Fatalf("manifest write through one cut: %v", err)
	}
	if armed.Load() {
		t.Fatal("the connection was never cut: the test proves nothing")
	}
	if n := dials.Load(); n < 2 {
		t.Fatalf("%d dials, want a second connection after the cut", n)
	}
	b, exists, err := p.readFile(ctx, p.manifestPath("cut"))
	if err != nil || !exists {
		t.Fatalf("manifest after the cut: exists %v, %v", exists, err)
	}
	wantB, err := want.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, wantB) {
		t.Fatalf("manifest after the cut: %d bytes, want %d", len(b), len(wantB))
	}
}

func TestAtomicWriteSurvivesACutConnection(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	var armed atomic.Bool
	p.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := dialTCP(ctx, addr)
		if err != nil {
			return nil, err
		}
		return &cutConn{Conn: c, armed: &armed, limit: 1 << 20}, nil
	}
	ctx := testContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "cluster.env")
	const old = "ISTIO_SERVICE_CIDR=10.0.0.0/16\n"
	converge(t, ctx, p, "cut", []providers.Resource{File("ecs1", FileOptions{
		Path:    path,
		Content: text(old),
		Mode:    0o644,
		Owner:   "root",
		Group:   "root",
	})})

	huge := make([]byte, 16<<20)
	rand.Read(huge)
	r := File("ecs1", FileOptions{Path: path, Content: func(providers.Outputs) (any, error) { return huge, nil }, Mode: 0o644, Owner: "root", Group: "root"})
	desired, err := r.Render(fixedOutputs{})
	if err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	ar := p.Apply(ctx, providers.ApplyRequest{Environment: "cut", Resource: &r, Desired: desired,
		Change: plans.Change{Addr: r.Addr, Action: plans.Update}})
	armed.Store(false)
	if ar.Err == nil {
		t.Fatal("apply succeeded through a cut connection")
	}
	t.Logf("apply error: %v", ar.Err)

	// The remote script sees a short stream, refuses it and removes its
	// temp file; wait for that, then check the old file is intact.
	deadline := time.Now().Add(20 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(dir, ".meshx-tmp.*"))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("temp files left after the cut: %q", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c, _ := statFile(t, path); c != old {
		t.Fatalf("file after a cut write = %.60q, want the old content", c)
	}

	// A stream that ends early while the connection lives on (the
	// sender failed) is refused by the sha256 check.
	half := huge[:len(huge)/2]
	_, err = p.runScript(ctx, time.Minute, writeScript, bytes.NewReader(half), path, "0644", "root", "root", sha256Hex(huge), "0755")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Status != 4 || !strings.Contains(ce.Stderr, "arrived incomplete") {
		t.Fatalf("short stream: err = %v, want the incomplete-content refusal", err)
	}
	if c, _ := statFile(t, path); c != old {
		t.Fatalf("file after a short stream = %.60q, want the old content", c)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".meshx-tmp.*")); len(left) > 0 {
		t.Fatalf("temp files left after a short stream: %q", left)
	}

	// The provider reconnects and the write goes through.
	ar = p.Apply(ctx, providers.ApplyRequest{Environment: "cut", Resource: &r, Desired: desired,
		Change: plans.Change{Addr: r.Addr, Action: plans.Update}})
	if ar.Err != nil {
		t.Fatal(ar.Err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, huge) {
		t.Fatal("file differs after the retried write")
	}
	if n := p.Stats().Connects; n != 2 {
		t.Errorf("connects = %d, want 2 (one redial after the cut)", n)
	}
}

// TestConcurrentApplies writes 24 files at once over one connection,
// into directories none of them finds (as the three certificates of
// /etc/certs on a fresh VM): every write must make or share them.
func TestConcurrentApplies(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	dir := filepath.Join(t.TempDir(), "new", "certs")
	var rs []providers.Resource
	for i := 0; i < 24; i++ {
		rs = append(rs, File("ecs1", FileOptions{
			Path:      filepath.Join(dir, fmt.Sprintf("f%02d", i)),
			Content:   text(fmt.Sprintf("%d\n", i)),
			Mode:      0o644,
			Owner:     "root",
			Group:     "root",
			Sensitive: i%2 == 0,
		}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(rs))
	for i := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			desired, err := rs[i].Render(fixedOutputs{})
			if err != nil {
				errs <- err
				return
			}
			errs <- p.Apply(ctx, providers.ApplyRequest{Environment: "conc", Resource: &rs[i], Desired: desired,
				Change: plans.Change{Addr: rs[i].Addr, Action: plans.Create}}).Err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Stats().Connects; n != 1 {
		t.Errorf("connects = %d, want 1 shared connection", n)
	}
	// A fresh provider sees every file owned: no manifest update was lost.
	fresh := s.provider(t, s.host("ecs1"))
	fresh.stateDir = p.stateDir
	resp := fresh.Observe(ctx, providers.ObserveRequest{Environment: "conc", Resources: rs})
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	for _, r := range rs {
		if o := resp.Objects[r.Addr]; !o.Exists || !o.Owned || o.Drift {
			t.Errorf("%s: exists %v owned %v drift %v", r.Addr, o.Exists, o.Owned, o.Drift)
		}
	}
}

// TestEnvFileSensitiveKeys checks that a Sensitive key of an env file is
// written in clear to the file, but observed as Sensitive (so it compares
// by fingerprint and a plan shows neither value), recorded in the manifest
// only as its fingerprint, still observed as Sensitive after it stops
// being one (a plan must not show the old secret), and checked for drift.
func TestEnvFileSensitiveKeys(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "sidecar.env")
	const secret = "env-s3cr3t-marker"
	res := func(token any) []providers.Resource {
		return []providers.Resource{EnvFile("ecs1", EnvFileOptions{Path: path, Keys: func(providers.Outputs) (map[string]any, error) {
			return map[string]any{"TOKEN": token, "PLAIN": "x"}, nil
		}, Mode: 0o644, Owner: "root", Group: "root"})}
	}
	const env = "sens"
	rs := res(plans.NewSensitive([]byte(secret)))
	converge(t, ctx, p, env, rs)
	if c, _ := statFile(t, path); c != "PLAIN=x\nTOKEN="+secret+"\n" {
		t.Fatalf("env file = %q", c)
	}
	o := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs}).Objects[rs[0].Addr]
	if _, ok := o.Object["TOKEN"].(plans.Sensitive); !ok {
		t.Fatalf("observed TOKEN is %T, want plans.Sensitive", o.Object["TOKEN"])
	}
	if o.Drift {
		t.Error("drift right after apply")
	}
	if sum := o.Details["sha256"]; !plans.IsFingerprint(sum) {
		t.Errorf("precondition details show the full sha256 %q of a file holding a secret", sum)
	}
	if got := countActions(converge(t, ctx, p, env, rs)); got[plans.NoOp] != 1 {
		t.Fatalf("second apply: %v, want a no-op", got)
	}
	if m, err := os.ReadFile(p.manifestPath(env)); err != nil || strings.Contains(string(m), secret) {
		t.Errorf("the manifest holds the secret (or cannot be read: %v)", err)
	}

	// No longer sensitive: still observed as Sensitive, so the one update
	// that follows shows no old secret.
	rs = res(secret)
	o = p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs}).Objects[rs[0].Addr]
	if _, ok := o.Object["TOKEN"].(plans.Sensitive); !ok {
		t.Fatalf("observed TOKEN after it stopped being sensitive is %T, want plans.Sensitive", o.Object["TOKEN"])
	}
	converge(t, ctx, p, env, rs)
	if got := countActions(converge(t, ctx, p, env, rs)); got[plans.NoOp] != 1 {
		t.Fatalf("apply after the change: %v, want a no-op", got)
	}

	// A hand edit of a sensitive key is drift.
	rs = res(plans.NewSensitive([]byte(secret)))
	converge(t, ctx, p, env, rs)
	os.WriteFile(path, []byte("PLAIN=x\nTOKEN=other\n"), 0o644)
	if o := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: rs}).Objects[rs[0].Addr]; !o.Drift {
		t.Error("an edit of a sensitive key is not reported as drift")
	}
}
