package tokensource_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

func TestStatic(t *testing.T) {
	exp := t0.Add(time.Hour)
	jwt := jwtExp(exp)
	tests := []struct {
		name    string
		value   string
		want    tokensource.Token
		wantErr error
	}{
		{"JWT", jwt, tokensource.Token{Value: jwt, Expiry: exp}, nil},
		{"opaque", "opaque", tokensource.Token{Value: "opaque"}, nil},
		{"trimmed", "\t" + jwt + "\n", tokensource.Token{Value: jwt, Expiry: exp}, nil},
		{"empty", "", tokensource.Token{}, tokensource.ErrEmpty},
		{"only whitespace", " \n", tokensource.Token{}, tokensource.ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokensource.Static(tt.value).Token(context.Background())
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Token() = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			var te *tokensource.Error
			if err != nil && (!errors.As(err, &te) || te.Source != "static" || !strings.Contains(err.Error(), "Static was given an empty value")) {
				t.Fatalf("error = %q, want a *tokensource.Error that names Static", err)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	const name = "AWSOIDC_TEST_TOKEN"
	exp := t0.Add(time.Hour)
	jwt := jwtExp(exp)
	tests := []struct {
		name    string
		set     bool
		value   string
		want    tokensource.Token
		wantErr error
	}{
		{name: "JWT", set: true, value: jwt + "\n", want: tokensource.Token{Value: jwt, Expiry: exp}},
		{name: "opaque", set: true, value: " opaque ", want: tokensource.Token{Value: "opaque"}},
		{name: "unset", wantErr: tokensource.ErrEmpty},
		{name: "empty", set: true, wantErr: tokensource.ErrEmpty},
		{name: "only whitespace", set: true, value: "\n", wantErr: tokensource.ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(name, tt.value) // restores the variable after the test
			if !tt.set {
				os.Unsetenv(name)
			}
			got, err := tokensource.Env(name).Token(context.Background())
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Token() = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				return
			}
			var te *tokensource.Error
			if !errors.As(err, &te) || te.Source != "env" || te.Name != name {
				t.Fatalf("error = %#v, want *tokensource.Error{Source: env, Name: %s}", err, name)
			}
			if want := `tokensource: env "` + name + `": ` + tt.wantErr.Error(); !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %q, want it to start %q", err, want)
			}
			if !tt.set && !strings.HasSuffix(err.Error(), ": the variable is not set") {
				t.Errorf("error = %q, want it to say the variable is not set", err)
			}
		})
	}
}

func TestEnvRereadsEveryCall(t *testing.T) {
	const name = "AWSOIDC_TEST_TOKEN"
	src := tokensource.Env(name)
	for _, v := range []string{"first", "second"} {
		t.Setenv(name, v)
		if tok, err := src.Token(context.Background()); err != nil || tok.Value != v {
			t.Fatalf("Token() = %q, %v; want %q", tok.Value, err, v)
		}
	}
}

// TestDoneContext: every source returns the context's error, and no token,
// when ctx is already done.
func TestDoneContext(t *testing.T) {
	t.Setenv("AWSOIDC_TEST_TOKEN", "v")
	path := tempPath(t, "token")
	writeFile(t, path, "v")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, src := range allSources(t, "v") {
		tok, err := src.Token(ctx)
		if !errors.Is(err, context.Canceled) || tok.Value != "" {
			t.Errorf("%v: Token() with a done ctx = %v, %v; want context.Canceled", src, tok, err)
		}
	}
}
