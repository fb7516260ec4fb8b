package tokensource_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/tokensource"
)

// allSources returns one source of each kind that yields secret (a File,
// Env and FromRetriever need their file or variable to hold it).
func allSources(t *testing.T, secret string) []tokensource.Source {
	t.Helper()
	t.Setenv("AWSOIDC_TEST_TOKEN", secret)
	path := tempPath(t, "token")
	writeFile(t, path, secret)
	ts := oauth2.StaticTokenSource((&oauth2.Token{AccessToken: secret}).WithExtra(map[string]any{"id_token": secret}))
	return []tokensource.Source{
		tokensource.Static(secret),
		tokensource.File(path),
		tokensource.Env("AWSOIDC_TEST_TOKEN"),
		tokensource.FromOAuth2(ts),
		tokensource.FromOAuth2(ts, func(o *tokensource.OAuth2Options) { o.UseAccessToken = true }),
		tokensource.FromRetriever(retrieverFunc(func() ([]byte, error) { return []byte(secret), nil })),
		tokensource.FromRetriever(tokensource.AsRetriever(context.Background(), tokensource.Static(secret))),
		tokensource.Reuse(tokensource.Static(secret)),
		tokensource.Reuse(tokensource.Func(func(context.Context) (tokensource.Token, error) {
			return tokensource.Token{Value: secret, Expiry: time.Now().Add(time.Hour)}, nil
		})),
	}
}

// leaks reports which part of secret s shows: the whole value, a JWT
// segment, or its hex encoding.
func leaks(s, secret string) string {
	if strings.Contains(s, secret) {
		return "the token"
	}
	for i, seg := range strings.Split(secret, ".") {
		if len(seg) >= 8 && strings.Contains(s, seg) {
			return fmt.Sprintf("JWT segment %d", i)
		}
	}
	if strings.Contains(s, hex.EncodeToString([]byte(secret))[:16]) {
		return "the token in hex"
	}
	return ""
}

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"}

// TestNoTokenInFormattedValues formats every exported type and every source,
// before and after use, alone and inside a caller's struct, with every verb:
// none shows the token.
func TestNoTokenInFormattedValues(t *testing.T) {
	secret := jwtExp(t0.Add(time.Hour))
	sources := allSources(t, secret)
	for _, src := range sources {
		if tok, err := src.Token(context.Background()); err != nil || tok.Value != secret {
			t.Fatalf("%v: Token() = %v, %v", src, tok, err)
		}
	}
	values := []any{
		tokensource.Token{Value: secret, Expiry: t0},
		&tokensource.Token{Value: secret},
		&tokensource.Error{Source: "file", Name: "/p", Err: tokensource.ErrEmpty},
		tokensource.FileOptions{RetryFor: time.Second},
		tokensource.ReuseOptions{Margin: time.Minute},
		tokensource.OAuth2Options{UseAccessToken: true},
		tokensource.Func(func(context.Context) (tokensource.Token, error) { return tokensource.Token{Value: secret}, nil }),
		tokensource.AsRetriever(context.Background(), tokensource.Static(secret)),
	}
	for _, src := range sources {
		values = append(values, src,
			struct{ S tokensource.Source }{src}, // exported field: fmt calls our methods
			struct{ s tokensource.Source }{src}, // unexported field: fmt uses reflection
			[]tokensource.Source{src},
			map[string]tokensource.Source{"k": src},
		)
	}
	for i, v := range values {
		for _, verb := range verbs {
			if s := fmt.Sprintf(verb, v); leaks(s, secret) != "" {
				t.Errorf("value %d: %s of %T shows %s: %s", i, verb, v, leaks(s, secret), s)
			}
		}
	}
}

