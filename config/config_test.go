package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/meshx-dev/meshx/plans"
)

// ignoreSource leaves ranges and expressions out of comparisons of typed
// configuration.
var ignoreSource = cmp.Options{
	cmpopts.IgnoreUnexported(Cluster{}, VM{}, Service{}),
	cmpopts.IgnoreTypes(hcl.Range{}, map[string]hcl.Range{}),
	cmpopts.IgnoreFields(EnvMap{}, "Expr"),
	cmpopts.EquateEmpty(),
}

func loadValid(t *testing.T, name string) *Config {
	t.Helper()
	for _, tc := range readCases(t, "testdata/valid") {
		if tc.name == name {
			cfg, diags := tc.load(t)
			if diags.HasErrors() {
				t.Fatalf("load %s: %s", name, diags.Error())
			}
			return cfg
		}
	}
	t.Fatalf("no valid case %q", name)
	return nil
}

func TestTypedBookinfo(t *testing.T) {
	cfg := loadValid(t, "bookinfo")
	wantMeshx := Meshx{Environment: "bookinfo", Istio: Istio{Namespace: "istio-system", Profile: "1.0", ControlPlaneAuth: "MUTUAL_TLS"}}
	if diff := cmp.Diff(wantMeshx, cfg.Meshx, ignoreSource); diff != "" {
		t.Errorf("meshx (-want +got):\n%s", diff)
	}
	wantClusters := []*Cluster{{
		Name: "control", Role: RoleControl, Kubeconfig: "/home/test/.kube/config", Context: "istio-control-plane",
		PodCIDR: "172.16.0.0/16", ServiceCIDR: "172.19.0.0/20",
		PodPrefix: mustPrefix("172.16.0.0/16"), ServicePrefix: mustPrefix("172.19.0.0/20"),
		ClusterID: "control", ManageRemoteSecret: true,
		MeshExpansion: &MeshExpansion{LoadBalancer: "alibaba", WaitTimeout: 15 * time.Minute, Manage: true, Annotations: map[string]string{
			"service.beta.kubernetes.io/alicloud-loadbalancer-force-override-listeners": "true",
		}},
	}}
	if diff := cmp.Diff(wantClusters, cfg.Clusters, ignoreSource, cmp.Comparer(prefixEqual)); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	wantVMs := []*VM{{
		Name: "ecs1", Address: "192.168.0.10", MeshIP: "192.168.0.10",
		SSH:       SSH{User: "root", Port: 22, PrivateKeyFile: "/home/test/.ssh/id_rsa", KnownHostsFile: filepath.Join(cfg.Dir, "known_hosts")},
		Namespace: "bookinfo", ServiceAccount: "default",
		SidecarPackages: []*SidecarPackage{{
			Name:   "istio-sidecar",
			Source: "https://storage.example.com/1.0.0/deb/istio-sidecar.deb",
			SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		}},
		SidecarEnv: EnvMap{Values: map[string]string{"ISTIO_INBOUND_INTERCEPTION_MODE": "REDIRECT", "ISTIO_PILOT_PORT": "15005"}},
		ClusterEnv: EnvMap{Values: map[string]string{}},
		CertsMode:  CertsAll, Cluster: "control",
	}}
	if diff := cmp.Diff(wantVMs, cfg.VMs, ignoreSource); diff != "" {
		t.Errorf("vms (-want +got):\n%s", diff)
	}
	wantServices := []*Service{
		{Name: "details", ServiceName: "details", Namespace: "bookinfo", VMs: []string{"ecs1"}, Ports: []Port{{Name: "http", Port: 9080}}, ServiceAccount: "default", Cluster: "control"},
		{Name: "mysqldb", ServiceName: "mysqldb", Namespace: "bookinfo", VMs: []string{"ecs1"}, Ports: []Port{{Name: "mysql", Port: 3306}}, ServiceAccount: "default", Cluster: "control", Labels: map[string]string{"app": "mysqldb"}},
	}
	if diff := cmp.Diff(wantServices, cfg.Services, ignoreSource); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if got := cfg.Outputs[1]; got.Name != "pilot_ilb" || got.Value.IsKnown() {
		t.Errorf("output pilot_ilb = %#v, want unknown at load time", got.Value)
	}
	if got := cfg.Outputs[0].Value; !got.RawEquals(cty.StringVal("details.bookinfo.svc.cluster.local")) {
		t.Errorf("output details_fqdn = %#v", got)
	}
	// The ranges point at the source.
	if r := cfg.VMs[0].Ranges["ssh.private_key_file"]; r.Filename != "bookinfo.hcl" || r.Start.Line != 39 {
		t.Errorf("range of ssh.private_key_file = %v, want bookinfo.hcl:39", r)
	}
}

