package vm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// jwt returns an unsigned JWT with the given claims: the VM provider reads
// claims only, istiod checks signatures.
func jwt(t *testing.T, aud any, iat, exp time.Time) []byte {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return []byte(enc(map[string]string{"alg": "RS256"}) + "." +
		enc(map[string]any{"aud": aud, "iat": iat.Unix(), "exp": exp.Unix(), "sub": "system:serviceaccount:bookinfo:vm"}) + ".c2ln")
}

func TestTokenClaimsAndRenewal(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		iat, exp time.Time
		want     string
	}{
		{"fresh", now.Add(-time.Hour), now.Add(23 * time.Hour), ""},
		{"two thirds passed", now.Add(-50 * time.Minute), now.Add(10 * time.Minute), "expires in 10m; re-minted"},
		{"seconds left", now.Add(-time.Hour), now.Add(30 * time.Second), "expires in 30s; re-minted"},
		{"expired", now.Add(-2 * time.Hour), now.Add(-14 * time.Minute), "expired 14m ago; re-minted"},
		{"a day's token, hours left", now.Add(-20 * time.Hour), now.Add(4*time.Hour + 5*time.Minute), "expires in 4h5m; re-minted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseTokenClaims(jwt(t, []string{"istio-ca"}, tt.iat, tt.exp))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.renewal(now); got != tt.want {
				t.Errorf("renewal = %q, want %q", got, tt.want)
			}
		})
	}
	c, err := parseTokenClaims(jwt(t, "istio-ca", now, now.Add(time.Hour)))
	if err != nil || !cmp.Equal(c.Audience, []string{"istio-ca"}) {
		t.Errorf("a single audience string: %v %v", c.Audience, err)
	}
	for _, bad := range []string{"", "not-a-token", "a.b.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"x"}`)) + ".c"} {
		if _, err := parseTokenClaims([]byte(bad)); err == nil {
			t.Errorf("parseTokenClaims(%q) accepted it", bad)
		}
	}
}

// TestTokenFileRenewedInLastThird: a token file is created by its minter,
// kept while fresh, re-minted once two thirds of its life have passed or
// when its lifetime changes, and its bytes never appear in an Object.
func TestTokenFileRenewedInLastThird(t *testing.T) {
	s := startSSHD(t)
	p := s.provider(t, s.host("ecs1"))
	ctx := testContext(t)
	const env = "bookinfo"
	path := filepath.Join(t.TempDir(), "tokens", "istio-token")
	minted := 0
	mint := func(_ context.Context, life time.Duration) ([]byte, error) {
		minted++
		iat := time.Now()
		return jwt(t, []string{"istio-ca"}, iat, iat.Add(life)), nil
	}
	res := func(life time.Duration) []providers.Resource {
		return []providers.Resource{Token("ecs1", TokenOptions{
			Path:     path,
			Mint:     mint,
			Audience: "istio-ca",
			Lifetime: life,
			Mode:     0o600,
			Owner:    "root",
			Group:    "root",
		})}
	}
	a := addr("ecs1", TypeFile, path)

	if got := converge(t, ctx, p, env, res(time.Hour))[a]; got != plans.Create || minted != 1 {
		t.Fatalf("first apply: %s, %d minted; want create, 1", got, minted)
	}
	first, _ := os.ReadFile(path)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi.Mode(), err)
	}
	resp := p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: res(time.Hour)})
	o := resp.Objects[a]
	want := plans.Object{"audience": "istio-ca", "lifetime": "1h0m0s", "mode": "0600", "owner": "root", "group": "root"}
	if diff := cmp.Diff(want, o.Object); diff != "" || o.Renew != "" || o.Drift {
		t.Fatalf("fresh token (-want +got):\n%s\nrenew %q drift %v", diff, o.Renew, o.Drift)
	}
	if strings.Contains(fmt.Sprint(o.Object, o.Outputs), string(first)) {
		t.Fatal("the observation holds the token")
	}
	if got := converge(t, ctx, p, env, res(time.Hour))[a]; got != plans.NoOp || minted != 1 {
		t.Fatalf("fresh token: %s, %d minted; want no-op, 1", got, minted)
	}

	// A token 45 minutes into its hour is re-minted.
	minted = 0
	aged := jwt(t, []string{"istio-ca"}, time.Now().Add(-45*time.Minute), time.Now().Add(15*time.Minute))
	if err := os.WriteFile(path, aged, 0o600); err != nil {
		t.Fatal(err)
	}
	resp = p.Observe(ctx, providers.ObserveRequest{Environment: env, Resources: res(time.Hour)})
	if r := resp.Objects[a].Renew; r != "expires in 15m; re-minted" {
		t.Fatalf("aged token: renew %q", r)
	}
	if got := converge(t, ctx, p, env, res(time.Hour))[a]; got != plans.Update || minted != 1 {
		t.Fatalf("aged token: %s, %d minted; want update, 1", got, minted)
	}
	// A new lifetime is a new token.
	if got := converge(t, ctx, p, env, res(2*time.Hour))[a]; got != plans.Update || minted != 2 {
		t.Fatalf("new lifetime: %s, %d minted; want update, 2", got, minted)
	}
	destroy(t, ctx, p, env, res(2*time.Hour))
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("destroy left the token: %v", err)
	}
}