// TestSourceStrings: each source describes itself by kind and name. (%#v
// prints the Go syntax of the value, which holds any token behind a
// pointer: TestNoTokenInFormattedValues.)
func TestSourceStrings(t *testing.T) {
	tests := []struct {
		src  any
		want string
	}{
		{tokensource.File("/var/run/token"), `tokensource.File("/var/run/token")`},
		{tokensource.Env("TOKEN"), `tokensource.Env("TOKEN")`},
		{tokensource.Static(""), `tokensource.Static(Token{})`},
		{tokensource.Reuse(tokensource.File("/t")), `tokensource.Reuse(tokensource.File("/t"))`},
		{tokensource.Reuse(tokensource.Func(nil)), `tokensource.Reuse(tokensource.Func)`},
		{tokensource.FromRetriever(retrieverFunc(nil)), `tokensource.FromRetriever(tokensource_test.retrieverFunc)`},
		{tokensource.FromOAuth2(oauth2Func(nil)), `tokensource.FromOAuth2(tokensource_test.oauth2Func)`},
		{tokensource.AsRetriever(context.Background(), tokensource.Env("T")), `tokensource.AsRetriever(tokensource.Env("T"))`},
	}
	for _, tt := range tests {
		for _, verb := range []string{"%v", "%+v", "%s"} {
			if got := fmt.Sprintf(verb, tt.src); got != tt.want {
				t.Errorf("%s = %s, want %s", verb, got, tt.want)
			}
		}
		if s, ok := tt.src.(fmt.Stringer); !ok || s.String() != tt.want {
			t.Errorf("%s: not a fmt.Stringer with that description", tt.want)
		}
	}
}

// TestNoTokenInLogs logs every source and its token through slog's text and
// JSON handlers.
func TestNoTokenInLogs(t *testing.T) {
	secret := jwtExp(t0.Add(time.Hour))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		log := slog.New(h)
		for _, src := range allSources(t, secret) {
			tok, err := src.Token(context.Background())
			log.Info("token", "source", src, "token", tok, "ptr", &tok, "err", err)
		}
	}
	if l := leaks(buf.String(), secret); l != "" {
		t.Fatalf("the logs show %s:\n%s", l, buf.String())
	}
	if !strings.Contains(buf.String(), "sha256:") {
		t.Fatalf("the logs lack the token fingerprint:\n%s", buf.String())
	}
}

// TestNoTokenInErrors drives every failure path with the token in reach
// (in the file, the variable, the oauth2.Token) and checks the errors.
func TestNoTokenInErrors(t *testing.T) {
	secret := jwtExp(t0.Add(time.Hour))
	fake := clock.NewFake(t0)
	big := tempPath(t, "big")
	writeFile(t, big, secret+strings.Repeat(" x", 64<<10))
	noID := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: secret})
	failing := oauth2Func(func() (*oauth2.Token, error) {
		return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "refresh token expired"}
	})
	srcs := []tokensource.Source{
		fileOn(fake, big),
		fileOn(fake, tempPath(t, "missing"), func(o *tokensource.FileOptions) { o.RetryFor = -1 }),
		tokensource.Env("AWSOIDC_TEST_UNSET"),
		tokensource.Static(""),
		tokensource.FromOAuth2(noID),
		tokensource.FromOAuth2(failing),
		tokensource.FromRetriever(retrieverFunc(func() ([]byte, error) { return nil, nil })),
		tokensource.Reuse(tokensource.Static("")),
	}
	for _, src := range srcs {
		_, err := src.Token(context.Background())
		if err == nil {
			t.Fatalf("%v: Token() succeeded", src)
		}
		var te *tokensource.Error
		if !errors.As(err, &te) {
			t.Errorf("%v: error %T is not a *tokensource.Error", src, err)
		}
		for _, verb := range verbs {
			if s := fmt.Sprintf(verb, err); leaks(s, secret) != "" {
				t.Errorf("%v: %s of the error shows %s", src, verb, leaks(s, secret))
			}
		}
		if !strings.HasPrefix(err.Error(), "tokensource: ") {
			t.Errorf("%v: error %q lacks the package prefix", src, err)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *tokensource.Error
		want string
	}{
		{&tokensource.Error{Source: "static", Err: tokensource.ErrEmpty}, `tokensource: static: token is empty`},
		{&tokensource.Error{Source: "file", Name: "/a b", Err: tokensource.ErrEmpty}, `tokensource: file "/a b": token is empty`},
		// The path already appears in an *fs.PathError: it is not repeated.
		{&tokensource.Error{Source: "file", Name: "/p", Err: &fs.PathError{Op: "open", Path: "/p", Err: fs.ErrNotExist}},
			`tokensource: file: open /p: file does not exist`},
		// A name that the cause merely contains is still given.
		{&tokensource.Error{Source: "file", Name: "token", Err: tokensource.ErrEmpty}, `tokensource: file "token": token is empty`},
		{&tokensource.Error{Source: "file", Name: "p", Err: &fs.PathError{Op: "open", Path: "/p", Err: fs.ErrNotExist}},
			`tokensource: file "p": open /p: file does not exist`},
		{&tokensource.Error{Source: "file", Name: "/p"}, `tokensource: file "/p": <nil>`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
