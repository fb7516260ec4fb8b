package tokenid

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/awsoidc/awsoidc/tokensource"
)

// fileLike is a source whose value the test swaps, as a CI runner swaps the
// token file between jobs.
type fileLike struct {
	mu    sync.Mutex
	value string
	reads int
}

func (f *fileLike) set(v string) { f.mu.Lock(); f.value = v; f.mu.Unlock() }

func (f *fileLike) Token(context.Context) (tokensource.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return tokensource.Token{Value: f.value}, nil
}

func (f *fileLike) String() string { return `tokensource.File("/run/token")` }

func TestPinRefusesAnotherIdentity(t *testing.T) {
	jobA := makeJWT(map[string]any{"iss": "https://ci", "sub": "repo:a", "aud": "sts.amazonaws.com", "exp": 100})
	jobARotated := makeJWT(map[string]any{"iss": "https://ci", "sub": "repo:a", "aud": "sts.amazonaws.com", "exp": 200})
	jobB := makeJWT(map[string]any{"iss": "https://ci", "sub": "repo:b", "aud": "sts.amazonaws.com", "exp": 200})
	src := &fileLike{value: jobA}
	p := Pin(src)
	ctx := t.Context()

	id, err := p.Identity(ctx)
	if err != nil || id != Of(jobA) {
		t.Fatalf("Identity = %q, %v; want job A's", id, err)
	}
	// The token read to pin is served next, without reading again.
	src.set(jobB)
	if tok, err := p.Token(ctx); err != nil || tok.Value != jobA || src.reads != 1 {
		t.Fatalf("first Token = %v, %v after %d reads; want job A's token from the pinning read", tok, err, src.reads)
	}
	// Then every read is checked.
	_, err = p.Token(ctx)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("Token with job B's token = %v, want a *MismatchError", err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, err); strings.Contains(s, jobB) || strings.Contains(s, "repo:b") || !strings.Contains(s, "/run/token") {
			t.Errorf("%s of the error = %q: must name the source, never the token or its claims", verb, s)
		}
	}
	// A rotated token of the same identity is accepted.
	src.set(jobARotated)
	if tok, err := p.Token(ctx); err != nil || tok.Value != jobARotated {
		t.Fatalf("rotated token = %v, %v", tok, err)
	}
	if id, _ := p.Identity(ctx); id != Of(jobA) {
		t.Errorf("Identity after a refusal moved to %q", id)
	}
}

func TestPinTo(t *testing.T) {
	jobA := makeJWT(map[string]any{"iss": "https://ci", "sub": "repo:a"})
	jobB := makeJWT(map[string]any{"iss": "https://ci", "sub": "repo:b"})
	src := &fileLike{value: jobB} // already swapped after the caller read job A's token
	p := PinTo(src, tokensource.Token{Value: jobA})
	if id, err := p.Identity(t.Context()); err != nil || id != Of(jobA) || src.reads != 0 {
		t.Fatalf("Identity = %q, %v after %d reads", id, err, src.reads)
	}
	if tok, err := p.Token(t.Context()); err != nil || tok.Value != jobA {
		t.Fatalf("first Token = %v, %v; want the token pinned to", tok, err)
	}
	var me *MismatchError
	if _, err := p.Token(t.Context()); !errors.As(err, &me) {
		t.Fatalf("second Token = %v, want a *MismatchError", err)
	}
}

func TestPinSourceError(t *testing.T) {
	boom := errors.New("no such file")
	p := Pin(tokensource.Func(func(context.Context) (tokensource.Token, error) { return tokensource.Token{}, boom }))
	if _, err := p.Identity(t.Context()); !errors.Is(err, boom) {
		t.Fatalf("Identity = %v, want the source's error", err)
	}
	if _, err := p.Token(t.Context()); !errors.Is(err, boom) {
		t.Fatalf("Token = %v, want the source's error", err)
	}
}
