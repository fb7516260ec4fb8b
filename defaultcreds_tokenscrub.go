package awsoidc

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// tokenFileScrubbing is an SSO or login leg whose errors never carry the
// tokens of its cache file: the SSO portal or the sign-in service may echo
// the bearer or refresh token it was sent, and ssocreds and logincreds
// quote the service's message. On a failure, the secrets of the cache file
// (the one the provider read, or refreshed) are scrubbed from the error.
type tokenFileScrubbing struct {
	p       aws.CredentialsProvider
	path    string                 // the token cache file
	secrets func([]byte) []string  // the secrets of the file's contents
	sources []aws.CredentialSource // when p reports none
	name    string                 // what String says
}

// Retrieve calls the provider.
func (s tokenFileScrubbing) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := s.p.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	var secrets []string
	if b, rerr := os.ReadFile(s.path); rerr == nil { //nolint:gosec // G304: the token cache file the provider reads, under ~/.aws
		secrets = s.secrets(b)
	}
	return aws.Credentials{}, scrub("", err, secrets...)
}

// ProviderSources reports the provider's sources.
func (s tokenFileScrubbing) ProviderSources() []aws.CredentialSource {
	if ps, ok := s.p.(aws.CredentialProviderSource); ok {
		return ps.ProviderSources()
	}
	return s.sources
}

// String describes the leg without its tokens.
func (s tokenFileScrubbing) String() string { return s.name }

// ssoSecrets are the tokens and client secret of an SSO token cache file.
func ssoSecrets(b []byte) []string {
	var t struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
		ClientSecret string `json:"clientSecret"`
	}
	if json.Unmarshal(b, &t) != nil {
		return nil
	}
	return []string{t.AccessToken, t.RefreshToken, t.ClientSecret}
}

// loginSecrets are the tokens, DPoP key and cached credentials of an
// `aws login` token cache file.
func loginSecrets(b []byte) []string {
	var t struct {
		AccessToken struct {
			SecretAccessKey string `json:"secretAccessKey"`
			SessionToken    string `json:"sessionToken"`
		} `json:"accessToken"`
		RefreshToken  string `json:"refreshToken"`
		IdentityToken string `json:"identityToken"`
		DPOPKey       string `json:"dpopKey"`
	}
	if json.Unmarshal(b, &t) != nil {
		return nil
	}
	return []string{t.AccessToken.SecretAccessKey, t.AccessToken.SessionToken, t.RefreshToken, t.IdentityToken, t.DPOPKey}
}