func TestTypedMulticluster(t *testing.T) {
	cfg := loadValid(t, "multicluster")
	r1 := cfg.Cluster("remote1")
	want := &Cluster{
		Name: "remote1", Role: RoleRemote, Kubeconfig: filepath.Join(cfg.Dir, "kube/remote1.yaml"),
		PodCIDR: "172.20.0.0/16", ServiceCIDR: "172.21.0.0/20", PodPrefix: mustPrefix("172.20.0.0/16"), ServicePrefix: mustPrefix("172.21.0.0/20"),
		ClusterID: "myremote1", ServiceAccount: "istio-reader", TokenLifetime: 24 * time.Hour, Adopt: false,
		ManageRemoteSecret: true,
	}
	if diff := cmp.Diff(want, r1, ignoreSource, cmp.Comparer(prefixEqual)); diff != "" {
		t.Errorf("remote1 (-want +got):\n%s", diff)
	}
	r2 := cfg.Cluster("remote2")
	if r2.PodCIDR != "172.25.0.0/16" || r2.ServiceAccount != "istio-multi" || !r2.Adopt || r2.ClusterID != "remote2" {
		t.Errorf("remote2 = %+v; want pod 172.25.0.0/16, SA istio-multi, adopt from meshx, ID remote2", r2)
	}
	vm := cfg.VM("app1")
	wantSSH := SSH{User: "deploy", Port: 2222, UseAgent: true, Sudo: true, Bastion: "jump@10.0.5.1:22", KnownHostsFile: "/home/test/.ssh/known_hosts"}
	if diff := cmp.Diff(wantSSH, vm.SSH); diff != "" {
		t.Errorf("ssh (-want +got):\n%s", diff)
	}
	if vm.MeshIP != "10.0.6.7" || vm.Cluster != "control" {
		t.Errorf("vm = %+v", vm)
	}
	svc := cfg.Service("details")
	wantPorts := []Port{{Name: "http", Port: 9080}, {Name: "9090", Port: 9090}}
	if diff := cmp.Diff(wantPorts, svc.Ports, ignoreSource); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if svc.Cluster != "remote1" {
		t.Errorf("service cluster = %q, want remote1", svc.Cluster)
	}
}

// TestTypedModernMulticluster checks a remote's reader account in the
// istiod era: istio-reader-service-account unless set, and the server of
// remote_secret.
func TestTypedModernMulticluster(t *testing.T) {
	cfg := loadValid(t, "modern_multicluster")
	r1, r2 := cfg.Cluster("remote1"), cfg.Cluster("remote2")
	if r1.ServiceAccount != "istio-reader-service-account" || r1.ClusterID != "cluster2" || r1.TokenLifetime != time.Hour || r1.RemoteServer != "https://10.0.0.5:6443" || r1.RemoteTLSServerName != "api.remote1.internal" || !r1.ManageRemoteSecret {
		t.Errorf("remote1 = %+v; want SA istio-reader-service-account, ID cluster2, token 1h, server https://10.0.0.5:6443", r1)
	}
	if r2.ServiceAccount != "istiod-reader" || r2.RemoteServer != "" || r2.ClusterID != "remote2" {
		t.Errorf("remote2 = %+v; want SA istiod-reader, no server, ID remote2", r2)
	}
}

