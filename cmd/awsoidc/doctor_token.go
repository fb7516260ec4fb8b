package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/awsoidc/awsoidc/internal/jwt"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// Claims that STS reads besides the registered ones.
const (
	claimSourceIdentity = "https://aws.amazon.com/source_identity"
	claimTags           = "https://aws.amazon.com/tags"
)

// stsAlgs are the JWS algorithms STS accepts for web identity tokens.
var stsAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

// maxIssuerDocument caps the discovery document and the JWKS doctor reads.
const maxIssuerDocument = 1 << 20

// tokenClaims are the claims of the token doctor reports, read without
// verifying the token.
type tokenClaims struct {
	alg, kid       string
	iss, sub       string
	aud, amr       []string
	azp            string
	exp, iat, nbf  time.Time
	sourceIdentity string
	tags           []string // "key=value", sorted
	transitive     []string
}

// checkTokenSource reads the token as the credential commands do, and says
// where it came from, its size and its age; never the token.
func (d *doctor) checkTokenSource(ctx context.Context) checkResult {
	cfg := d.cfg
	var where string
	switch cfg.kind {
	case sourceFetch:
		src, picked, err := d.a.fetchedSource(ctx, cfg)
		if err != nil {
			return checkFail(err.Error(), "name the source with --token-source "+strings.Join(fetchedNames[:len(fetchedNames)-1], "|"))
		}
		tok, err := src.Token(ctx)
		if err != nil {
			return checkFail("--token-source "+picked+": "+err.Error(), fetchHint(cfg.fetch))
		}
		d.tok = tok
		where = "--token-source " + picked
		if cfg.audience != "" {
			where += ", --audience " + cfg.audience
		}
	case sourceEnv:
		d.tok = tokensource.Token{Value: cfg.tokenValue}
		where = "environment variable " + cfg.tokenEnv + " (--token-env)"
	case sourceDevice:
		src, err := d.a.deviceSource(cfg.device, cfg.cacheDir, false, io.Discard)
		if err != nil {
			return checkFail(err.Error(), "fix --issuer, --client-id or --cache-dir")
		}
		tok, err := src.Token(ctx)
		if err != nil {
			hint := "check that the identity provider at " + cfg.device.issuer + " is reachable"
			if errors.Is(err, deviceflow.ErrLoginRequired) {
				hintDir := ""
				if cfg.cacheDirGiven {
					hintDir = cfg.cacheDir
				}
				hint = `run "` + cfg.device.loginCommand(hintDir) + `"`
			}
			return checkFail("device-flow login of "+cfg.device.issuer+": "+err.Error(), hint)
		}
		d.tok = tok
		where = "device-flow login of " + cfg.device.issuer + " (client ID " + cfg.device.clientID + ")"
	default:
		origin := cfg.origin["token-file"]
		fi, err := os.Stat(cfg.tokenPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return checkFail(fmt.Sprintf("no file at %s (from %s)", cfg.tokenPath, origin),
				"write the token there before awsoidc runs, or point "+origin+" at the file that holds it "+
					"(EKS projects it at /var/run/secrets/eks.amazonaws.com/serviceaccount/token; a CI job must fetch its OIDC token first)")
		case err != nil:
			return checkFail(fmt.Sprintf("token file %s (from %s): %v", cfg.tokenPath, origin, err), "make the file readable by this user")
		}
		tok, err := tokensource.File(cfg.tokenPath, func(o *tokensource.FileOptions) { o.RetryFor = -1 }).Token(ctx)
		if err != nil {
			return checkFail(err.Error(), "the file must hold one token, on one line, as UTF-8 or ASCII")
		}
		d.tok = tok
		where = fmt.Sprintf("file %s (from %s), written %s", cfg.tokenPath, origin, doctorWhen(fi.ModTime(), d.a.now()))
	}
	d.a.secrets.add(d.tok.Value)
	detail := fmt.Sprintf("%s, %d bytes", where, len(d.tok.Value))
	if len(d.tok.Value) > 20000 {
		return checkFail(detail, "STS accepts tokens of at most 20000 characters")
	}
	now := d.a.now()
	if d.tok.Expired(now) {
		return checkWarn(detail+", expired "+doctorWhen(d.tok.Expiry, now),
			"the token is stale: whatever writes it (the kubelet, a CI step, a login) has not renewed it")
	}
	if !d.tok.Expiry.IsZero() {
		detail += ", expires " + doctorWhen(d.tok.Expiry, now)
	}
	return checkOK("%s", detail)
}

