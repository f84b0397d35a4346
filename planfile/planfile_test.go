package planfile

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/plans"
)

func mustAddr(t testing.TB, s string) plans.Address {
	t.Helper()
	a, err := plans.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sample is a saved plan with every kind of value the format must keep.
func sample(t testing.TB) *File {
	lb := mustAddr(t, `cluster.control.ilb["istio-pilot-ilb"]`)
	file := mustAddr(t, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`)
	unit := mustAddr(t, `vm.ecs1.unit["istio"]`)
	return &File{
		FormatVersion: 1, // no instance keys
		MeshxVersion:  "0.3.0",
		CreatedAt:     time.Date(2026, 8, 22, 10, 0, 0, 123456789, time.UTC),
		Environment:   "bookinfo",
		ConfigDigest:  "sha256:5e0c77",
		Targets:       []string{"vm.ecs1"},
		Variables: []Variable{
			{Name: "vm_ip", Value: "10.0.0.5"},
			{Name: "ports", Value: []any{int64(9080), int64(9443)}},
			{Name: "ssh_key", Sensitive: true},
		},
		Changes: []plans.Change{
			{
				Addr: lb, Action: plans.Update, Kind: "kube_service", Target: "cluster.control",
				Before: plans.Object{"address": "10.0.0.20", "ports": []any{map[string]any{"port": int64(15011)}}, "weight": 2.0, "ratio": 0.25},
				After:  plans.Object{"address": plans.Unknown, "ports": []any{map[string]any{"port": int64(15012)}}, "weight": 3.0, "ratio": 1e-7, "nothing": nil},
				Reason: "", Drift: true, Adopt: true,
				Precondition: plans.Precondition{Exists: true, Digest: "abc", Details: map[string]string{"resourceVersion": "812"}},
			},
			{
				Addr: file, Action: plans.Create, Kind: "vm_file", Target: "vm.ecs1",
				After: plans.Object{
					"content":   "server=/svc.cluster.local/" + "10.0.0.10\n",
					"key":       plans.Fingerprint([]byte("k")),
					"tricky":    map[string]any{"__meshx_unknown": true, "plain": "v"},
					"lookalike": map[string]any{"__meshx_map": map[string]any{"a": "b"}},
					"empty":     map[string]any{},
					"list":      []any{},
				},
				Sensitive: []string{"key"},
				DependsOn: []plans.Address{lb},
			},
			{
				Addr: unit, Action: plans.Delete, Kind: "vm_unit", Target: "vm.ecs1", Reason: "not in configuration",
				Before: plans.Object{"active": true}, DependsOn: []plans.Address{file, lb},
				Precondition: plans.Precondition{Exists: true, Digest: "def"},
			},
		},
		Outputs: []plans.OutputValue{
			{Name: "pilot", Value: plans.Unknown},
			{Name: "token", Value: plans.Fingerprint([]byte("t")), Sensitive: true},
			{Name: "n", Value: int64(3)},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		want := sample(t)
		// A deferred read (sorted between the ILB and the VM file).
		read := plans.Change{
			Addr: mustAddr(t, `cluster.control.istio_secret["bookinfo/default"]`), Action: plans.Read, Kind: "kube_istio_secret",
			Target: "cluster.control", After: plans.Object{"namespace": "bookinfo", "name": "istio.default"},
		}
		want.Changes = append(want.Changes[:1], append([]plans.Change{read}, want.Changes[1:]...)...)
		var buf bytes.Buffer
		if err := Write(&buf, want); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if compress {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		got, err := Read(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		// cmp compares times with Equal and Unknown (an empty struct) by type.
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("gzip=%v: round trip (-want +got):\n%s", compress, diff)
		}
		if !plans.IsUnknown(got.Changes[0].After["address"]) {
			t.Errorf("Unknown did not round-trip: %#v", got.Changes[0].After["address"])
		}
		if _, ok := got.Changes[0].Before["weight"].(float64); !ok {
			t.Errorf("2.0 read back as %T, want float64", got.Changes[0].Before["weight"])
		}
	}
}

func TestWriteDropsSensitiveVariableValues(t *testing.T) {
	f := sample(t)
	f.Variables = append(f.Variables, Variable{Name: "password", Sensitive: true, Value: "hunter2-password"})
	f.Outputs = append(f.Outputs, plans.OutputValue{Name: "raw", Value: "raw-output-secret", Sensitive: true})
	var buf bytes.Buffer
	if err := Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hunter2-password", "raw-output-secret"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("plan file contains %q", s)
		}
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Outputs[len(got.Outputs)-1].Value; v != plans.Fingerprint([]byte("raw-output-secret")) {
		t.Errorf("sensitive output stored as %v, want its fingerprint", v)
	}
}

// TestWriteRefusesSecrets places a real secret, wrapped in
// plans.Sensitive, in every place a value can hide and checks that
// Write fails, writes nothing, and does not quote the secret in its error.
func TestWriteRefusesSecrets(t *testing.T) {
	secret := []byte("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretsecret\n-----END RSA PRIVATE KEY-----\n")
	s := plans.NewSensitive(secret)
	for _, tc := range []struct {
		name string
		mod  func(f *File)
		want string
	}{
		{"top-level after", func(f *File) { f.Changes[1].After["content"] = s }, `vm.ecs1.file["/etc/dnsmasq.d/kubedns"]: after.content holds a secret`},
		{"nested before", func(f *File) { f.Changes[0].Before["ports"] = []any{map[string]any{"tls": s}} }, `before.ports[0].tls holds a secret`},
		{"in an Object value", func(f *File) { f.Changes[2].Before["o"] = plans.Object{"k": s} }, `before.o.k holds a secret`},
		{"output", func(f *File) { f.Outputs[2].Value = map[string]any{"x": s} }, `output.n.x holds a secret`},
		{"variable", func(f *File) { f.Variables[0].Value = s }, `var.vm_ip holds a secret`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sample(t)
			tc.mod(f)
			var buf bytes.Buffer
			err := Write(&buf, f)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing", buf.Len())
			}
			if strings.Contains(err.Error(), "MIIE") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

// gzipped compresses data.
func gzipped(data []byte) []byte {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return z.Bytes()
}

// bomb is a gzip stream of about 250 KB holding a plan whose
// meshx_version is 250 MiB long.
func bomb() []byte {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write([]byte(`{"format_version": 1, "meshx_version": "`))
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for range 250 {
		zw.Write(chunk)
	}
	zw.Write([]byte(`"}`))
	zw.Close()
	return z.Bytes()
}

func TestReadRejects(t *testing.T) {
	plan := func(rest string) string { return `{"format_version": 1, "meshx_version": "0.3.0"` + rest + "}" }
	for _, tc := range []struct {
		name, data, want string
	}{
		{"future major version", `{"format_version": 3, "meshx_version": "1.4.0", "changes": "a shape v2 cannot read"}`,
			"format version 3 (written by meshx 1.4.0) is not supported: this meshx reads versions 1 to 2"},
		{"no version 0", `{"format_version": 0, "meshx_version": "0.0.1"}`, "format version 0 (written by meshx 0.0.1) is not supported"},
		{"not a plan", `{"hello": "world"}`, "not a meshx plan file: it has no format_version"},
		{"not JSON", "PK\x03\x04 zip", "not a meshx plan file: invalid character"},
		{"empty", "", "not a meshx plan file: the file is empty"},
		{"trailing data", plan("") + "{}", "not a meshx plan file: invalid character '{' after top-level value"},
		{"bad address", plan(`, "changes": [{"address": "nope", "action": "create"}]`), `change 1: address "nope"`},
		{"bad action", plan(`, "changes": [{"address": "vm.a.file[\"/x\"]", "action": "explode"}]`), `unknown action "explode"`},
		{"duplicate", plan(`, "changes": [{"address": "vm.a.unit[\"u\"]", "action": "create"}, {"address": "vm.a.unit[\"u\"]", "action": "delete"}]`), "planned twice"},
		{"stray marker", plan(`, "changes": [{"address": "vm.a.unit[\"u\"]", "action": "create", "after": {"x": {"__meshx_unknown": true, "y": 1}}}]`), "unexpected marker key"},
		{"wrong type", plan(`, "changes": {"a": 1}`), "cannot unmarshal object into Go struct field"},
		{"deep nesting", plan(`, "outputs": [{"name": "n", "value": ` + strings.Repeat("[", 100000) + `}]`), "exceeded max depth"},
		{"truncated gzip", string(gzipped([]byte(plan("")))[:20]), "not a meshx plan file: unexpected EOF"},
		{"bad gzip header", "\x1f\x8b\x00 not gzip", "not a meshx plan file: gzip: invalid header"},
		{"gzip bomb", string(bomb()), "not a meshx plan file: it decompresses to more than 32 MiB"},
		{"too many values", string(gzipped([]byte(plan(`, "outputs": [{"name": "n", "value": [` + strings.Repeat("0,", MaxSize/2-100) + `0]}]`)))),
			"not a meshx plan file: it holds more than 1048576 JSON values"},
		{"too large", plan(`, "environment": "` + strings.Repeat("A", MaxSize) + `"`), "not a meshx plan file: it is larger than 32 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Read(strings.NewReader(tc.data))
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read error = %v, want it to contain %q", err, tc.want)
			}
			// Reading stops at MaxSize; decoding what was read may take
			// a few times more.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*MaxSize {
				t.Errorf("Read allocated %d MiB", alloc>>20)
			}
		})
	}
}

