package vm

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

// raceScript runs inside a VM as nobody, the owner of $1, until $1/stop
// appears or $2 iterations are done: it keeps renaming symbolic links to
// the root-only file $3 over meshx's temp files and over the files
// meshx reads and writes, then puts regular files back, and writes its
// counts (iterations, temp files hit) to $1/count.
const raceScript = `cd "$1" || exit 1
i=0 hit=0
while [ ! -e stop ] && [ "$i" -lt "$2" ]; do
	for t in .meshx-tmp.*; do
		[ -f "$t" ] && [ ! -L "$t" ] || continue
		ln -s "$3" .l 2>/dev/null && mv -f .l "$t" 2>/dev/null && hit=$((hit+1))
	done
	for f in target lines.conf; do
		ln -s "$3" .s 2>/dev/null && mv -f -T .s "$f" 2>/dev/null
		printf 'racer\n' > .r && mv -f -T .r "$f" 2>/dev/null
	done
	i=$((i+1))
	echo "$i $hit" > count
done
`

// TestLabNoLinkFollowedInAnotherUsersDirectory writes, reads, observes
// and edits lines in a directory owned by nobody (as cluster.env sits in
// istio-proxy's /var/lib/istio/envoy) while a process running as nobody
// swaps meshx's temp files and the target files for symbolic links to a
// root-only file, in a lab VM.
func TestLabNoLinkFollowedInAnotherUsersDirectory(t *testing.T) {
	l := lab.Get(t)
	v := l.VMs[1]
	p := labProvider(t, l, labHost(l, v))
	linkRace(t, p, 60, "/var/lib/meshx-race", "/root/meshx-race", func(script string) string { return vmShell(t, l, v, script) })
}

// TestNoLinkFollowedInAnotherUsersDirectory is the same race on this
// host, through its sshd.
func TestNoLinkFollowedInAnotherUsersDirectory(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	base := t.TempDir()
	hostShell := func(script string) string {
		t.Helper()
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	// nobody must reach the directory: t.TempDir and its parent are 0700.
	hostShell("chmod 0755 " + quote(base) + " " + quote(filepath.Dir(base)))
	linkRace(t, p, 30, base+"/race", base+"/root-only", hostShell)
}

// linkRace runs rounds of the race in dir, with the root-only file and
// the racer's PID file under private (a path only root can reach),
// through shell (a root shell on the machine p reaches). The root-only
// file must keep its owner, mode and content, and no read may return it.
func linkRace(t *testing.T, p *Provider, rounds int, dir, private string, shell func(string) string) {
	ctx := testContext(t)
	const marker = "ROOT-ONLY-SECRET"
	secret, pidFile := private+"-secret", private+".pid"
	target, lines := dir+"/target", dir+"/lines.conf"
	shell("set -e; rm -rf " + dir + "; mkdir -m 0755 " + dir + "; chown nobody:nogroup " + dir +
		"; printf '%s\\n' " + marker + " > " + secret + "; chown root:root " + secret + "; chmod 0600 " + secret)
	// The racer is bounded by its iteration count too, should the test
	// die before its cleanup.
	shell("setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c " + quote(raceScript) +
		" racer " + dir + " 1000000 " + secret + " </dev/null >/dev/null 2>&1 & echo $! > " + pidFile)
	// Stop the racer between iterations, so that its count is whole; kill
	// it if it has not stopped within 30s.
	stop := "touch " + dir + "/stop; for i in $(seq 300); do kill -0 $(cat " + pidFile + ") 2>/dev/null || break; sleep 0.1; done; " +
		"kill $(cat " + pidFile + ") 2>/dev/null || true"
	t.Cleanup(func() { shell(stop + "; rm -rf " + dir + " " + secret + " " + pidFile) })
	// Start only once the racer runs (its first count), for at most 30s.
	if got := shell("for i in $(seq 300); do [ -s " + dir + "/count ] && break; sleep 0.1; done; " +
		"kill -0 $(cat " + pidFile + ") && cat " + dir + "/count || echo none"); strings.TrimSpace(got) == "none" || got == "" {
		t.Fatalf("the racer did not start (count %q)", got)
	}

	observeArgs := p.observeArgs("race", []observeItem{{path: target, text: true}, {op: []string{"l", lines, "x"}}})
	var refused int
	leak := func(what string, b []byte) {
		if strings.Contains(string(b), marker) {
			t.Errorf("round %s returned the root-only file", what)
		}
	}
	for i := range rounds {
		content := fmt.Sprintf("round %d\n", i)
		if _, _, err := p.writeFile(ctx, target, []byte(content), "0644", "nobody", "nogroup", "0755"); err != nil {
			refused++
		}
		for j := range 2 {
			b, _, err := p.readFile(ctx, target)
			if err != nil {
				refused++
			}
			leak(fmt.Sprintf("%d read %d", i, j), b)
		}
		if out, err := p.runScript(ctx, p.timeout, observeScript, nil, observeArgs...); err == nil {
			obs, err := parseObservation(out)
			if err != nil {
				t.Fatalf("round %d observe: %v", i, err)
			}
			leak(fmt.Sprintf("%d observe", i), obs.file(target).content)
		}
		for _, s := range []script{lineAddScript, lineRemoveScript} {
			if _, err := p.runScript(ctx, p.timeout, s, nil, lines, "line "+fmt.Sprint(i), "0"); err != nil {
				refused++
			}
		}
	}
	shell(stop)

	if got := shell("stat -c '%U:%G %a %h' " + secret + "; cat " + secret); got != "root:root 600 1\n"+marker+"\n" {
		t.Errorf("the root-only file is now %q, want root:root 600 1 and its content", got)
	}
	var iters, hits int
	fmt.Sscan(shell("cat "+dir+"/count"), &iters, &hits)
	t.Logf("%d rounds of meshx (%d operations refused); the racer ran %d iterations and swapped %d temp files", rounds, refused, iters, hits)
	if hits == 0 {
		t.Fatal("the racer never replaced a temp file: this run proves nothing")
	}
}
