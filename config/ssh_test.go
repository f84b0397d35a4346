package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSSHWithoutCredentials: a VM that names no key (no ssh block, or one
// without private_key_file and use_agent) is valid: meshx then connects as
// ssh does, with ~/.ssh/config, the default keys and the agent.
func TestSSHWithoutCredentials(t *testing.T) {
	for name, ssh := range map[string]string{"no ssh block": "", "no key": "ssh {\n    user = \"root\"\n  }"} {
		t.Run(name, func(t *testing.T) {
			cfg := loadMain(t, "", `
vm "vm1" {
  address = "vm1.example.com"
  mesh_ip = "192.168.10.5"
  `+ssh+`
}
`)
			want := SSH{User: "root", Port: 22, KnownHostsFile: "/home/test/.ssh/known_hosts"}
			if diff := cmp.Diff(want, cfg.VMs[0].SSH); diff != "" {
				t.Errorf("ssh (-want +got):\n%s", diff)
			}
		})
	}
}