func TestCountValues(t *testing.T) {
	for data, want := range map[string]int{
		`{}`:                          1,
		`{"a": [1, 2, {"b": 3}]}`:     5,
		`{"a": "[1, {\"2\\\\\", 3]"}`: 1,
	} {
		if got := countValues([]byte(data)); got != want {
			t.Errorf("countValues(%s) = %d, want %d", data, got, want)
		}
	}
}

func TestFromPlanKeepsKindAndTarget(t *testing.T) {
	a := mustAddr(t, `vm.ecs1.unit["istio"]`)
	o := mustAddr(t, `vm.old.file["/x"]`)
	p := &plans.Plan{
		Environment: "e",
		Changes: []plans.Change{{Addr: a, Action: plans.Create, Kind: "vm_unit", Target: "vm.ecs1"},
			{Addr: o, Action: plans.Delete, Kind: "vm_file", Target: "vm.old"}},
	}
	f := FromPlan(p)
	got := [][2]string{{f.Changes[0].Kind, f.Changes[0].Target}, {f.Changes[1].Kind, f.Changes[1].Target}}
	if diff := cmp.Diff([][2]string{{"vm_unit", "vm.ecs1"}, {"vm_file", "vm.old"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	f.Changes[0].Kind = "changed"
	if p.Changes[0].Kind != "vm_unit" {
		t.Error("FromPlan must copy the changes, not share them with the plan")
	}
}

// TestTargetsKept: a targeted plan's targets go into the file and come
// back in the plan it renders, so show says the plan is partial.
func TestTargetsKept(t *testing.T) {
	f := FromPlan(&plans.Plan{Environment: "e", Targets: []string{"vm.ecs1"}})
	if diff := cmp.Diff([]string{"vm.ecs1"}, f.Plan().Targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

// TestInstanceAddressesVersion: a plan naming instances of a block with
// for_each or count is written as version 2 and reads back the same; a
// plan without them stays version 1, which older meshx reads.
func TestInstanceAddressesVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		addr    string
		dep     string
		targets []string
		want    int
	}{
		{"no instance keys", `vm.ecs1.unit["istio"]`, `cluster.control.namespace["shop"]`, nil, 1},
		{"for_each instance", `vm.web["a"].unit["istio"]`, `cluster.control.namespace["shop"]`, nil, 2},
		{"count instance dependency", `service.front.endpoints`, `service.front[3].service`, nil, 2},
		{"target of an instance", `vm.ecs1.unit["istio"]`, `cluster.control.namespace["shop"]`, []string{`vm.web["a"]`}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &File{MeshxVersion: "0.4.0", Environment: "fleet", Targets: tc.targets, Changes: []plans.Change{{
				Addr: mustAddr(t, tc.addr), Action: plans.Create, After: plans.Object{"active": true},
				DependsOn: []plans.Address{mustAddr(t, tc.dep)},
			}}}
			var buf bytes.Buffer
			if err := Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), fmt.Sprintf(`"format_version": %d`, tc.want)) {
				t.Errorf("written as\n%s\nwant format_version %d", buf.String(), tc.want)
			}
			got, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if got.FormatVersion != tc.want || got.Changes[0].Addr != f.Changes[0].Addr || got.Changes[0].DependsOn[0] != f.Changes[0].DependsOn[0] {
				t.Errorf("read back version %d, %v depending on %v", got.FormatVersion, got.Changes[0].Addr, got.Changes[0].DependsOn)
			}
		})
	}
}