// checkClaims decodes the token's claims and checks them against the local
// clock and STS's rules.
func (d *doctor) checkClaims(context.Context) checkResult {
	var raw map[string]json.RawMessage
	if err := jwt.Claims(d.tok.Value, &raw); err != nil {
		if d.cfg.opts.ProviderID != "" {
			return checkOK("an opaque OAuth 2.0 access token for --provider-id %s: no claims to read", d.cfg.opts.ProviderID)
		}
		hint := "STS needs an OpenID Connect ID token (a JWT) unless --provider-id names an OAuth 2.0 provider"
		if d.cfg.kind == sourceDevice && d.cfg.device.useAccessToken {
			hint = "this identity provider's access tokens are not JWTs: drop --use-access-token to send the ID token"
		}
		return checkFail(err.Error(), hint)
	}
	d.isJWT = true
	c := &d.claims
	if jws, err := jose.ParseSignedCompact(d.tok.Value, stsAlgs); err == nil && len(jws.Signatures) == 1 {
		c.alg, c.kid = jws.Signatures[0].Header.Algorithm, jws.Signatures[0].Header.KeyID
	} else {
		c.alg = headerAlg(d.tok.Value)
		if !slices.Contains(stsAlgs, jose.SignatureAlgorithm(c.alg)) {
			return checkFail(fmt.Sprintf("the token is signed with %q", c.alg), "STS accepts RS256, RS384, RS512, ES256, ES384 and ES512 only: configure the identity provider to sign with one of them")
		}
		return checkFail("the token is not a well-formed JWS", "get a fresh token from the identity provider")
	}
	c.iss = claimString(raw["iss"])
	c.sub = claimString(raw["sub"])
	c.aud = claimStrings(raw["aud"])
	c.amr = claimStrings(raw["amr"])
	c.azp = claimString(raw["azp"])
	c.exp = claimTime(raw["exp"])
	c.iat = claimTime(raw["iat"])
	c.nbf = claimTime(raw["nbf"])
	c.sourceIdentity = claimString(raw[claimSourceIdentity])
	c.tags, c.transitive = claimSessionTags(raw[claimTags])

	now := d.a.now()
	var b strings.Builder
	fmt.Fprintf(&b, "iss=%s sub=%s aud=%s", c.iss, c.sub, strings.Join(c.aud, ","))
	if c.azp != "" {
		fmt.Fprintf(&b, " azp=%s", c.azp)
	}
	if !c.exp.IsZero() {
		fmt.Fprintf(&b, " exp=%s (%s)", c.exp.UTC().Format(time.RFC3339), doctorWhen(c.exp, now))
	}
	if !c.iat.IsZero() {
		fmt.Fprintf(&b, " iat=%s", doctorWhen(c.iat, now))
	}
	if !c.nbf.IsZero() {
		fmt.Fprintf(&b, " nbf=%s", doctorWhen(c.nbf, now))
	}
	if len(c.amr) > 0 {
		fmt.Fprintf(&b, " amr=%s", strings.Join(c.amr, ","))
	}
	if c.sourceIdentity != "" {
		fmt.Fprintf(&b, " source_identity=%s", c.sourceIdentity)
	}
	if len(c.tags) > 0 {
		fmt.Fprintf(&b, " session_tags=%s", strings.Join(c.tags, ","))
	}
	if len(c.transitive) > 0 {
		fmt.Fprintf(&b, " transitive_tag_keys=%s", strings.Join(c.transitive, ","))
	}
	fmt.Fprintf(&b, " alg=%s kid=%s", c.alg, c.kid)
	detail := b.String()

	var missing []string
	for name, empty := range map[string]bool{"iss": c.iss == "", "sub": c.sub == "", "aud": len(c.aud) == 0, "exp": c.exp.IsZero()} {
		if empty {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		return checkFail(detail, "STS requires the claims "+strings.Join(missing, ", ")+" (exp as integer seconds); the identity provider must issue them")
	}
	if u, err := url.Parse(c.iss); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
		return checkFail(detail, "iss must be the https URL of the identity provider, the URL of an IAM OIDC provider")
	}
	switch {
	case !now.Before(c.exp):
		return checkWarn(detail, fmt.Sprintf("the token expired %s by this machine's clock: STS refuses it (ExpiredTokenException); get a fresh token, or check the clock", doctorWhen(c.exp, now)))
	case !c.nbf.IsZero() && now.Before(c.nbf):
		return checkWarn(detail, "the token is not valid yet (nbf) by this machine's clock: STS refuses it; check the clocks of this machine and of the identity provider")
	case c.iat.Sub(now) > time.Minute:
		return checkWarn(detail, "the token was issued in the future (iat) by this machine's clock: one of the clocks is wrong")
	}
	return checkOK("%s", detail)
}

