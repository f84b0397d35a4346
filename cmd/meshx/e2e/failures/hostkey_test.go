package failures

import (
	"crypto/ed25519"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/meshx-dev/meshx/cmd/meshx/internal/e2etest"
)

// TestUnknownHostKey: the VM's host key is not in known_hosts, or another
// key is recorded for its address. Plan and apply refuse to connect, show
// the key's SHA256 fingerprint and how to trust it, and write nothing on
// the VM.
func TestUnknownHostKey(t *testing.T) {
	other, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := ssh.NewPublicKey(other)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		lines func(host string) string
		want  []string
	}{
		{"not in known_hosts", func(string) string { return "" },
			[]string{"is not in", "then trust it by adding this line to"}},
		{"changed key", func(host string) string { return knownhosts.Line([]string{host}, otherKey) + "\n" },
			[]string{"HOST KEY CHANGED", ssh.FingerprintSHA256(otherKey), "ssh-keygen -R"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e2etest.New(t, "hostkey")
			w.VMs = []string{"vm3"}
			w.Services = []e2etest.Svc{{Name: "details", VMs: []string{"vm3"}, Ports: map[string]int{"http": 9080}}}
			v := w.Lab.VM("vm3")
			host := knownhosts.Normalize(net.JoinHostPort(v.Address, strconv.Itoa(v.SSHPort)))
			w.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(w.KnownHosts, []byte(tc.lines(host)), 0o600); err != nil {
				t.Fatal(err)
			}
			w.Write()
			w.DestroyOnCleanup()
			t.Cleanup(func() { // before destroy: it must reach the VM
				w.KnownHosts = ""
				w.Write()
			})

			pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(w.VMExec("vm3", "cat", "/etc/ssh/ssh_host_ed25519_key.pub")))
			if err != nil {
				t.Fatal(err)
			}
			fp := ssh.FingerprintSHA256(pub)
			for _, args := range [][]string{{"plan", "-no-color"}, {"apply", "-auto-approve", "-no-color"}} {
				r := w.Must(1, args...)
				out := all(r)
				e2etest.Contains(t, args[0], out, append([]string{"Cannot observe vm.vm3", "offered ssh-ed25519 " + fp, knownhosts.Line([]string{host}, pub)}, tc.want...)...)
				if strings.Contains(out, "PRIVATE KEY") {
					t.Errorf("%s printed a private key", args[0])
				}
				vmPathsAbsent(t, w, "vm3", "/var/lib/meshx", "/etc/dnsmasq.d/kubedns", "/var/lib/istio/envoy/cluster.env")
			}
			known, err := os.ReadFile(w.KnownHosts)
			if err != nil {
				t.Fatal(err)
			}
			if string(known) != tc.lines(host) {
				t.Errorf("known_hosts was changed:\n%s", known)
			}
		})
	}
}