func TestTypedSharedMesh(t *testing.T) {
	cfg := loadValid(t, "shared_mesh")
	if me := cfg.Control().MeshExpansion; me == nil || me.Manage {
		t.Errorf("control mesh_expansion = %+v, want Manage false", me)
	}
	if r := cfg.Cluster("remote1"); r.ManageRemoteSecret {
		t.Errorf("remote1 ManageRemoteSecret = true, want false")
	}
	if me := loadValid(t, "multicluster").Control().MeshExpansion; !me.Manage {
		t.Errorf("multicluster mesh_expansion Manage = false, want the default true")
	}
}

func TestExpressions(t *testing.T) {
	cfg := loadValid(t, "expressions")
	vm := cfg.VM("a")
	if vm.Address != "192.168.2.1" || vm.Namespace != "shop" {
		t.Errorf("vm = %+v", vm)
	}
	wantEnv := EnvMap{
		Values:  map[string]string{"ISTIO_PILOT_PORT": "15005", "GREETING": "Hello mesh!", "KEY_BYTES": "15"},
		Unknown: []string{"PILOT_ADDRESS"},
		// KEY_BYTES derives from a file private_key_file names.
		Sensitive: []string{"ISTIO_PILOT_PORT", "KEY_BYTES"},
	}
	if diff := cmp.Diff(wantEnv, vm.SidecarEnv, ignoreSource); diff != "" {
		t.Errorf("sidecar_env (-want +got):\n%s", diff)
	}
	wantPorts := []Port{{Name: "http", Port: 8080}, {Name: "grpc", Port: 9090}}
	if diff := cmp.Diff(wantPorts, cfg.Service("shop").Ports, ignoreSource); diff != "" {
		t.Errorf("ports from a local (-want +got):\n%s", diff)
	}
	wantLegacy := []Port{{Name: "mysql", Port: 3306}, {Name: "11211", Port: 11211}}
	if diff := cmp.Diff(wantLegacy, cfg.Service("legacy").Ports, ignoreSource); diff != "" {
		t.Errorf("list ports (-want +got):\n%s", diff)
	}

	known := Known{ILB: map[string]map[string]ILBStatus{"control": {"pilot": {Hostname: "pilot.lb.example"}}}}
	env, diags := cfg.EvalEnv(vm.SidecarEnv, known)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if env["PILOT_ADDRESS"] != "pilot.lb.example" || env["GREETING"] != "Hello mesh!" {
		t.Errorf("EvalEnv = %v", env)
	}
	out, diags := cfg.EvalExpr(cfg.Outputs[0].Expr, Known{ILB: map[string]map[string]ILBStatus{"control": {"pilot": {IP: "10.1.2.3", Hostname: "x"}}}})
	if diags.HasErrors() || !out.RawEquals(cty.StringVal("10.1.2.3:15005")) {
		t.Errorf("output with known ILB = %#v, %v; want \"10.1.2.3:15005\"", out, diags)
	}
	// Still unknown without the value.
	if _, diags := cfg.EvalEnv(vm.SidecarEnv, Known{}); !diags.HasErrors() {
		t.Errorf("EvalEnv without the ILB address succeeded")
	}
}

func TestEvalContextServiceCIDR(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", `
meshx { environment = "x" }
cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
}
output "svc" { value = cluster.control.service_cidr }
output "dns" { value = cluster.control.ilb.dns.namespace }
`)
	cfg, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.Outputs[1].Value.IsKnown() {
		t.Errorf("service_cidr known at load time without being set")
	}
	if !cfg.Outputs[0].Value.RawEquals(cty.StringVal("kube-system")) {
		t.Errorf("dns ILB namespace = %#v", cfg.Outputs[0].Value)
	}
	v, diags := cfg.EvalExpr(cfg.Outputs[1].Expr, Known{ServiceCIDR: map[string]string{"control": "10.96.0.0/12"}})
	if diags.HasErrors() || !v.RawEquals(cty.StringVal("10.96.0.0/12")) {
		t.Errorf("discovered service_cidr = %#v, %v", v, diags)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const varsConfig = `
