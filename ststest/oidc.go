package ststest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// maxRemoteBytes caps discovery documents and key sets fetched from an
// issuer.
const maxRemoteBytes = 1 << 20

// supportedAlgs are the JWS algorithms STS accepts for web identity tokens.
var supportedAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}

// discovery is the OpenID Provider Metadata (OpenID Connect Discovery 1.0
// §3) the server publishes.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint,omitempty"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	ClaimsSupported                   []string `json:"claims_supported,omitempty"`
}

// serveDiscovery serves Issuer()+"/.well-known/openid-configuration".
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, ActionDiscovery, kindOAuth) {
		return
	}
	iss := s.Issuer()
	writeJSON(w, http.StatusOK, s.discoveryDocument(iss))
}

// serveJWKS serves the issuer's public keys.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, ActionJWKS, kindOAuth) {
		return
	}
	writeJSON(w, http.StatusOK, s.keys.jwks())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// issuerKeys fetches iss's discovery document and then its JWKS, as STS
// does, within Options.IDPTimeout and maxRemoteBytes.
func (s *Server) issuerKeys(ctx context.Context, iss string) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.IDPTimeout)
	defer cancel()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := s.getJSON(ctx, strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", &meta); err != nil {
		return nil, err
	}
	if meta.Issuer != iss {
		return nil, fmt.Errorf("discovery document names issuer %q, want %q", meta.Issuer, iss)
	}
	if meta.JWKSURI == "" {
		return nil, fmt.Errorf("discovery document has no jwks_uri")
	}
	var set jose.JSONWebKeySet
	if err := s.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return nil, err
	}
	return set.Keys, nil
}

// getJSON GETs url into v, refusing non-200 answers and bodies over
// maxRemoteBytes.
func (s *Server) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := s.opts.httpClient
	if client == nil {
		client = s.client
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRemoteBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxRemoteBytes {
		return fmt.Errorf("GET %s: body over %d bytes", url, maxRemoteBytes)
	}
	return json.Unmarshal(body, v)
}

// discoveryDocument returns the metadata for issuer iss.
func (s *Server) discoveryDocument(iss string) discovery {
	return discovery{
		Issuer:                            iss,
		JWKSURI:                           iss + "/keys",
		TokenEndpoint:                     iss + "/token",
		DeviceAuthorizationEndpoint:       iss + "/device/code",
		RevocationEndpoint:                iss + "/revoke",
		ResponseTypesSupported:            []string{"id_token"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  supportedAlgs,
		GrantTypesSupported:               []string{grantDeviceCode, grantRefreshToken},
		ScopesSupported:                   []string{"openid", "offline_access"},
		TokenEndpointAuthMethodsSupported: []string{"none", "client_secret_basic", "client_secret_post"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "exp", "iat", "nbf", "azp", "auth_time", sourceIdentityClaim},
	}
}
