package tokensource_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/tokensource"
)

// oauth2Func is a function-typed fake oauth2.TokenSource.
type oauth2Func func() (*oauth2.Token, error)

func (f oauth2Func) Token() (*oauth2.Token, error) { return f() }

func TestFromOAuth2(t *testing.T) {
	idExp := t0.Add(time.Hour)
	idToken := jwtExp(idExp)
	atExp := t0.Add(2 * time.Hour)
	jwtAccess := jwtExp(atExp)
	oauthExp := t0.Add(30 * time.Minute)
	withID := (&oauth2.Token{AccessToken: "opaque-access", Expiry: oauthExp}).WithExtra(map[string]any{"id_token": idToken})
	errEndpoint := &oauth2.RetrieveError{ErrorCode: "invalid_grant"}
	useAccess := func(o *tokensource.OAuth2Options) { o.UseAccessToken = true }
	tests := []struct {
		name    string
		tok     *oauth2.Token
		err     error
		opts    []func(*tokensource.OAuth2Options)
		want    tokensource.Token
		wantErr error
		errName string
	}{
		{name: "ID token by default", tok: withID, want: tokensource.Token{Value: idToken, Expiry: idExp}},
		{name: "opaque access token: oauth2 expiry", tok: withID, opts: []func(*tokensource.OAuth2Options){useAccess},
			want: tokensource.Token{Value: "opaque-access", Expiry: oauthExp}},
		{name: "JWT access token: its exp", tok: &oauth2.Token{AccessToken: jwtAccess, Expiry: oauthExp},
			opts: []func(*tokensource.OAuth2Options){useAccess}, want: tokensource.Token{Value: jwtAccess, Expiry: atExp}},
		{name: "no id_token", tok: &oauth2.Token{AccessToken: "a"}, wantErr: tokensource.ErrEmpty, errName: "id_token"},
		{name: "id_token not a string", tok: (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"id_token": 42}),
			wantErr: tokensource.ErrEmpty, errName: "id_token"},
		{name: "empty access token", tok: &oauth2.Token{}, opts: []func(*tokensource.OAuth2Options){useAccess},
			wantErr: tokensource.ErrEmpty, errName: "access_token"},
		{name: "nil token", wantErr: tokensource.ErrEmpty},
		{name: "token source error", err: errEndpoint, wantErr: errEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := oauth2Func(func() (*oauth2.Token, error) { return tt.tok, tt.err })
			got, err := tokensource.FromOAuth2(ts, tt.opts...).Token(context.Background())
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Token() = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				return
			}
			var te *tokensource.Error
			if !errors.As(err, &te) || te.Source != "oauth2" || te.Name != tt.errName {
				t.Fatalf("error = %#v, want *tokensource.Error{Source: oauth2, Name: %q}", err, tt.errName)
			}
			if te.Name == "id_token" && !strings.Contains(err.Error(), "UseAccessToken") {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}
