package vm

import (
	"strings"
	"testing"
)

func TestParseManifestRefusesInvalidEntries(t *testing.T) {
	const head = `{"format":1,"environment":"prod","vm":"ecs1","entries":[` + "\n"
	for _, tc := range []struct {
		name, entry string
		wantErr     string // "" when the manifest is valid
	}{
		{"valid file", `{"type":"file","key":"/etc/certs/key.pem","name":"/etc/certs/key.pem","kind":"vm_file","sha256":"` + strings.Repeat("a", 64) + `","mode":"0600","owner":"istio-proxy","group":"istio-proxy"}`, ""},
		{"valid env", `{"type":"env","key":"/var/lib/istio/envoy/sidecar.env","name":"/var/lib/istio/envoy/sidecar.env","kind":"vm_env","mode":"0644","owner":"root","group":"0","keys":{"ISTIO_SERVICE":{"value":"it's $(x)","prior":"a b"}}}`, ""},
		{"valid line", `{"type":"line","key":"/etc/dhcp/dhclient.conf","name":"/etc/dhcp/dhclient.conf","kind":"vm_line","line":"prepend\tdomain-name-servers 127.0.0.1;"}`, ""},
		{"valid package", `{"type":"package","key":"istio-sidecar","name":"istio-sidecar","kind":"vm_package","version":"1:1.0.0~rc1+deb","source":"https://example.com/x.deb"}`, ""},
		{"valid unit", `{"type":"unit","key":"istio-auth-node-agent","name":"istio-auth-node-agent","kind":"vm_unit"}`, ""},

		{"relative path", `{"type":"file","key":"etc/x","name":"etc/x","kind":"vm_file"}`, `entry file "etc/x": path "etc/x" is not absolute`},
		{"unclean path", `{"type":"file","key":"/etc/../root/x","name":"/etc/../root/x","kind":"vm_file"}`, `entry file "/etc/../root/x": path "/etc/../root/x" is not clean`},
		{"newline in path", `{"type":"line","key":"/etc/x","name":"/etc/x\nK m9 file /etc/shadow","kind":"vm_line","line":"x"}`, `entry line "/etc/x": path "/etc/x\nK m9 file /etc/shadow" must not contain the control character`},
		{"path in the manifest dir", `{"type":"file","key":"/var/lib/meshx/prod.json","name":"/var/lib/meshx/prod.json","kind":"vm_file"}`, `where meshx keeps its manifests`},
		{"package name", `{"type":"package","key":"x","name":"-oDpkg::x","kind":"vm_package"}`, `entry package "x": package name "-oDpkg::x" is not valid`},
		{"package version", `{"type":"package","key":"x1","name":"x1","kind":"vm_package","version":"1.0 $(id)"}`, `entry package "x1": version "1.0 $(id)" is not a Debian version`},
		{"unit name", `{"type":"unit","key":"u","name":"a;reboot","kind":"vm_unit"}`, `entry unit "u": unit name "a;reboot" is not valid`},
		{"kind", `{"type":"unit","key":"u","name":"u","kind":"vm_file"}`, `entry unit "u": kind "vm_file" is not vm_unit`},
		{"empty line", `{"type":"line","key":"/etc/x","name":"/etc/x","kind":"vm_line","line":""}`, `entry line "/etc/x": line is empty`},
		{"newline in line", `{"type":"line","key":"/etc/x","name":"/etc/x","kind":"vm_line","line":"a\nb"}`, `entry line "/etc/x": line must not contain the control character U+000A`},
		{"mode", `{"type":"file","key":"/etc/x","name":"/etc/x","kind":"vm_file","mode":"0644; id"}`, `entry file "/etc/x": mode "0644; id" is not an octal file mode`},
		{"owner", `{"type":"file","key":"/etc/x","name":"/etc/x","kind":"vm_file","owner":"root:root"}`, `entry file "/etc/x": owner "root:root" is not a valid user or group name`},
		{"sha256", `{"type":"file","key":"/etc/x","name":"/etc/x","kind":"vm_file","sha256":"x"}`, `entry file "/etc/x": sha256 "x" is not 64 lower-case hex digits`},
		{"env key", `{"type":"env","key":"/etc/e","name":"/etc/e","kind":"vm_env","keys":{"A;B":{"value":"x"}}}`, `entry env "/etc/e": key "A;B" is not a shell variable name`},
		{"env prior", `{"type":"env","key":"/etc/e","name":"/etc/e","kind":"vm_env","keys":{"A":{"value":"x","prior":"y\nEVIL=1"}}}`, `entry env "/etc/e": the prior value of A must not contain the control character U+000A`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseManifest([]byte(head+tc.entry+"\n]}\n"), "prod")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("valid manifest refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("manifest accepted, want an error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
