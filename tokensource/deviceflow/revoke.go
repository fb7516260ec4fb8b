package deviceflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// revocationError is a failed token revocation request (RFC 7009 §2.2.1).
// [Source.Logout] only logs it, so it is not exported. It never carries the
// token: what the server wrote is scrubbed of the Source's secrets.
type revocationError struct {
	Status      int    // HTTP status, 0 when there was no response
	Code        string // "error" of an RFC 6749 §5.2 error response, if any
	Description string // "error_description", scrubbed and sanitized
	Err         error  // transport error, when there was no response
}

func (e *revocationError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("deviceflow: revocation request: %v", e.Err)
	case e.Code != "" && e.Description != "":
		return fmt.Sprintf("deviceflow: revocation request: %s: %s (HTTP %d)", e.Code, e.Description, e.Status)
	case e.Code != "":
		return fmt.Sprintf("deviceflow: revocation request: %s (HTTP %d)", e.Code, e.Status)
	}
	return fmt.Sprintf("deviceflow: revocation request: HTTP %d", e.Status)
}

func (e *revocationError) Unwrap() error { return e.Err }

// revoke revokes the refresh token of t, else its access token, at the
// issuer's revocation endpoint (RFC 7009), when discovery advertises one.
// It is best effort: failures are logged at Warn, with the token's
// fingerprint only.
func (s *Source) revoke(ctx context.Context, t *Tokens) {
	token, hint := t.RefreshToken, "refresh_token"
	if token == "" {
		token, hint = t.AccessToken, "access_token"
	}
	if token == "" {
		return
	}
	if _, err := s.endpoint(ctx); err != nil {
		s.log.Warn("deviceflow: cannot revoke the tokens: discovery failed", "issuer", s.issuer, hint, redact.Fingerprint(token), "err", err)
		return
	}
	s.mu.Lock()
	target := s.revokeURL
	s.mu.Unlock()
	if target == "" {
		s.log.Debug("deviceflow: the issuer advertises no revocation_endpoint; tokens deleted locally only", "issuer", s.issuer)
		return
	}
	if err := s.revokeToken(ctx, target, token, hint); err != nil {
		s.log.Warn("deviceflow: cannot revoke the token at the identity provider; it was deleted locally", "issuer", s.issuer, hint, redact.Fingerprint(token), "err", err)
		return
	}
	s.log.Debug("deviceflow: revoked", "issuer", s.issuer, hint, redact.Fingerprint(token))
}

// revokeToken sends the revocation request of RFC 7009 §2.1 to target, with
// the client authentication of the token endpoint: client_id in the body
// for a public client (RFC 6749 §2.3, §3.2.1), and for a confidential
// client client_secret in the body or HTTP Basic, per the Source's
// AuthStyle. A 200 is success whatever the body (RFC 7009 §2.2).
func (s *Source) revokeToken(ctx context.Context, target, token, hint string) error {
	if err := checkURL("revocation_endpoint", target); err != nil {
		return s.remote(err) // the URL is the discovery document's
	}
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	secret := s.secret.Reveal()
	basic := secret != "" && s.authStyle == oauth2.AuthStyleInHeader
	if !basic {
		form.Set("client_id", s.clientID)
		if secret != "" {
			form.Set("client_secret", secret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return &revocationError{Err: s.clean(err, 300)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(s.clientID), url.QueryEscape(secret))
	}
	resp, err := s.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return &revocationError{Err: ctxErr}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL: url.Error quotes it whole
		}
		return &revocationError{Err: s.clean(err, 300)}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(resp.Body) // capped by the guarded client
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	e := &revocationError{Status: resp.StatusCode}
	if rerr == nil {
		var er struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &er) == nil {
			e.Code, e.Description = sanitize(s.scrubText(er.Error), 64), sanitize(s.scrubText(er.Description), 300)
		}
	}
	return e
}
