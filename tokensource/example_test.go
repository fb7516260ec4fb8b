package tokensource_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/tokensource"
)

// exampleJWT expires at 2100-01-01T00:00:00Z.
var exampleJWT = makeJWT(`{"iss":"https://oidc.example","sub":"system:serviceaccount:default:app","aud":"sts.amazonaws.com","exp":4102444800}`)

// A pod's projected service account token, as IRSA mounts it. The file is
// read again on every call, so the kubelet's rotation is picked up.
func ExampleFile() {
	dir, err := os.MkdirTemp("", "irsa")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "token") // e.g. os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE")
	if err := os.WriteFile(path, []byte(exampleJWT+"\n"), 0o600); err != nil {
		panic(err)
	}

	src := tokensource.File(path)
	tok, err := src.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("expires:", tok.Expiry.Format(time.RFC3339))
	fmt.Println("same as the file:", tok.Value == exampleJWT)

	// A missing file is retried briefly (FileOptions.RetryFor), then reported
	// by path, never by content.
	_, err = tokensource.File(filepath.Join(dir, "missing"), func(o *tokensource.FileOptions) {
		o.RetryFor = -1 // no retry, for the example
	}).Token(context.Background())
	fmt.Println(err != nil)
	// Output:
	// expires: 2100-01-01T00:00:00Z
	// same as the file: true
	// true
}

// Reuse puts an expensive source (here one that counts its calls) behind a
// token that is served until a minute before its expiry.
func ExampleReuse() {
	var fetches atomic.Int32
	slow := tokensource.Func(func(ctx context.Context) (tokensource.Token, error) {
		fetches.Add(1)
		return tokensource.Token{Value: exampleJWT, Expiry: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	})
	src := tokensource.Reuse(slow, func(o *tokensource.ReuseOptions) {
		o.Margin = 5 * time.Minute
	})
	for range 3 {
		if _, err := src.Token(context.Background()); err != nil {
			panic(err)
		}
	}
	fmt.Println("fetches:", fetches.Load())
	fmt.Println(src) // never prints the token
	// Output:
	// fetches: 1
	// tokensource.Reuse(tokensource.Func)
}

// An OpenID Connect ID token from an oauth2.TokenSource, such as the one
// oauth2.Config.TokenSource returns after a login.
func ExampleFromOAuth2() {
	ts := oauth2.StaticTokenSource((&oauth2.Token{AccessToken: "opaque"}).
		WithExtra(map[string]any{"id_token": exampleJWT}))

	tok, err := tokensource.FromOAuth2(ts).Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("ID token:", tok.Value == exampleJWT, tok.Expiry.Format(time.RFC3339))

	access, err := tokensource.FromOAuth2(ts, func(o *tokensource.OAuth2Options) {
		o.UseAccessToken = true
	}).Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("access token:", access.Value == "opaque")
	// Output:
	// ID token: true 2100-01-01T00:00:00Z
	// access token: true
}

func ExampleParseExpiry() {
	exp, err := tokensource.ParseExpiry(exampleJWT)
	fmt.Println(exp, err)

	_, err = tokensource.ParseExpiry("opaque-access-token")
	fmt.Println(err)
	// Output:
	// 2100-01-01 00:00:00 +0000 UTC <nil>
	// tokensource: not a JWT: want three dot-separated segments
}
