package provider_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

const (
	testRole    = "arn:aws:iam::123456789012:role/test-role"
	testAccount = "123456789012"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// jwt returns an unsigned JWT-shaped token with the given claims. Tests of
// the provider never verify signatures; STS (or ststest) does.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

// secretToken is the token of most tests; tests search every output for it.
var secretToken = jwt(map[string]any{"sub": "system:serviceaccount:prod:billing", "exp": t0.Add(time.Hour).Unix(), "nonce": "S3CR3T-T0K3N-VALUE"})

// tokens is a counting token source that returns the given tokens in turn
// (the last one repeats).
type tokens struct {
	mu     sync.Mutex
	values []string
	n      int
}

func newTokens(values ...string) *tokens { return &tokens{values: values} }

func (s *tokens) Token(ctx context.Context) (tokensource.Token, error) {
	if err := ctx.Err(); err != nil {
		return tokensource.Token{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.values[min(s.n, len(s.values)-1)]
	s.n++
	return tokensource.Token{Value: v}, nil
}

func (s *tokens) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// fakeSTS is a scripted STS: call i returns results[i] (the last repeats).
// It records every input and applies every per-call option to an
// sts.Options, as the real client does.
type fakeSTS struct {
	mu      sync.Mutex
	results []func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error)
	inputs  []*sts.AssumeRoleWithWebIdentityInput
	options []sts.Options
}

func newFake(results ...func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error)) *fakeSTS {
	if len(results) == 0 {
		results = append(results, ok)
	}
	return &fakeSTS{results: results}
}

func (f *fakeSTS) client() provider.STSClient { return provider.STSClientFunc(f.call) }

func (f *fakeSTS) call(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	var o sts.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.mu.Lock()
	i := len(f.inputs)
	f.inputs = append(f.inputs, in)
	f.options = append(f.options, o)
	res := f.results[min(i, len(f.results)-1)]
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity", Err: err}
	}
	return res(in)
}

func (f *fakeSTS) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inputs)
}

func (f *fakeSTS) input(i int) *sts.AssumeRoleWithWebIdentityInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[i]
}

// ok answers like STS does for a successful call.
func ok(in *sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return &sts.AssumeRoleWithWebIdentityOutput{
		AssumedRoleUser: &types.AssumedRoleUser{
			Arn:           aws.String("arn:aws:sts::" + testAccount + ":assumed-role/test-role/" + aws.ToString(in.RoleSessionName)),
			AssumedRoleId: aws.String("AROAEXAMPLE:" + aws.ToString(in.RoleSessionName)),
		},
		Audience: aws.String("sts.amazonaws.com"),
		Credentials: &types.Credentials{
			AccessKeyId:     aws.String("ASIAEXAMPLE"),
			SecretAccessKey: aws.String("SECRET-ACCESS-KEY-VALUE"),
			SessionToken:    aws.String("SESSION-TOKEN-VALUE"),
			Expiration:      aws.Time(t0.Add(time.Hour)),
		},
		//lint:ignore SA1019 the provider still reports it.
		PackedPolicySize:            aws.Int32(7), //nolint:staticcheck // SA1019, see above.
		SessionTokenSize:            aws.Int32(420),
		SessionTokenUtilization:     aws.Int32(12),
		Provider:                    aws.String("https://issuer.example"),
		SourceIdentity:              aws.String("source-id"),
		SubjectFromWebIdentityToken: aws.String("system:serviceaccount:prod:billing"),
	}, nil
}

// fail returns a result that fails with err, wrapped as the SDK wraps
// operation errors.
func fail(err error) func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return nil, &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity", Err: err}
	}
}

// apiError returns err as the SDK's HTTP layer wraps an error response.
func apiError(status int, err error) error {
	return &awshttp.ResponseError{
		RequestID: "req-1",
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      err,
		},
	}
}

func generic(status int, code, msg string) error {
	return apiError(status, &smithy.GenericAPIError{Code: code, Message: msg})
}

func idpErr() error {
	return apiError(400, &types.IDPCommunicationErrorException{Message: aws.String("Couldn't retrieve verification key from your identity provider")})
}

// keyErr is the InvalidIdentityToken STS answers when it cannot fetch the
// identity provider's JWKS.
func keyErr() error {
	return apiError(400, &types.InvalidIdentityTokenException{Message: aws.String("Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements")})
}

// repeat returns result n times.
func repeat(n int, result func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error)) []func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	out := make([]func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error), n)
	for i := range out {
		out[i] = result
	}
	return out
}

// noWait makes every retry delay zero: no timers, no clock to drive.
func noWait(o *provider.Options) { o.Rand = func() float64 { return 0 } }

// logBuffer is a concurrency-safe log sink at debug level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// retrieveAsync runs p.Retrieve(ctx) in a goroutine and delivers its error.
func retrieveAsync(ctx context.Context, p *provider.Provider) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := p.Retrieve(ctx)
		done <- err
	}()
	return done
}

// mustRetrieveError asserts that err is a *provider.RetrieveError.
func mustRetrieveError(t *testing.T, err error) *provider.RetrieveError {
	t.Helper()
	var re *provider.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *provider.RetrieveError", err, err)
	}
	return re
}

// formats returns every way a value is commonly printed.
func formats(v any) string {
	return fmt.Sprintf("%v\n%+v\n%#v\n%s\n", v, v, v, v)
}

type tokenT = tokensource.Token

// retrieveMD is Retrieve and the LastMetadata of that very call (each test
// retrieves from one goroutine).
func retrieveMD(ctx context.Context, p *provider.Provider) (aws.Credentials, provider.Metadata, error) {
	creds, err := p.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, provider.Metadata{}, err
	}
	md, ok := p.LastMetadata()
	if !ok {
		return aws.Credentials{}, provider.Metadata{}, errors.New("Retrieve succeeded, but LastMetadata has none")
	}
	return creds, md, nil
}
