package views

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/plans"
)

func savedPlan(t testing.TB) *planfile.File {
	f := planfile.FromPlan(fullPlan(t))
	f.MeshxVersion = "0.3.0"
	f.CreatedAt = time.Date(2026, 8, 22, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	f.ConfigDigest = "sha256:5e0c"
	f.Variables = []planfile.Variable{
		{Name: "vm_ip", Value: "10.0.0.5"},
		{Name: "ssh_key", Sensitive: true},
	}
	return f
}

func TestShowJSONGolden(t *testing.T) {
	var b strings.Builder
	if err := ShowJSON(&b, savedPlan(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "show.json", b.String())
}

// TestShowJSONShapes checks the parts of the document consumers compute
// with: actions, after_unknown and the *_sensitive shapes.
func TestShowJSONShapes(t *testing.T) {
	var b strings.Builder
	if err := ShowJSON(&b, savedPlan(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Applyable       bool `json:"applyable"`
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions         []string `json:"actions"`
				After           any      `json:"after"`
				AfterUnknown    any      `json:"after_unknown"`
				BeforeSensitive any      `json:"before_sensitive"`
				AfterSensitive  any      `json:"after_sensitive"`
			} `json:"change"`
		} `json:"resource_changes"`
		ResourceDrift []struct {
			Address string `json:"address"`
		} `json:"resource_drift"`
		Variables map[string]map[string]any `json:"variables"`
	}
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	byAddr := map[string]int{}
	for i, rc := range doc.ResourceChanges {
		byAddr[rc.Address] = i
	}
	get := func(a string) int {
		i, ok := byAddr[a]
		if !ok {
			t.Fatalf("%s missing from resource_changes", a)
		}
		return i
	}
	pilot := doc.ResourceChanges[get(`cluster.control.ilb["istio-pilot-ilb"]`)].Change
	// As in Terraform, containers stay (empty when nothing in them is
	// unknown); known scalars are left out.
	wantUnknown := map[string]any{"address": true, "annotations": map[string]any{}, "ports": []any{map[string]any{}, map[string]any{}}}
	if diff := cmp.Diff(wantUnknown, pilot.AfterUnknown); diff != "" {
		t.Errorf("after_unknown (-want +got):\n%s", diff)
	}
	if pilot.After.(map[string]any)["address"] != nil {
		t.Error("an unknown value must be null in after")
	}
	if diff := cmp.Diff(false, pilot.BeforeSensitive); diff != "" {
		t.Errorf("before_sensitive of a create (-want +got):\n%s", diff)
	}
	secret := doc.ResourceChanges[get("cluster.remote1.secret")].Change
	if diff := cmp.Diff(map[string]any{"kubeconfig": true}, secret.AfterSensitive); diff != "" {
		t.Errorf("after_sensitive (-want +got):\n%s", diff)
	}
	for addr, want := range map[string][]string{
		`vm.ecs1.package["istio-sidecar"]`:       {"delete", "create"},
		`vm.old.file["/etc/old.conf"]`:           {"delete"},
		`cluster.control.namespace["bookinfo"]`:  {"no-op"},
		`vm.ecs1.file["/etc/dnsmasq.d/kubedns"]`: {"update"},
		`vm.ecs1.file["/etc/certs/key.pem"]`:     {"create"},
	} {
		if diff := cmp.Diff(want, doc.ResourceChanges[get(addr)].Change.Actions); diff != "" {
			t.Errorf("%s actions (-want +got):\n%s", addr, diff)
		}
	}
	if len(doc.ResourceDrift) != 2 || !doc.Applyable {
		t.Errorf("drift = %v, applyable = %v", doc.ResourceDrift, doc.Applyable)
	}
	if _, ok := doc.Variables["ssh_key"]["value"]; ok {
		t.Error("a sensitive variable's value must not be shown")
	}
	if doc.Variables["vm_ip"]["value"] != "10.0.0.5" {
		t.Errorf("vm_ip = %v", doc.Variables["vm_ip"])
	}
}

func TestUnknownShape(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want any
	}{
		{nil, false},
		{"x", false},
		{plans.Unknown, true},
		{map[string]any{"a": "x", "b": plans.Unknown}, map[string]any{"b": true}},
		{[]any{"x", plans.Unknown, map[string]any{"c": plans.Unknown}}, []any{false, true, map[string]any{"c": true}}},
		{map[string]any{"n": map[string]any{"k": "v"}}, map[string]any{"n": map[string]any{}}},
	} {
		if diff := cmp.Diff(tc.want, unknownShape(tc.in)); diff != "" {
			t.Errorf("unknownShape(%v) (-want +got):\n%s", tc.in, diff)
		}
	}
}
