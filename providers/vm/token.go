package vm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// Minter mints a new token of the given lifetime (a Kubernetes TokenRequest,
// say). The VM provider calls it only while applying, never to plan.
type Minter func(ctx context.Context, lifetime time.Duration) ([]byte, error)

// tokenSpec is what makes a vm_file a token file.
type tokenSpec struct {
	mint     Minter
	audience string
	lifetime time.Duration
}

// TokenOptions describe the token file Token manages.
type TokenOptions struct {
	// Path is the file's absolute path.
	Path string
	// Mint mints a new token of Lifetime; Audience is the audience the
	// token must have.
	Mint     Minter
	Audience string
	Lifetime time.Duration
	// Mode holds the permission bits (0o600); Owner and Group are names or
	// numeric ids.
	Mode         uint32
	Owner, Group string
	// DependsOn are the instances Mint needs.
	DependsOn []plans.Address
}

// Token manages a bearer token in a file, minted by o.Mint and renewed
// before it expires: vm.<vm>.file["<path>"], kind vm_file, sensitive.
//
// Its Object is not the token but what the token says of itself: audience
// and lifetime (exp − iat of its JWT claims, a Go duration), plus mode,
// owner and group. The token's bytes never enter a plan. Observe reads the
// claims of the live token and sets Observed.Renew once two thirds of its
// lifetime have passed ("expires in 14m; re-minted"), so the plan renews
// it although nothing else differs; a file that is not a JWT has no
// audience or lifetime and is replaced. Apply mints a new token and writes
// it atomically. Outputs: sha256 (a fingerprint) and expires (RFC 3339).
func Token(vm string, o TokenOptions) providers.Resource {
	r := File(vm, FileOptions{Path: o.Path, Mode: o.Mode, Owner: o.Owner, Group: o.Group, Sensitive: true, DependsOn: o.DependsOn})
	s := r.Private.(*fileSpec)
	s.token = &tokenSpec{mint: o.Mint, audience: o.Audience, lifetime: o.Lifetime}
	if o.Mint == nil || o.Lifetime <= 0 {
		s.err = firstErr(s.err, errors.New("a token needs a minter and a positive lifetime"))
	}
	r.Render = func(providers.Outputs) (plans.Object, error) {
		if s.err != nil {
			return nil, fmt.Errorf("%s: %w", r.Addr, s.err)
		}
		return plans.Object{"audience": o.Audience, "lifetime": o.Lifetime.String(),
			"mode": modeString(o.Mode), "owner": o.Owner, "group": o.Group}, nil
	}
	return r
}

// tokenClaims are the JWT claims a token file is judged by.
type tokenClaims struct {
	Audience []string
	Issued   time.Time
	Expires  time.Time
}

// parseTokenClaims reads the claims of a JWT without checking its
// signature: meshx only decides when to renew it; istiod checks it.
func parseTokenClaims(b []byte) (tokenClaims, error) {
	parts := strings.Split(strings.TrimSpace(string(b)), ".")
	if len(parts) != 3 {
		return tokenClaims{}, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return tokenClaims{}, errors.New("not a JWT")
	}
	var raw struct {
		Aud json.RawMessage `json:"aud"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil || raw.Exp == 0 || raw.Iat == 0 {
		return tokenClaims{}, errors.New("no iat and exp claims")
	}
	c := tokenClaims{Issued: time.Unix(raw.Iat, 0).UTC(), Expires: time.Unix(raw.Exp, 0).UTC()}
	var one string
	if json.Unmarshal(raw.Aud, &c.Audience) != nil && json.Unmarshal(raw.Aud, &one) == nil {
		c.Audience = []string{one}
	}
	return c, nil
}

// renewal says why a token must be re-minted at now, or "" while less than
// two thirds of its lifetime have passed.
func (c tokenClaims) renewal(now time.Time) string {
	life := c.Expires.Sub(c.Issued)
	left := c.Expires.Sub(now)
	switch {
	case left <= 0:
		return fmt.Sprintf("expired %s ago; re-minted", roundAge(-left))
	case left <= life/3:
		return fmt.Sprintf("expires in %s; re-minted", roundAge(left))
	}
	return ""
}

// roundAge shows a duration for a plan: seconds under a minute, else whole
// minutes ("14m", "2h5m", "3h").
func roundAge(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// observeToken replaces a token file's observed content by what its
// claims say.
func observeToken(o *providers.Observed, f *fileStat, s *fileSpec, now time.Time) {
	if !o.Exists || f.state != "f" {
		return
	}
	o.Object["audience"], o.Object["lifetime"] = "", ""
	delete(o.Object, "content")
	c, err := parseTokenClaims(f.content)
	if err != nil || !f.contentKnown {
		return
	}
	o.Object["audience"] = strings.Join(c.Audience, ",")
	o.Object["lifetime"] = c.Expires.Sub(c.Issued).String()
	o.Outputs["expires"] = c.Expires.Format(time.RFC3339)
	o.Renew = c.renewal(now)
}

// applyToken mints a token and writes it.
func (p *Provider) applyToken(ctx context.Context, req providers.ApplyRequest, s *fileSpec) providers.ApplyResponse {
	token, err := s.token.mint(ctx, s.token.lifetime)
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("mint a token for %s: %w", s.path, err)}
	}
	c, err := parseTokenClaims(token)
	if err != nil {
		return providers.ApplyResponse{Err: fmt.Errorf("the minted token for %s: %w", s.path, err)}
	}
	resp := p.writeFileEntry(ctx, req, s, token)
	if resp.Err == nil {
		resp.Outputs["expires"] = c.Expires.Format(time.RFC3339)
	}
	return resp
}
