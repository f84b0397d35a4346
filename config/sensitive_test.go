package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
)

// secretMarker is the value of the sensitive variable in the tests below:
// not a CIDR, a DNS label, a host, a user or a duration, so every attribute
// it is used in fails validation.
const secretMarker = "ci-token_S3cr3t!x"

const sensitiveBase = `
meshx {
  environment = %s
}
variable "secret" {
%s
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.0.0.0/16"
  mesh_expansion { load_balancer = "none" }
}
`

// TestSensitiveNeverInDiagnostics uses a sensitive variable in every
// attribute whose diagnostics quote a value, and checks that no
// diagnostic's summary, detail or snippet (the source lines of its subject)
// contains the value.
func TestSensitiveNeverInDiagnostics(t *testing.T) {
	tests := []struct {
		name    string
		env     string // the environment attribute's expression
		varBody string // the body of variable "secret"
		extra   string
		vars    string // meshx.vars; the value comes from the environment when empty
		value   string // the secret, when not secretMarker (a valid one)
		want    string // a summary that must be among the diagnostics
	}{
		{name: "pod_cidr", extra: `cluster "r" { pod_cidr = var.secret }`, want: "Invalid CIDR"},
		{name: "cidr host bits", extra: `cluster "r" { pod_cidr = "${var.secret}/8" }`, want: "Invalid CIDR"},
		{name: "environment", env: "var.secret", want: "Invalid environment name"},
		{name: "overlapping CIDRs", value: "10.0.0.0/8", extra: `cluster "r" { pod_cidr = var.secret }`, want: "Overlapping CIDR ranges"},
		{name: "duplicate cluster ID", value: "shared-id", extra: `cluster "r1" {
  pod_cidr   = "10.1.0.0/16"
  cluster_id = var.secret
}
cluster "r2" {
  pod_cidr   = "10.2.0.0/16"
  cluster_id = var.secret
}`, want: "Duplicate cluster ID"},
		{name: "mesh IP in a cluster range", value: "10.0.77.7", extra: vmWith(`mesh_ip = var.secret`, ``), want: "VM address inside a cluster range"},
		{name: "pilot port", value: "15999", extra: vmWith(`sidecar_env = { ISTIO_PILOT_PORT = var.secret }`, ``), want: "Pilot port does not match control plane auth"},
		{name: "inbound ports", value: "7777", extra: vmWith(`sidecar_env = { ISTIO_INBOUND_PORTS = var.secret }`, ``) + `
service "s" {
  vm    = vm.v
  ports = { http = 9080 }
}`, want: "Inbound ports leave out service ports"},
		{name: "namespace mismatch", value: "other-ns", extra: vmWith(``, ``) + `
service "s" {
  vm        = vm.v
  namespace = var.secret
  ports     = { http = 9080 }
}`, want: "Service namespace differs from its VM's"},
		{name: "vm namespace", extra: vmWith(`namespace = var.secret`, ``), want: "Invalid namespace"},
		{name: "vm service account", extra: vmWith(`service_account = var.secret`, ``), want: "Invalid service account name"},
		{name: "vm address", extra: `vm "v" {
  address = var.secret
  ssh { use_agent = true }
}`, want: "Invalid VM address"},
		{name: "mesh_ip", extra: vmWith(`mesh_ip = var.secret`, ``), want: "Invalid mesh IP"},
		{name: "certs_mode", extra: vmWith(`certs_mode = var.secret`, ``), want: "Invalid certificate mode"},
		{name: "bastion", extra: vmWith(``, `bastion = var.secret`), want: "Invalid bastion"},
		{name: "ssh user", extra: vmWith(``, `user = var.secret`), want: "Invalid SSH user"},
		{name: "package source", extra: vmWith(`sidecar_package { source = "s3://${var.secret}" }`, ``), want: "Unsupported package source"},
		{name: "env key", extra: vmWith(`sidecar_env = { (var.secret) = "1" }`, ``), want: "Invalid environment variable name"},
		{name: "token lifetime", extra: `cluster "r" {
  pod_cidr       = "10.1.0.0/16"
  token_lifetime = var.secret
}`, want: "Invalid duration"},
		{name: "istio profile", extra: ``, env: `"demo"
  istio {
    profile = var.secret
  }`, want: "Unknown Istio profile"},
		{name: "service namespace", extra: `service "s" {
  namespace = var.secret
  ports     = { http = 80 }
}`, want: "Invalid namespace"},
		{name: "label value", extra: `service "s" {
  namespace = "default"
  ports     = { http = 80 }
  labels    = { app = var.secret }
}`, want: "Invalid label value"},
		{name: "file path", extra: `output "o" {
  value     = file(var.secret)
  sensitive = true
}`, want: "Invalid function argument"},
		{name: "templatefile path", extra: `output "o" {
  value     = templatefile(var.secret, {})
  sensitive = true
}`, want: "Invalid function argument"},
		{name: "function error", extra: `output "o" {
  value     = tonumber(var.secret)
  sensitive = true
}`, want: "Invalid function argument"},
		{name: "cidrhost error", extra: `output "o" {
  value     = cidrhost(var.secret, 1)
  sensitive = true
}`, want: "Invalid function argument"},
		{name: "regex error", extra: `output "o" {
  value     = regex(var.secret, "x")
  sensitive = true
}`, want: "Error in function call"},
		{name: "validation message", varBody: `sensitive = true
  validation {
    condition     = length(var.secret) < 3
    error_message = "The token ${var.secret} is too long."
  }`, want: "Invalid value for variable"},
		{name: "validation condition", varBody: `sensitive = true
  validation {
    condition     = var.secret
    error_message = "Bad."
  }`, want: "Invalid validation condition"},
		{name: "validation of a value in a file", vars: `secret = "` + secretMarker + `"`, varBody: `sensitive = true
  validation {
    condition     = length(var.secret) < 3
    error_message = "Too long."
  }`, want: "Invalid value for variable"},
		{name: "wrong type in a file", vars: `secret = "` + secretMarker + `"`, varBody: `sensitive = true
  type      = number`, want: "Invalid value for input variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, body := tt.env, tt.varBody
			if env == "" {
				env = `"demo"`
			}
			if body == "" {
				body = "  sensitive = true"
			}
			dir := t.TempDir()
			write(t, dir, "main.hcl", strings.Replace(strings.Replace(sensitiveBase, "%s", env, 1), "%s", body, 1)+tt.extra+"\n")
			secret := secretMarker
			if tt.value != "" {
				secret = tt.value
			}
			opts := LoadOptions{Env: []string{EnvVarPrefix + "secret=" + secret}}
			if tt.vars != "" {
				write(t, dir, DefaultVarsFile, tt.vars+"\n")
				opts.Env = nil
			}
			cfg, diags := Load(dir, opts)
			found := false
			for _, d := range diags {
				found = found || d.Summary == tt.want
				if strings.Contains(d.Summary+d.Detail, secret) {
					t.Errorf("diagnostic %q shows the secret: %s", d.Summary, d.Detail)
				}
				if snip := subjectLines(cfg, d.Subject); strings.Contains(snip, secret) {
					t.Errorf("the snippet of diagnostic %q shows the secret: %s", d.Summary, snip)
				}
			}
			if !found {
				t.Errorf("no %q diagnostic among:\n%s", tt.want, diags.Error())
			}
		})
	}
}