// checkIssuerKeys fetches the issuer's discovery document and JWKS, as STS
// does, finds the token's kid and verifies its signature.
func (d *doctor) checkIssuerKeys(ctx context.Context) checkResult {
	if !d.isJWT {
		return checkOK("not applicable: the token is not a JWT")
	}
	iss := d.claims.iss
	discoveryURL := strings.TrimSuffix(iss, "/") + "/.well-known/openid-configuration"
	reach := "STS fetches it from the internet: it must be served over https, publicly, with a certificate from a public CA"
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := d.getJSON(ctx, discoveryURL, &meta); err != nil {
		return checkFail("discovery document "+discoveryURL+": "+err.Error(), reach)
	}
	if meta.Issuer != iss {
		return checkFail(fmt.Sprintf("discovery document %s names issuer %q, the token's iss is %q", discoveryURL, meta.Issuer, iss),
			"the two must be equal byte for byte (trailing slash included): fix the identity provider's issuer setting or the token's iss")
	}
	if meta.JWKSURI == "" {
		return checkFail("discovery document "+discoveryURL+" has no jwks_uri", "the identity provider must publish its signing keys (jwks_uri)")
	}
	var set jose.JSONWebKeySet
	if err := d.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return checkFail("JWKS "+meta.JWKSURI+": "+err.Error(), reach)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		if d.claims.kid == "" || k.KeyID == d.claims.kid {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return checkFail(fmt.Sprintf("no key with the token's kid %q among the %d keys of %s", d.claims.kid, len(set.Keys), meta.JWKSURI),
			"the token was signed by a key "+iss+" does not publish: it comes from another issuer or tenant, or the keys were rotated; get a fresh token from "+iss)
	}
	jws, err := jose.ParseSignedCompact(d.tok.Value, stsAlgs)
	if err != nil {
		return checkFail("the token is not a well-formed JWS: "+err.Error(), "get a fresh token from "+iss)
	}
	for _, k := range keys {
		if _, err := jws.Verify(k); err == nil {
			return checkOK("%s lists %s, whose key %q verifies the token's signature", discoveryURL, meta.JWKSURI, k.KeyID)
		}
	}
	return checkFail(fmt.Sprintf("the token's signature does not verify with key %q of %s", d.claims.kid, meta.JWKSURI),
		"the token was not signed by "+iss+"'s key: it was forged or altered, or another issuer reuses the kid; get a fresh token from "+iss)
}

// getJSON GETs u into v: status 200 and at most maxIssuerDocument bytes.
func (d *doctor) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("no answer within %s", d.cfg.timeout)
		}
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIssuerDocument+1))
	if err != nil {
		return err
	}
	if len(b) > maxIssuerDocument {
		return fmt.Errorf("larger than %d bytes", maxIssuerDocument)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return nil
}

// headerAlg returns the "alg" of a token's JOSE header, or "".
func headerAlg(token string) string {
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Alg
}

// claimString returns a string claim, or "".
func claimString(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// claimStrings returns a claim that is a string or an array of strings.
func claimStrings(raw json.RawMessage) []string {
	if s := claimString(raw); s != "" {
		return []string{s}
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}

// claimTime returns a NumericDate claim, or the zero time.
func claimTime(raw json.RawMessage) time.Time {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return time.Time{}
	}
	f, err := n.Float64()
	if err != nil || f <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}

// claimSessionTags returns the session tags of the
// https://aws.amazon.com/tags claim as "key=value", and its transitive keys.
func claimSessionTags(raw json.RawMessage) (tags, transitive []string) {
	var c struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil, nil
	}
	for k, vs := range c.PrincipalTags {
		tags = append(tags, k+"="+strings.Join(vs, "|"))
	}
	slices.Sort(tags)
	return tags, c.TransitiveTagKeys
}
