package awsoidc

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ssoScrubbing is an SSO leg whose errors never carry the SSO tokens: the
// portal may echo the bearer access token it was sent, and ssocreds quotes
// the portal's message. On a failure, the tokens of the cached token file
// (the one ssocreds read, or the sso-session's token provider refreshed)
// are scrubbed from the error.
type ssoScrubbing struct {
	p    aws.CredentialsProvider
	path string // the SSO token cache file
}

// Retrieve calls the SSO portal.
func (s ssoScrubbing) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := s.p.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	return aws.Credentials{}, scrub("", err, s.secrets()...)
}

// secrets returns the tokens and client secret of the cached token file,
// none when it cannot be read.
func (s ssoScrubbing) secrets() []string {
	b, err := os.ReadFile(s.path) //nolint:gosec // G304: the SSO token cache file ssocreds reads, under ~/.aws/sso/cache
	if err != nil {
		return nil
	}
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

// ProviderSources reports the SSO leg's sources.
func (s ssoScrubbing) ProviderSources() []aws.CredentialSource {
	if ps, ok := s.p.(aws.CredentialProviderSource); ok {
		return ps.ProviderSources()
	}
	return []aws.CredentialSource{aws.CredentialSourceSSO}
}

// String describes the leg without its tokens.
func (s ssoScrubbing) String() string { return "sso" }