meshx { environment = var.env }
variable "env" {
  type    = string
  default = "default"
}
variable "list" {
  type    = list(number)
  default = []
}
cluster "control" {
  role     = "control"
  pod_cidr = "10.0.0.0/16"
}
`

func TestVariablePrecedence(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		env        []string
		vars       []VarArg
		want       string
		wantSource string
	}{
		{name: "default", want: "default", wantSource: "default"},
		{name: "environment", env: []string{"MESHX_VAR_env=fromenv", "OTHER=x"}, want: "fromenv", wantSource: "environment"},
		{name: "last environment entry wins", env: []string{"MESHX_VAR_env=one", "MESHX_VAR_env=two"}, want: "two", wantSource: "environment"},
		{name: "meshx.vars over environment", env: []string{"MESHX_VAR_env=fromenv"},
			files: map[string]string{"meshx.vars": `env = "meshxvars"`}, want: "meshxvars", wantSource: "file meshx.vars"},
		{name: "auto.vars over meshx.vars, lexical",
			files: map[string]string{"meshx.vars": `env = "meshxvars"`, "b.auto.vars": `env = "b"`, "a.auto.vars": `env = "a"`},
			want:  "b", wantSource: "file b.auto.vars"},
		{name: "-var over files", files: map[string]string{"a.auto.vars": `env = "a"`},
			vars: []VarArg{{Assign: "env=cli"}}, want: "cli", wantSource: "-var"},
		{name: "-var then -var-file: the file wins",
			files: map[string]string{"x.vars": `env = "xfile"`},
			vars:  []VarArg{{Assign: "env=cli"}, {File: "x.vars"}}, want: "xfile", wantSource: "-var-file x.vars"},
		{name: "-var-file then -var: the -var wins",
			files: map[string]string{"x.vars": `env = "xfile"`},
			vars:  []VarArg{{File: "x.vars"}, {Assign: "env=cli"}}, want: "cli", wantSource: "-var"},
		{name: "not-auto vars files are not read", files: map[string]string{"other.vars": `env = "nope"`}, want: "default", wantSource: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "main.hcl", varsConfig)
			for n, c := range tt.files {
				write(t, dir, n, c)
			}
			cfg, diags := Load(dir, LoadOptions{Env: tt.env, Vars: tt.vars})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			var v *Variable
			for _, x := range cfg.Variables {
				if x.Name == "env" {
					v = x
				}
			}
			if got := cfg.Meshx.Environment; got != tt.want {
				t.Errorf("environment = %q, want %q", got, tt.want)
			}
			if v.Source != tt.wantSource {
				t.Errorf("source = %q, want %q", v.Source, tt.wantSource)
			}
		})
	}
}

func TestVariableValuesFromStrings(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", varsConfig)
	cfg, diags := Load(dir, LoadOptions{Env: []string{"MESHX_VAR_list=[1, 2, 3]"}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2), cty.NumberIntVal(3)})
	if got := cfg.Variables[1].Value; !got.RawEquals(want) {
		t.Errorf("list from the environment = %#v, want %#v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		vars  []VarArg
		env   []string
		dir   string // overrides the temporary directory
		want  []string
	}{
		{name: "missing directory", dir: "/nonexistent/meshx", want: []string{"Cannot read configuration directory"}},
		{name: "no hcl files", files: map[string]string{"README.md": "hi"}, want: []string{"No configuration files"}},
		{name: "undeclared -var", files: map[string]string{"main.hcl": varsConfig}, vars: []VarArg{{Assign: "nope=1"}}, want: []string{"Value for undeclared variable"}},
		{name: "malformed -var", files: map[string]string{"main.hcl": varsConfig}, vars: []VarArg{{Assign: "env"}}, want: []string{"Invalid -var option"}},
		{name: "missing -var-file", files: map[string]string{"main.hcl": varsConfig}, vars: []VarArg{{File: "absent.vars"}}, want: []string{"Cannot read variables file"}},
		{name: "wrong type from -var", files: map[string]string{"main.hcl": varsConfig}, vars: []VarArg{{Assign: "list=[\"a\"]"}}, want: []string{"Invalid value for input variable"}},
		{name: "wrong type from environment", files: map[string]string{"main.hcl": varsConfig}, env: []string{"MESHX_VAR_list=oops"}, want: []string{"Invalid value for input variable"}},
		{name: "undeclared in environment is ignored", files: map[string]string{"main.hcl": varsConfig}, env: []string{"MESHX_VAR_nope=1"}},
		{name: "blocks in a vars file", files: map[string]string{"main.hcl": varsConfig, "meshx.vars": "x {}\n"}, want: []string{"Unexpected \"x\" block"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = t.TempDir()
				for n, c := range tt.files {
					write(t, dir, n, c)
				}
			}
			cfg, diags := Load(dir, LoadOptions{Vars: tt.vars, Env: tt.env})
			if cfg == nil {
				t.Fatal("Load returned a nil Config")
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("summaries (-want +got):\n%s\n%s", diff, diags.Error())
			}
		})
	}
}

func TestIgnoredFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", varsConfig)
	write(t, dir, ".hidden.hcl", "broken {")
	write(t, dir, "main.hcl~", "broken {")
	write(t, dir, "#main.hcl#", "broken {")
	if err := os.Mkdir(filepath.Join(dir, "sub.hcl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, diags := Load(dir, LoadOptions{}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
}

func TestCIDRFunctions(t *testing.T) {
	fs := functions(t.TempDir(), nil)
	tests := []struct {
		fn      string
		args    []cty.Value
		want    string
		wantErr string
	}{
		{"cidrhost", []cty.Value{cty.StringVal("10.12.112.0/20"), cty.NumberIntVal(16)}, "10.12.112.16", ""},
		{"cidrhost", []cty.Value{cty.StringVal("10.12.112.0/20"), cty.NumberIntVal(-1)}, "10.12.127.255", ""},
		{"cidrhost", []cty.Value{cty.StringVal("fd00:fd12:3456:7890::/56"), cty.NumberIntVal(34)}, "fd00:fd12:3456:7800::22", ""},
		{"cidrhost", []cty.Value{cty.StringVal("10.0.0.0/30"), cty.NumberIntVal(4)}, "", "no host number 4"},
		{"cidrhost", []cty.Value{cty.StringVal("nonsense"), cty.NumberIntVal(1)}, "", "invalid CIDR"},
		{"cidrsubnet", []cty.Value{cty.StringVal("172.16.0.0/12"), cty.NumberIntVal(4), cty.NumberIntVal(2)}, "172.18.0.0/16", ""},
		{"cidrsubnet", []cty.Value{cty.StringVal("10.1.2.0/24"), cty.NumberIntVal(4), cty.NumberIntVal(15)}, "10.1.2.240/28", ""},
		{"cidrsubnet", []cty.Value{cty.StringVal("fd00:fd12:3456:7890::/56"), cty.NumberIntVal(16), cty.NumberIntVal(162)}, "fd00:fd12:3456:7800:a200::/72", ""},
		{"cidrsubnet", []cty.Value{cty.StringVal("10.0.0.0/8"), cty.NumberIntVal(4), cty.NumberIntVal(16)}, "", "no subnet number 16"},
		{"cidrsubnet", []cty.Value{cty.StringVal("10.0.0.0/8"), cty.NumberIntVal(25), cty.NumberIntVal(0)}, "", "cannot extend"},
		{"cidrnetmask", []cty.Value{cty.StringVal("172.16.0.0/12")}, "255.240.0.0", ""},
		{"cidrnetmask", []cty.Value{cty.StringVal("0.0.0.0/0")}, "0.0.0.0", ""},
	}
	for _, tt := range tests {
		got, err := fs[tt.fn].Call(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s(%v) error = %v, want %q", tt.fn, tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.AsString() != tt.want {
			t.Errorf("%s(%v) = %v, %v; want %q", tt.fn, tt.args, got, err, tt.want)
		}
	}
}

func TestLength(t *testing.T) {
	fs := functions(t.TempDir(), nil)
	for _, tt := range []struct {
		in   cty.Value
		want int64
	}{
		{cty.StringVal("héllo"), 5},
		{cty.ListVal([]cty.Value{cty.True, cty.False}), 2},
		{cty.EmptyObjectVal, 0},
		{cty.MapVal(map[string]cty.Value{"a": cty.True}), 1},
	} {
		got, err := fs["length"].Call([]cty.Value{tt.in})
		if err != nil || !got.RawEquals(cty.NumberIntVal(tt.want)) {
			t.Errorf("length(%#v) = %#v, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// TestExamples loads the examples with fake lab values and checks that they
// describe the flows of the guides they follow.
func TestExamples(t *testing.T) {
	vars, err := filepath.Abs("testdata/examples.vars")
	if err != nil {
		t.Fatal(err)
	}
	load := func(name string) *Config {
		t.Helper()
		cfg, diags := Load(filepath.Join("..", "examples", name), LoadOptions{Vars: []VarArg{{File: vars}}, HomeDir: "/home/test"})
		for _, d := range diags {
			if d.Severity == hcl.DiagError || !strings.Contains(d.Summary, "undeclared variable") {
				t.Errorf("%s: %s", name, d.Error())
			}
		}
		if diags.HasErrors() {
			t.FailNow()
		}
		return cfg
	}

	t.Run("fleet", func(t *testing.T) {
		cfg := load("fleet")
		got := map[string]string{}
		for _, v := range cfg.VMs {
			got[v.Name] = v.MeshIP
		}
		for _, s := range cfg.Services {
			got[s.Name] = s.Namespace + " " + strings.Join(s.VMs, ",")
		}
		want := map[string]string{
			`app["vm1"]`: "10.251.0.10", `app["vm2"]`: "10.251.0.11", `app["vm3"]`: "10.251.0.12",
			"frontend": `fleet app["vm1"],app["vm2"],app["vm3"]`,
			"catalog":  `fleet app["vm1"],app["vm3"]`,
			"orders":   `fleet app["vm2"]`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("instances and services (-want +got):\n%s", diff)
		}
	})

	t.Run("bookinfo-vm", func(t *testing.T) {
		cfg := load("bookinfo-vm")
		wantServices := []*Service{
			{Name: "details", ServiceName: "details", Namespace: "bookinfo", VMs: []string{"ecs1"}, Ports: []Port{{Name: "http", Port: 9080}}, ServiceAccount: "default", Cluster: "control"},
			{Name: "mysqldb", ServiceName: "mysqldb", Namespace: "bookinfo", VMs: []string{"ecs1"}, Ports: []Port{{Name: "mysql", Port: 3306}}, ServiceAccount: "default", Cluster: "control"},
		}
		if diff := cmp.Diff(wantServices, cfg.Services, ignoreSource); diff != "" {
			t.Errorf("services (-want +got):\n%s", diff)
		}
		vm := cfg.VM("ecs1")
		if vm.Address != "10.251.0.10" || vm.Namespace != "bookinfo" || vm.SSH.PrivateKeyFile != "/lab/id_ed25519" || vm.SSH.KnownHostsFile != "/lab/known_hosts" {
			t.Errorf("vm = %+v", vm)
		}
		if len(vm.SidecarPackages) != 1 || vm.SidecarPackages[0].Source != "http://127.0.0.1:8080/istio-sidecar.deb" {
			t.Errorf("sidecar packages = %+v", vm.SidecarPackages)
		}
		c := cfg.Control()
		if c.Kubeconfig != "/lab/control.kubeconfig" || c.MeshExpansion.LoadBalancer != "alibaba" || c.ServiceCIDR != "" {
			t.Errorf("control = %+v", c)
		}
		if len(cfg.Outputs) != 2 {
			t.Errorf("outputs = %d, want 2", len(cfg.Outputs))
		}
	})

	t.Run("multicluster", func(t *testing.T) {
		cfg := load("multicluster")
		got := map[string][2]string{}
		for _, c := range cfg.Clusters {
			got[c.Name] = [2]string{c.PodCIDR, c.ServiceCIDR}
		}
		want := map[string][2]string{
			"control": {"172.16.0.0/16", "172.19.0.0/20"},
			"remote1": {"172.20.0.0/16", "172.21.0.0/20"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CIDR table (-want +got):\n%s", diff)
		}
		r := cfg.Cluster("remote1")
		if r.Role != RoleRemote || r.ClusterID != "remote1" || r.ServiceAccount != "istio-multi" || r.Kubeconfig != "/lab/remote1.kubeconfig" {
			t.Errorf("remote1 = %+v", r)
		}
		if s := cfg.Service("details"); s.Cluster != "remote1" || s.Ports[0].Port != 9080 {
			t.Errorf("details = %+v, want served from remote1 on 9080", s)
		}
	})

	t.Run("gce-0.2", func(t *testing.T) {
		cfg := load("gce-0.2")
		if cfg.Meshx.Istio.Profile != "0.2" || cfg.Meshx.Istio.ControlPlaneAuth != "NONE" {
			t.Errorf("istio = %+v, want profile 0.2 without control-plane auth", cfg.Meshx.Istio)
		}
		vm := cfg.VM("istio-vm")
		if vm.Namespace != "vm" || vm.CertsMode != CertsRootOnly || vm.Address != "10.251.0.10" {
			t.Errorf("vm = %+v", vm)
		}
		var got []string
		for _, p := range vm.SidecarPackages {
			got = append(got, p.Name+" "+p.Source+" "+p.SHA256[:4])
		}
		want := []string{
			"istio-agent http://127.0.0.1:8080/istio-agent_0.2.12-lab1_all.deb 1111",
			"istio-auth-node-agent http://127.0.0.1:8080/istio-auth-node-agent_0.2.12-lab1_all.deb 2222",
			"istio-proxy http://127.0.0.1:8080/istio-proxy_0.2.12-lab1_all.deb 3333",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sidecar packages (-want +got):\n%s", diff)
		}
		if _, set := vm.SidecarEnv.Values["ISTIO_PILOT_PORT"]; set {
			t.Errorf("sidecar_env sets ISTIO_PILOT_PORT without control-plane auth: %v", vm.SidecarEnv.Values)
		}
		if s := cfg.Service("mysqldb"); s.Namespace != "vm" || s.Ports[0] != (Port{Name: "mysql", Port: 3306, Range: s.Ports[0].Range}) {
			t.Errorf("mysqldb = %+v", s)
		}
	})
}

func BenchmarkLoadExample(b *testing.B) {
	vars, err := filepath.Abs("testdata/examples.vars")
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join("..", "examples", "multicluster")
	for b.Loop() {
		if _, diags := Load(dir, LoadOptions{Vars: []VarArg{{File: vars}}}); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

func TestTypedFleet(t *testing.T) {
	cfg := loadValid(t, "fleet")
	var vms []string
	for _, v := range cfg.VMs {
		vms = append(vms, v.Name+"="+v.MeshIP)
	}
	wantVMs := []string{`cache["c1"]=192.168.30.1`, `cache["c2"]=192.168.30.2`,
		`web["a"]=192.168.10.1`, `web["b"]=192.168.10.2`, `web["c"]=192.168.10.3`,
		"worker[0]=192.168.20.10", "worker[1]=192.168.20.11"}
	if diff := cmp.Diff(wantVMs, vms); diff != "" {
		t.Errorf("vm instances (-want +got):\n%s", diff)
	}
	if v := cfg.VM(`web["b"]`); v.Key != plans.StringKey("b") || v.SidecarEnv.Values["ZONE"] != "z2" || v.Namespace != "shop" {
		t.Errorf(`vm.web["b"] = %+v`, v)
	}
	if v := cfg.VM("worker[1]"); v.Key != plans.IntKey(1) {
		t.Errorf("vm.worker[1] key = %v", v.Key)
	}
	svcs := map[string]string{}
	for _, s := range cfg.Services {
		svcs[s.Name] = s.ServiceName + " " + s.Namespace + " " + strings.Join(s.VMs, ",")
	}
	wantSvcs := map[string]string{
		"frontend":   `frontend shop web["a"],web["b"],web["c"]`,
		"batch":      `batch shop worker[1],cache["c2"],worker[0]`,
		`admin["a"]`: `admin-a shop web["a"]`,
		`admin["b"]`: `admin-b shop web["b"]`,
		`admin["c"]`: `admin-c shop web["c"]`,
	}
	if diff := cmp.Diff(wantSvcs, svcs); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if got := cfg.ServicesOn(`web["a"]`); len(got) != 2 || got[0].Name != `admin["a"]` || got[1].Name != "frontend" {
		t.Errorf(`services on vm.web["a"] = %v`, got)
	}
	var clusters []string
	for _, c := range cfg.Clusters {
		clusters = append(clusters, c.Name+"="+c.ClusterID+"/"+c.PodCIDR)
	}
	wantClusters := []string{"control=control/10.244.0.0/16", `remote["eu"]=remote-eu/172.20.0.0/16`, `remote["us"]=remote-us/172.22.0.0/16`}
	if diff := cmp.Diff(wantClusters, clusters); diff != "" {
		t.Errorf("cluster instances (-want +got):\n%s", diff)
	}
	outs := map[string]cty.Value{}
	for _, o := range cfg.Outputs {
		outs[o.Name] = o.Value
	}
	for name, want := range map[string]cty.Value{
		"web_ips":    cty.TupleVal([]cty.Value{cty.StringVal("192.168.10.1"), cty.StringVal("192.168.10.2"), cty.StringVal("192.168.10.3")}),
		"worker_ips": cty.TupleVal([]cty.Value{cty.StringVal("192.168.20.10"), cty.StringVal("192.168.20.11")}),
		"remote_ids": cty.ObjectVal(map[string]cty.Value{"eu": cty.StringVal("remote-eu"), "us": cty.StringVal("remote-us")}),
	} {
		if got := outs[name]; !got.RawEquals(want) {
			t.Errorf("output %s = %#v, want %#v", name, got, want)
		}
	}
	// Cluster instances evaluate again with apply-time values.
	ctx, diags := cfg.EvalContext(Known{ServiceCIDR: map[string]string{`remote["eu"]`: "172.21.0.0/20"}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := ctx.Variables["cluster"].GetAttr("remote").GetAttr("eu").GetAttr("service_cidr"); !got.RawEquals(cty.StringVal("172.21.0.0/20")) {
		t.Errorf(`cluster.remote["eu"].service_cidr with a known CIDR = %#v`, got)
	}
}

// TestFleetWithoutValues validates the fleet as meshx validate does, with
// no value for the map its VMs come from: the instances are unknown, and
// nothing that refers to them is reported.
func TestFleetWithoutValues(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/fleet/fleet.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, dir, "fleet.hcl", string(src))
	cfg, diags := Load(dir, LoadOptions{HomeDir: "/home/test", UnsetUnknown: true})
	if diags.HasErrors() {
		t.Fatalf("validate without values: %s", diags.Error())
	}
	for _, v := range cfg.VMs {
		if strings.HasPrefix(v.Name, "web") {
			t.Errorf("vm instance %s from a map without a value", v.Name)
		}
	}
	// Without UnsetUnknown, the value is required.
	if _, diags := Load(dir, LoadOptions{HomeDir: "/home/test"}); !diags.HasErrors() || diags[0].Summary != "No value for required variable" {
		t.Errorf("plan without values: %v, want No value for required variable", diags)
	}
}
