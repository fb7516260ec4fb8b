package tokensource_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/testhook"
	"github.com/awsoidc/awsoidc/tokensource"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the fake time every test starts at.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// makeJWT returns an unsigned-looking JWT whose claims set is the given JSON
// text. The signature segment is junk: nothing here verifies it.
func makeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

// jwtExp returns a JWT that expires at exp.
func jwtExp(exp time.Time) string {
	return makeJWT(`{"iss":"https://issuer.example","sub":"system:serviceaccount:ns:sa","aud":"sts.amazonaws.com","exp":` +
		itoa(exp.Unix()) + `}`)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func tempPath(t *testing.T, name string) string { return filepath.Join(t.TempDir(), name) }

// fileOn is tokensource.File with its retries timed by fake.
func fileOn(fake *clock.Fake, path string, optFns ...func(*tokensource.FileOptions)) tokensource.Source {
	src := tokensource.File(path, optFns...)
	testhook.SetClock(src, fake)
	return src
}

// autoAdvance fires, for the rest of the test, every timer that code under
// test sleeps on, by moving fake to the earliest deadline each time one is
// waiting. Tests that only care about the outcome of a retry loop use it
// instead of scripting each step.
func autoAdvance(t *testing.T, fake *clock.Fake) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for fake.WaitForTimers(ctx, 1) == nil {
			if next, ok := fake.NextDeadline(); ok {
				fake.Set(next)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-finished })
}

type result struct {
	tok tokensource.Token
	err error
}

// tokenAsync calls src.Token(ctx) in a goroutine.
func tokenAsync(ctx context.Context, src tokensource.Source) <-chan result {
	c := make(chan result, 1)
	go func() {
		tok, err := src.Token(ctx)
		c <- result{tok, err}
	}()
	return c
}

// tokenNoWait calls src.Token and fails the test if the source sleeps on fake
// instead of returning at once.
func tokenNoWait(t *testing.T, src tokensource.Source, fake *clock.Fake) (tokensource.Token, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := tokenAsync(ctx, src)
	waited := make(chan error, 1)
	go func() { waited <- fake.WaitForTimers(ctx, 1) }()
	select {
	case r := <-done:
		cancel()
		<-waited
		return r.tok, r.err
	case <-waited:
		cancel()
		<-done
		t.Fatal("the source slept on the clock; want an immediate result")
		return tokensource.Token{}, nil
	}
}
