package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestTokenSourceHints checks that a failing token source of each kind
// gives a RetrieveError of class token-source whose message says what to
// check for that kind of source, and that no STS call is made.
func TestTokenSourceHints(t *testing.T) {
	for source, hint := range map[string]string{
		"file":           "check that the web identity token file exists",
		"env":            "set the environment variable",
		"github-actions": "permissions: id-token: write",
		"gcp":            "metadata server (169.254.169.254, or GCE_METADATA_HOST)",
		"azure":          "IDENTITY_ENDPOINT and IDENTITY_HEADER",
		"exec":           "run the command by hand",
		"spiffe":         "SPIFFE_ENDPOINT_SOCKET",
		"detect":         "choose a source explicitly",
		"retriever":      "the token source failed: see its error",
	} {
		t.Run(source, func(t *testing.T) {
			cause := &tokensource.Error{Source: source, Name: "x", Err: tokensource.ErrEmpty}
			err := retrieveWith(t, tokensource.Func(func(context.Context) (tokensource.Token, error) {
				return tokensource.Token{}, cause
			}))
			checkHint(t, err, hint)
			if !errors.Is(err, cause) {
				t.Errorf("the source's error is not in the chain of %v", err)
			}
		})
	}
}

// TestGitHubActionsHintByCause checks that the permission hint is given
// when the variables are missing or the endpoint denies the request (401,
// 403), and not when the endpoint fails otherwise.
func TestGitHubActionsHintByCause(t *testing.T) {
	const permission, failed = "permissions: id-token: write", "the token request to GitHub (ACTIONS_ID_TOKEN_REQUEST_URL) failed"
	for name, c := range map[string]struct {
		cause error
		hint  string
	}{
		"unset":     {tokensource.ErrEmpty, permission},
		"401":       {&tokensource.StatusError{StatusCode: 401}, permission},
		"403":       {&tokensource.StatusError{StatusCode: 403}, permission},
		"503":       {&tokensource.StatusError{StatusCode: 503}, failed},
		"429":       {&tokensource.StatusError{StatusCode: 429}, failed},
		"transport": {errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), failed},
	} {
		t.Run(name, func(t *testing.T) {
			err := retrieveWith(t, tokensource.Func(func(context.Context) (tokensource.Token, error) {
				return tokensource.Token{}, &tokensource.Error{Source: "github-actions", Err: c.cause}
			}))
			checkHint(t, err, c.hint)
			other := map[string]string{permission: failed, failed: permission}[c.hint]
			if strings.Contains(err.Error(), other) {
				t.Errorf("%q also has the other hint %q", err, other)
			}
		})
	}
}

// TestGitHubActionsHintFromTheRealSource checks the hint on the error of
// the real GitHubActions source in a job without the permission (the
// runner's variables unset).
func TestGitHubActionsHintFromTheRealSource(t *testing.T) {
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
	err := retrieveWith(t, tokensource.GitHubActions(""))
	checkHint(t, err, "grant the job the permission id-token: write")
	if !errors.Is(err, tokensource.ErrEmpty) {
		t.Errorf("%v does not wrap tokensource.ErrEmpty", err)
	}
}

// retrieveWith returns the error of a Retrieve whose token source is src,
// with an STS client that fails the test when called.
func retrieveWith(t *testing.T, src tokensource.Source) error {
	t.Helper()
	return retrieveWithCtx(t, context.Background(), src)
}

// retrieveWithCtx is retrieveWith with the caller's ctx.
func retrieveWithCtx(t *testing.T, ctx context.Context, src tokensource.Source) error {
	t.Helper()
	stsCalled := provider.STSClientFunc(func(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		t.Error("STS was called although the token source failed")
		return nil, errors.New("unexpected call")
	})
	p, err := provider.New(stsCalled, "arn:aws:iam::123456789012:role/r", src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(ctx)
	if err == nil {
		t.Fatal("Retrieve succeeded with a failing token source")
	}
	return err
}

// checkHint checks that err is a RetrieveError of class token-source whose
// message holds hint.
func checkHint(t *testing.T, err error, hint string) {
	t.Helper()
	var re *provider.RetrieveError
	if !errors.As(err, &re) || re.Class != provider.ClassTokenSource {
		t.Fatalf("%v: want a RetrieveError of class %s", err, provider.ClassTokenSource)
	}
	if !strings.Contains(err.Error(), hint) {
		t.Errorf("%q lacks the hint %q", err, hint)
	}
}

// TestDeadlineHintNamesTheStage checks that a deadline that passes while the
// token source works says so, rather than blaming STS.
func TestDeadlineHintNamesTheStage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := retrieveWithCtx(t, ctx, tokensource.Func(func(context.Context) (tokensource.Token, error) {
		cancel() // the caller's deadline passes while the source works
		return tokensource.Token{}, &tokensource.Error{Source: "gcp", Name: "http://metadata.google.internal/", Err: context.DeadlineExceeded}
	}))
	var re *provider.RetrieveError
	if !errors.As(err, &re) || re.Class != provider.ClassCanceled {
		t.Fatalf("%v: want class %s", err, provider.ClassCanceled)
	}
	if msg := err.Error(); !strings.Contains(msg, "the deadline passed before the token source answered") || strings.Contains(msg, "before STS answered") {
		t.Errorf("%q: want the token source named as the stage that outlived the deadline", msg)
	}
}