func vmWith(attrs, sshAttrs string) string {
	return `vm "v" {
  address = "192.168.1.5"
  ` + attrs + `
  ssh {
    use_agent = true
    ` + sshAttrs + `
  }
}`
}

// subjectLines returns the source lines a diagnostic's subject covers.
func subjectLines(cfg *Config, rng *hcl.Range) string {
	if rng == nil || cfg == nil || cfg.Files[rng.Filename] == nil {
		return ""
	}
	lines := strings.Split(string(cfg.Files[rng.Filename].Bytes), "\n")
	var out []string
	for i := rng.Start.Line; i <= rng.End.Line && i-1 < len(lines); i++ {
		if i >= 1 {
			out = append(out, lines[i-1])
		}
	}
	return strings.Join(out, "\n")
}

// TestSensitiveSettings checks which sidecar_env and cluster_env keys are
// recorded as sensitive, and that a sensitive sidecar_env value that is
// known only after apply is refused (sidecar.env cannot protect it).
func TestSensitiveSettings(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", strings.Replace(strings.Replace(sensitiveBase, "%s", `"demo"`, 1), "%s", "  sensitive = true", 1)+vmWith(`
  sidecar_env = {
    TOKEN = var.secret
    PLAIN = "x"
  }
  cluster_env = {
    AUTH  = "Bearer ${var.secret}"
    OTHER = "y"
  }`, ``))
	cfg, diags := Load(dir, LoadOptions{Env: []string{EnvVarPrefix + "secret=" + secretMarker}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	v := cfg.VM("v")
	if diff := cmp.Diff([]string{"TOKEN"}, v.SidecarEnv.Sensitive); diff != "" {
		t.Errorf("sidecar_env sensitive keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AUTH"}, v.ClusterEnv.Sensitive); diff != "" {
		t.Errorf("cluster_env sensitive keys (-want +got):\n%s", diff)
	}

	dir = t.TempDir()
	write(t, dir, "main.hcl", strings.Replace(strings.Replace(sensitiveBase, "%s", `"demo"`, 1), "%s", "  sensitive = true", 1)+vmWith(`
  sidecar_env = {
    TOKEN = "${var.secret}@${cluster.control.ilb.pilot.address}"
  }`, ``))
	_, diags = Load(dir, LoadOptions{Env: []string{EnvVarPrefix + "secret=" + secretMarker}})
	if got := summaries(diags); !cmp.Equal(got, []string{"Sensitive value known only after apply"}) {
		t.Errorf("sensitive unknown sidecar_env value: got %q\n%s", got, diags.Error())
	}
}

func summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Summary)
	}
	return out
}

// TestPrivateKeysAreSensitive checks that file() of a private key, or of
// the file a private_key_file attribute names, is sensitive: a
// non-sensitive output of it is refused.
func TestPrivateKeysAreSensitive(t *testing.T) {
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "id_openssh", string(pem.EncodeToMemory(block)))
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not really DER")})
	write(t, dir, "key.pem", string(pkcs8))
	write(t, dir, "opaque_key", "just some bytes the ssh block names\n")
	write(t, dir, "plain.txt", "hello\n")
	tests := []struct {
		file string
		want []string
	}{
		{"id_openssh", []string{"Output refers to sensitive values"}},
		{"key.pem", []string{"Output refers to sensitive values"}},
		{"opaque_key", []string{"Output refers to sensitive values"}},
		{"plain.txt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			write(t, dir, "main.hcl", strings.Replace(strings.Replace(sensitiveBase, "%s", `"demo"`, 1), "%s", `  default = ""`, 1)+`
vm "v" {
  address = "192.168.1.5"
  ssh { private_key_file = "opaque_key" }
}
output "o" { value = file("`+tt.file+`") }
`)
			_, diags := Load(dir, LoadOptions{})
			if diff := cmp.Diff(tt.want, summaries(diags)); diff != "" {
				t.Errorf("summaries (-want +got):\n%s\n%s", diff, diags.Error())
			}
		})
	}
}

// TestSensitiveRefusedWhereShown checks that a sensitive value is refused
// in attributes whose values plans show: typed configuration carries no
// marks, so only sidecar_env, cluster_env and outputs can protect one.
func TestSensitiveRefusedWhereShown(t *testing.T) {
	const want = "Sensitive value where it cannot be protected"
	for _, tc := range []struct{ name, extra string }{
		{"service annotation", vmWith(``, ``) + `
service "s" {
  vm          = vm.v
  ports       = { http = 80 }
  annotations = { token = var.secret }
}`},
		{"package URL with a token", vmWith(`sidecar_package {
    source = "https://${var.secret}@repo.example/istio-sidecar.deb"
    sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
  }`, ``)},
		{"port", vmWith(``, ``) + `
service "s" {
  vm        = vm.v
  ports     = { http = length(var.secret) }
}`},
		{"bastion", vmWith(``, `bastion = var.secret`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "main.hcl", strings.Replace(strings.Replace(sensitiveBase, "%s", `"demo"`, 1), "%s", "  sensitive = true", 1)+tc.extra+"\n")
			_, diags := Load(dir, LoadOptions{Env: []string{EnvVarPrefix + "secret=" + "abc"}})
			if !slices.Contains(summaries(diags), want) {
				t.Errorf("no %q among:\n%s", want, diags.Error())
			}
		})
	}
}
