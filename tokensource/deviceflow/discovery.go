package deviceflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// endpoint returns the device authorization and token endpoints of the
// issuer (and records its optional revocation_endpoint, RFC 8414 §2, for
// [Source.Logout]; it is checked when used, so that an unusable one does
// not prevent logins), discovering them from its /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0 §4; device_authorization_endpoint is the
// metadata of RFC 8628 §4) on first use, under the caller's ctx. A success
// is kept for the life of the [Source]; a failure is retried on the next
// call.
func (s *Source) endpoint(ctx context.Context) (oauth2.Endpoint, error) {
	s.mu.Lock()
	ep := s.ep
	s.mu.Unlock()
	if ep != nil {
		return *ep, nil
	}

	p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.http), s.issuer)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return oauth2.Endpoint{}, err
		}
		if strings.Contains(err.Error(), errResponseTooLarge.Error()) {
			// go-oidc wraps the read error with %v: restore the sentinel.
			err = errResponseTooLarge
		}
		return oauth2.Endpoint{}, s.discoveryError(s.clean(err, 300))
	}
	var meta struct {
		DeviceAuthURL string `json:"device_authorization_endpoint"`
		TokenURL      string `json:"token_endpoint"`
		RevokeURL     string `json:"revocation_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return oauth2.Endpoint{}, s.discoveryError(s.clean(err, 300))
	}
	if meta.DeviceAuthURL == "" {
		return oauth2.Endpoint{}, s.discoveryError(errors.New("no device_authorization_endpoint: the issuer does not support the device authorization grant (RFC 8628 §4)"))
	}
	if meta.TokenURL == "" {
		return oauth2.Endpoint{}, s.discoveryError(errors.New("no token_endpoint"))
	}
	if err := checkURL("device_authorization_endpoint", meta.DeviceAuthURL); err != nil {
		return oauth2.Endpoint{}, s.discoveryError(s.remote(err))
	}
	if err := checkURL("token_endpoint", meta.TokenURL); err != nil {
		return oauth2.Endpoint{}, s.discoveryError(s.remote(err))
	}
	found := oauth2.Endpoint{
		DeviceAuthURL: meta.DeviceAuthURL,
		TokenURL:      meta.TokenURL,
		AuthStyle:     s.authStyle,
	}
	s.mu.Lock()
	s.ep = &found
	s.revokeURL = meta.RevokeURL
	s.mu.Unlock()
	s.log.Debug("deviceflow: discovered endpoints", "issuer", s.issuer, "device_authorization_endpoint", s.scrubText(found.DeviceAuthURL),
		"token_endpoint", s.scrubText(found.TokenURL), "revocation_endpoint", s.scrubText(sanitizeURL(meta.RevokeURL)))
	return found, nil
}

// discoveryError is a failure to read or use the issuer's OpenID Provider
// Configuration.
func (s *Source) discoveryError(err error) error {
	return fmt.Errorf("deviceflow: discovery of %s/.well-known/openid-configuration: %w", strings.TrimSuffix(s.issuer, "/"), err)
}
