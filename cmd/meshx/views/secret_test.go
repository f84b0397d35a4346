package views

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/executor"
	"github.com/meshx-dev/meshx/planfile"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// TestSecretsNeverRendered builds a plan the way the planner does, with
// real secrets in memory (a rendered key file and a kubeconfig, Sensitive
// in the Resource's Render result and in the Observed object), and checks
// that no output format nor the plan file carries the secret bytes in any
// common encoding.
func TestSecretsNeverRendered(t *testing.T) {
	keyPEM := []byte("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Vsecret\n-----END PRIVATE KEY-----\n")
	token := []byte("eyJhbGciOiJSUzI1NiIsImtpZCI6InRva2VuLXNlY3JldCJ9.c2VjcmV0LXRva2Vu")
	oldToken := []byte("eyJhbGciOiJSUzI1NiJ9.b2xkLXNlY3JldC10b2tlbg")
	secrets := [][]byte{keyPEM, token, oldToken}

	keyAddr := addr(t, `vm.ecs1.file["/etc/certs/key.pem"]`)
	secAddr := addr(t, "cluster.remote1.secret")
	keyRes := &providers.Resource{Addr: keyAddr, Kind: "vm_file", Target: "vm.ecs1",
		Render: func(providers.Outputs) (plans.Object, error) {
			return plans.Object{"content": plans.NewSensitive(keyPEM), "mode": "0600"}, nil
		}}
	secRes := &providers.Resource{Addr: secAddr, Kind: "kube_remote_secret", Target: "cluster.control",
		Render: func(providers.Outputs) (plans.Object, error) {
			return plans.Object{"name": "remote1", "data": map[string]any{"token": plans.NewSensitive(token)}}, nil
		}}
	observed := providers.Observed{Addr: secAddr, Target: "cluster.control", Kind: "kube_remote_secret", Exists: true, Owned: true,
		Object: plans.Object{"name": "remote1", "data": map[string]any{"token": plans.NewSensitive(oldToken)}}}

	// Redact as the planner does.
	keyAfter, keySens := plans.Redact(mustRender(t, keyRes))
	secAfter, secSensA := plans.Redact(mustRender(t, secRes))
	secBefore, secSensB := plans.Redact(observed.Object)
	p := &plans.Plan{
		Environment: "bookinfo",
		Changes: []plans.Change{
			{Addr: secAddr, Action: plans.Update, Before: secBefore, After: secAfter, Sensitive: union(secSensA, secSensB), Drift: true,
				Precondition: plans.Precondition{Exists: true, Digest: plans.Digest(observed.Object)}},
			{Addr: keyAddr, Action: plans.Create, After: keyAfter, Sensitive: keySens},
		},
		Outputs: []plans.OutputValue{{Name: "reader_token", Value: plans.Fingerprint(token), Sensitive: true}},
	}

	outputs := map[string]string{}
	var b strings.Builder
	if err := PlanText(&b, p, PlanOptions{Order: true}); err != nil {
		t.Fatal(err)
	}
	outputs["plan text"] = b.String()
	outputs["markdown"] = strings.Join(Markdown(p, MarkdownOptions{Order: true}), "\n")

	b.Reset()
	jv := NewJSON(&b, JSONOptions{Version: "0.3.0", Now: fixedClock()})
	jv.Plan(p)
	jv.Event(executor.Event{Type: executor.Started, Addr: keyAddr, Action: plans.Create})
	jv.Event(executor.Event{Type: executor.Completed, Addr: keyAddr, Action: plans.Create, Changed: true, Elapsed: time.Second})
	jv.Result(executor.Result{Added: 1}, false)
	jv.Outputs(p.Outputs)
	outputs["json events"] = b.String()

	b.Reset()
	av := NewApplyText(&b, ApplyOptions{})
	av.Event(executor.Event{Type: executor.Errored, Addr: secAddr, Action: plans.Update, Err: errors.New("cluster.remote1.secret: apply: conflict")})
	av.Result(executor.Result{Failed: []plans.Address{secAddr}, Err: errors.New("x")}, false)
	av.Outputs(p.Outputs)
	outputs["apply text"] = b.String()

	f := planfile.FromPlan(p)
	f.MeshxVersion, f.CreatedAt = "0.3.0", time.Unix(0, 0)
	f.Variables = []planfile.Variable{{Name: "reader_token", Sensitive: true, Value: string(token)}}
	var pf bytes.Buffer
	if err := planfile.Write(&pf, f); err != nil {
		t.Fatal(err)
	}
	outputs["plan file"] = pf.String()
	read, err := planfile.Read(&pf)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := ShowJSON(&b, read); err != nil {
		t.Fatal(err)
	}
	outputs["show -json"] = b.String()

	// A Sensitive that escaped redaction upstream (a planner bug) is still
	// shown only as its fingerprint by every view, and refused by Write.
	leaky := *p
	leaky.Changes = append([]plans.Change(nil), p.Changes...)
	leaky.Changes[1].After = plans.Object{"content": plans.NewSensitive(keyPEM), "mode": "0600"}
	leaky.Changes[1].Sensitive = nil
	b.Reset()
	if err := PlanText(&b, &leaky, PlanOptions{}); err != nil {
		t.Fatal(err)
	}
	outputs["plan text, unredacted change"] = b.String()
	outputs["markdown, unredacted change"] = strings.Join(Markdown(&leaky, MarkdownOptions{}), "\n")
	lf := planfile.FromPlan(&leaky)
	b.Reset()
	if err := ShowJSON(&b, lf); err != nil {
		t.Fatal(err)
	}
	outputs["show -json, unredacted change"] = b.String()
	var lb bytes.Buffer
	err = planfile.Write(&lb, lf)
	if err == nil {
		t.Error("planfile.Write accepted a plan holding a plans.Sensitive")
	} else {
		outputs["plan file error"] = err.Error()
	}
	outputs["plan file, refused"] = lb.String()

	for name, out := range outputs {
		for _, s := range secrets {
			for _, enc := range []string{string(s), base64.StdEncoding.EncodeToString(s), hex.EncodeToString(s), strings.TrimSpace(string(s[len(s)/2:]))} {
				if strings.Contains(out, enc) {
					t.Errorf("%s leaks a secret (%.12q…)", name, enc)
				}
			}
		}
	}
	if !strings.Contains(outputs["plan text"], plans.Fingerprint(keyPEM)) {
		t.Error("the plan text should show the key's fingerprint so a reviewer sees it")
	}
	if !strings.Contains(outputs["plan text, unredacted change"], plans.Fingerprint(keyPEM)) {
		t.Error("an unredacted Sensitive should render as its fingerprint")
	}
}

func mustRender(t *testing.T, r *providers.Resource) plans.Object {
	o, err := r.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
