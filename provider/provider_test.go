package provider_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
)

func TestRetrieveSendsEveryParameter(t *testing.T) {
	fake := newFake()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	arns := []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/team/Mine"}
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken), func(o *provider.Options) {
		o.RoleSessionName = "my-session"
		o.Duration = 2*time.Hour + 500*time.Millisecond
		o.Policy = policy
		o.PolicyARNs = arns
		o.ProviderID = "www.amazon.com"
		o.MinimumSessionTokenSize = 2048
	})
	if err != nil {
		t.Fatal(err)
	}
	arns[0] = "changed after New" // the provider keeps its own copy
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := fake.input(0)
	got := fmt.Sprintf("%s|%s|%s|%d|%s|%s|%d", aws.ToString(in.RoleArn), aws.ToString(in.RoleSessionName), aws.ToString(in.WebIdentityToken),
		aws.ToInt32(in.DurationSeconds), aws.ToString(in.Policy), aws.ToString(in.ProviderId), aws.ToInt32(in.MinimumSessionTokenSize))
	want := fmt.Sprintf("%s|my-session|%s|7200|%s|www.amazon.com|2048", testRole, secretToken, policy)
	if got != want {
		t.Errorf("input = %s\nwant    %s", got, want)
	}
	if len(in.PolicyArns) != 2 || aws.ToString(in.PolicyArns[0].Arn) != "arn:aws:iam::aws:policy/ReadOnlyAccess" ||
		aws.ToString(in.PolicyArns[1].Arn) != "arn:aws:iam::123456789012:policy/team/Mine" {
		t.Errorf("PolicyArns = %+v", in.PolicyArns)
	}
	if _, nop := fake.options[0].Retryer.(aws.NopRetryer); !nop {
		t.Errorf("per-call Retryer = %T, want aws.NopRetryer (the provider owns retries)", fake.options[0].Retryer)
	}
}

func TestRetrieveOmitsUnsetParameters(t *testing.T) {
	fake := newFake()
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := fake.input(0)
	if in.DurationSeconds != nil || in.Policy != nil || in.PolicyArns != nil || in.ProviderId != nil || in.MinimumSessionTokenSize != nil {
		t.Errorf("unset options sent: %+v", in)
	}
	if got := aws.ToString(in.RoleSessionName); got != "system-serviceaccount-prod-billing" {
		t.Errorf("default RoleSessionName = %q, want the sanitized sub", got)
	}
}

// TestRetrieveDefaultSessionNameNotPersonal: a subject that is not a known
// workload identity (a person's email, user name or opaque ID) never reaches
// the session name, which STS writes to CloudTrail; the host name does.
func TestRetrieveDefaultSessionNameNotPersonal(t *testing.T) {
	host, _ := os.Hostname()
	want := provider.DefaultSessionName("", host)
	for _, sub := range []string{"110169484474386276334", "00u1a2b3c4d5e6f7g8h9", "alice", "jane.doe@example.com"} {
		fake := newFake()
		p, err := provider.New(fake.client(), testRole, newTokens(jwt(map[string]any{"sub": sub})))
		if err != nil {
			t.Fatal(err)
		}
		_, md, err := retrieveMD(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(fake.input(0).RoleSessionName); got != want || md.RoleSessionName != want {
			t.Errorf("subject %q: RoleSessionName = %q (metadata %q), want the host's %q", sub, got, md.RoleSessionName, want)
		}
	}
}

func TestRetrieveCredentialsAndMetadata(t *testing.T) {
	fake := newFake()
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken), func(o *provider.Options) { o.RoleSessionName = "s1" })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.LastMetadata(); ok {
		t.Fatal("LastMetadata() before Retrieve: ok = true")
	}
	creds, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	wantCreds := aws.Credentials{
		AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "SECRET-ACCESS-KEY-VALUE", SessionToken: "SESSION-TOKEN-VALUE",
		Source: provider.ProviderName, CanExpire: true, Expires: t0.Add(time.Hour), AccountID: testAccount,
	}
	if creds != wantCreds {
		t.Errorf("credentials = %+v\nwant %+v", creds, wantCreds)
	}
	wantMD := provider.Metadata{
		AssumedRoleARN: "arn:aws:sts::123456789012:assumed-role/test-role/s1", AssumedRoleID: "AROAEXAMPLE:s1",
		SubjectFromWebIdentityToken: "system:serviceaccount:prod:billing", Audience: "sts.amazonaws.com",
		Provider: "https://issuer.example", SourceIdentity: "source-id", PackedPolicyPercent: 7, Expires: t0.Add(time.Hour),
		STSExpiration: t0.Add(time.Hour), SessionTokenSize: 420, SessionTokenUtilization: 12,
		RoleSessionName: "s1", Attempts: 1,
	}
	if md != wantMD {
		t.Errorf("metadata = %+v\nwant %+v", md, wantMD)
	}
	if last, ok := p.LastMetadata(); !ok || last != md {
		t.Errorf("LastMetadata() = %+v, %v", last, ok)
	}
	if got := p.ProviderSources(); len(got) != 1 || got[0] != aws.CredentialSourceSTSAssumeRoleWebID {
		t.Errorf("ProviderSources() = %v", got)
	}
	var _ aws.CredentialsProvider = p
	var _ aws.CredentialProviderSource = p
}

func TestRetrieveRejectsAnswerWithoutCredentials(t *testing.T) {
	for name, mutate := range map[string]func(*sts.AssumeRoleWithWebIdentityOutput){
		"no credentials":  func(o *sts.AssumeRoleWithWebIdentityOutput) { o.Credentials = nil },
		"no expiration":   func(o *sts.AssumeRoleWithWebIdentityOutput) { o.Credentials.Expiration = nil },
		"no secret":       func(o *sts.AssumeRoleWithWebIdentityOutput) { o.Credentials.SecretAccessKey = nil },
		"no session":      func(o *sts.AssumeRoleWithWebIdentityOutput) { o.Credentials.SessionToken = aws.String("") },
		"no access key":   func(o *sts.AssumeRoleWithWebIdentityOutput) { o.Credentials.AccessKeyId = nil },
		"no assumed user": nil,
	} {
		t.Run(name, func(t *testing.T) {
			fake := newFake(func(in *sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
				out, _ := ok(in)
				if mutate == nil {
					out.AssumedRoleUser = nil
				} else {
					mutate(out)
				}
				return out, nil
			})
			p, err := provider.New(fake.client(), testRole, newTokens(secretToken))
			if err != nil {
				t.Fatal(err)
			}
			creds, err := p.Retrieve(context.Background())
			if mutate == nil {
				if err != nil || creds.AccountID != "" {
					t.Fatalf("without AssumedRoleUser: %+v, %v; want credentials without AccountID", creds, err)
				}
				return
			}
			if re := mustRetrieveError(t, err); re.Class != provider.ClassPermanent || fake.calls() != 1 {
				t.Fatalf("error %v class %s after %d calls", err, re.Class, fake.calls())
			}
		})
	}
}

// TestRetrieveErrorClasses runs every STS error code through the retry
// policy and checks the class, the number of STS calls, the token fetches and
// that the SDK's error stays reachable.
func TestRetrieveErrorClasses(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		class     provider.Class
		code      string
		calls     int // with MaxAttempts 3
		tokens    int
		retryable bool
		target    any // pointer for errors.As
		msg       string
	}{
		{"IDPCommunicationError", idpErr(), provider.ClassTransient, "IDPCommunicationError", 3, 1, true, new(*types.IDPCommunicationErrorException), "verification key"},
		{"Throttling", generic(400, "Throttling", "Rate exceeded"), provider.ClassTransient, "Throttling", 3, 1, true, new(smithy.APIError), "Rate exceeded"},
		{"InternalFailure 500", generic(500, "InternalFailure", "oops"), provider.ClassTransient, "InternalFailure", 3, 1, true, new(smithy.APIError), "oops"},
		{"ServiceUnavailable 503", generic(503, "ServiceUnavailable", "later"), provider.ClassTransient, "ServiceUnavailable", 3, 1, true, new(*smithyhttp.ResponseError), "later"},
		{"unknown code 502", generic(502, "BadGateway", "proxy"), provider.ClassTransient, "BadGateway", 3, 1, true, new(smithy.APIError), "proxy"},
		{"transport", &smithyhttp.RequestSendError{Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, provider.ClassTransient, "", 3, 1, true, new(*smithyhttp.RequestSendError), "connection refused"},
		{"malformed answer", &smithy.DeserializationError{Err: errors.New("unexpected EOF")}, provider.ClassTransient, "", 3, 1, true, new(*smithy.DeserializationError), "unexpected EOF"},
		{"ExpiredToken", apiError(400, &types.ExpiredTokenException{Message: aws.String("Token expired: current date/time 1 must be before the expiration date/time 0")}), provider.ClassTokenRejected, "ExpiredTokenException", 2, 2, false, new(*types.ExpiredTokenException), "Token expired"},
		{"InvalidIdentityToken", apiError(400, &types.InvalidIdentityTokenException{Message: aws.String("No OpenIDConnect provider found in your account")}), provider.ClassTokenRejected, "InvalidIdentityToken", 2, 2, false, new(*types.InvalidIdentityTokenException), "No OpenIDConnect provider"},
		// STS could not fetch the IdP's JWKS: an outage, retried like
		// IDPCommunicationError, without a fresh token.
		{"InvalidIdentityToken, verification key unavailable", keyErr(), provider.ClassTransient, "InvalidIdentityToken", 3, 1, true, new(*types.InvalidIdentityTokenException), "an outage rather than a bad token"},
		{"InvalidIdentityToken, verification key unavailable, other case", apiError(400, &types.InvalidIdentityTokenException{Message: aws.String(" COULDN'T RETRIEVE VERIFICATION KEY from your identity provider")}), provider.ClassTransient, "InvalidIdentityToken", 3, 1, true, new(*types.InvalidIdentityTokenException), "jwks_uri"},
		{"InvalidIdentityToken, verification key mentioned later", apiError(400, &types.InvalidIdentityTokenException{Message: aws.String("Token rejected: couldn't retrieve verification key for kid abc")}), provider.ClassTokenRejected, "InvalidIdentityToken", 2, 2, false, new(*types.InvalidIdentityTokenException), "could not verify the token"},
		{"IDPRejectedClaim", apiError(403, &types.IDPRejectedClaimException{Message: aws.String("Incorrect token audience")}), provider.ClassPermanent, "IDPRejectedClaim", 1, 1, false, new(*types.IDPRejectedClaimException), "trust policy rejected"},
		{"MalformedPolicyDocument", apiError(400, &types.MalformedPolicyDocumentException{Message: aws.String("Syntax errors in policy")}), provider.ClassPermanent, "MalformedPolicyDocument", 1, 1, false, new(*types.MalformedPolicyDocumentException), "fix Options.Policy"},
		{"PackedPolicyTooLarge", apiError(400, &types.PackedPolicyTooLargeException{Message: aws.String("Packed policy consumes 107% of allotted space, please use smaller policy.")}), provider.ClassPermanent, "PackedPolicyTooLarge", 1, 1, false, new(*types.PackedPolicyTooLargeException), "use 107% of the packed size limit"},
		{"RegionDisabled", apiError(403, &types.RegionDisabledException{Message: aws.String("STS is not activated in this region")}), provider.ClassPermanent, "RegionDisabledException", 1, 1, false, new(*types.RegionDisabledException), "activate STS"},
		{"AccessDenied", generic(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"), provider.ClassPermanent, "AccessDenied", 1, 1, false, new(smithy.APIError), "Not authorized"},
		{"ValidationError", generic(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."), provider.ClassPermanent, "ValidationError", 1, 1, false, new(smithy.APIError), "MaxSessionDuration"},
		{"JWTPayloadSizeExceeded", apiError(400, &types.JWTPayloadSizeExceededException{Message: aws.String("too big")}), provider.ClassPermanent, "JWTPayloadSizeExceededException", 1, 1, false, new(*types.JWTPayloadSizeExceededException), "too big"},
		{"MinIO InvalidParameterValue", generic(400, "InvalidParameterValue", "Role arn:minio:iam:::role/x does not exist (MinIO specific detail)"), provider.ClassPermanent, "InvalidParameterValue", 1, 1, false, new(smithy.APIError), "Role arn:minio:iam:::role/x does not exist (MinIO specific detail)"},
		{"plain error", errors.New("something odd"), provider.ClassPermanent, "", 1, 1, false, nil, "something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(fail(tt.err))
			src := newTokens(secretToken, jwt(map[string]any{"sub": "second"}))
			p, err := provider.New(fake.client(), testRole, src, noWait, func(o *provider.Options) { o.MaxAttempts = 3 })
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Retrieve(context.Background())
			re := mustRetrieveError(t, err)
			if re.Class != tt.class || re.Code != tt.code {
				t.Errorf("class %s code %q, want %s %q", re.Class, re.Code, tt.class, tt.code)
			}
			if fake.calls() != tt.calls || re.Attempts != tt.calls || src.calls() != tt.tokens {
				t.Errorf("STS calls %d (Attempts %d), token fetches %d; want %d, %d", fake.calls(), re.Attempts, src.calls(), tt.calls, tt.tokens)
			}
			if provider.IsRetryable(err) != tt.retryable || provider.IsRetryable(tt.err) != tt.retryable {
				t.Errorf("IsRetryable(err) = %v, IsRetryable(sdk error) = %v, want %v", provider.IsRetryable(err), provider.IsRetryable(tt.err), tt.retryable)
			}
			if tt.target != nil && !errors.As(err, tt.target) {
				t.Errorf("errors.As(err, %T) = false; err = %v", tt.target, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "provider: assume role "+testRole+": ") || !strings.Contains(msg, tt.msg) || !strings.Contains(msg, string(tt.class)) {
				t.Errorf("Error() = %q, want the prefix, %q and the class", msg, tt.msg)
			}
			if strings.Contains(msg, secretToken) || strings.Contains(formats(err), "S3CR3T") {
				t.Errorf("error shows the token: %q", msg)
			}
			if tt.code == "PackedPolicyTooLarge" && re.PackedPolicyPercent != 107 {
				t.Errorf("PackedPolicyPercent = %d, want 107", re.PackedPolicyPercent)
			}
		})
	}
}

// TestRetrieveIDPCommunicationErrorThreeTimes is the acceptance case of the
// foundation issue: three IDPCommunicationErrors, then success, within one
// Retrieve and at most 6 requests.
func TestRetrieveIDPCommunicationErrorThreeTimes(t *testing.T) {
	fake := newFake(append(repeat(3, fail(idpErr())), ok)...)
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken), noWait)
	if err != nil {
		t.Fatal(err)
	}
	_, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatalf("first Retrieve: %v", err)
	}
	if n := fake.calls(); n != 4 || md.Attempts != 4 {
		t.Fatalf("STS calls = %d (metadata %d), want 4 (3 failures + 1 success, the limit is 6)", n, md.Attempts)
	}
}

func TestRetrieveRefreshesTokenOnce(t *testing.T) {
	second := jwt(map[string]any{"sub": "system:serviceaccount:prod:second"})
	expired := fail(apiError(400, &types.ExpiredTokenException{Message: aws.String("Token expired")}))
	fake := newFake(expired, ok)
	src := newTokens(secretToken, second)
	p, err := provider.New(fake.client(), testRole, src)
	if err != nil {
		t.Fatal(err)
	}
	_, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if fake.calls() != 2 || src.calls() != 2 || !md.TokenRefreshed || md.Attempts != 2 {
		t.Fatalf("calls %d, token fetches %d, metadata %+v", fake.calls(), src.calls(), md)
	}
	if got := aws.ToString(fake.input(1).WebIdentityToken); got != second {
		t.Fatal("the retry did not send the fresh token")
	}
	if got := aws.ToString(fake.input(1).RoleSessionName); got != "system-serviceaccount-prod-second" {
		t.Fatalf("the retry's default session name = %q, want the fresh token's subject", got)
	}
}

func TestRetrieveRefreshDoesNotCountAgainstMaxAttempts(t *testing.T) {
	invalid := fail(apiError(400, &types.InvalidIdentityTokenException{Message: aws.String("The ID Token provided is not a valid JWT.")}))
	fake := newFake(invalid, fail(idpErr()), fail(idpErr()), ok)
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken), noWait, func(o *provider.Options) { o.MaxAttempts = 3 })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatalf("Retrieve after a refresh and 2 transient errors: %v", err)
	}
	if fake.calls() != 4 {
		t.Fatalf("STS calls = %d, want 4", fake.calls())
	}
	// With one transient error more, MaxAttempts 3 (+1 refresh) is spent.
	fake = newFake(invalid, fail(idpErr()), fail(idpErr()), fail(idpErr()), ok)
	p, _ = provider.New(fake.client(), testRole, newTokens(secretToken), noWait, func(o *provider.Options) { o.MaxAttempts = 3 })
	_, err = p.Retrieve(context.Background())
	if re := mustRetrieveError(t, err); re.Class != provider.ClassTransient || re.Attempts != 4 || !re.TokenRefreshed {
		t.Fatalf("error %#v", err)
	}
}

func TestRetrieveMaxAttemptsOneDisablesRetries(t *testing.T) {
	fake := newFake(fail(idpErr()), ok)
	p, _ := provider.New(fake.client(), testRole, newTokens(secretToken), func(o *provider.Options) { o.MaxAttempts = 1 })
	if _, err := p.Retrieve(context.Background()); !provider.IsRetryable(err) || fake.calls() != 1 {
		t.Fatalf("Retrieve() = %v after %d calls, want a retryable error after 1", err, fake.calls())
	}
}

func TestRetrieveTokenSourceError(t *testing.T) {
	fake := newFake()
	srcErr := errors.New("token file missing")
	p, err := provider.New(fake.client(), testRole, sourceFunc(func(context.Context) (string, error) { return "", srcErr }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(context.Background())
	re := mustRetrieveError(t, err)
	if re.Class != provider.ClassTokenSource || !errors.Is(err, srcErr) || fake.calls() != 0 || provider.IsRetryable(err) {
		t.Fatalf("error %v class %s, %d calls", err, re.Class, fake.calls())
	}

	// A failing refresh after ExpiredToken reports the source's error.
	n := 0
	fake = newFake(fail(apiError(400, &types.ExpiredTokenException{Message: aws.String("expired")})))
	p, _ = provider.New(fake.client(), testRole, sourceFunc(func(context.Context) (string, error) {
		if n++; n > 1 {
			return "", srcErr
		}
		return secretToken, nil
	}))
	_, err = p.Retrieve(context.Background())
	if re := mustRetrieveError(t, err); re.Class != provider.ClassTokenSource || !errors.Is(err, srcErr) || fake.calls() != 1 || !re.TokenRefreshed {
		t.Fatalf("refresh failure: %#v", err)
	}
}

// TestRetryTimingOnFakeClock checks the backoff schedule: capped
// exponential ceilings 1s, 2s, 4s, 4s with the jitter in the middle, on a
// fake clock, without sleeping, for each kind of transient error; throttling
// has its own cap, at least 20 s, so its fourth ceiling is 8 s.
func TestRetryTimingOnFakeClock(t *testing.T) {
	s := time.Second
	for name, tc := range map[string]struct {
		err  error
		want []time.Duration
	}{
		"Throttling":            {generic(400, "Throttling", "slow down"), []time.Duration{s / 2, s, 2 * s, 4 * s}},
		"IDPCommunicationError": {idpErr(), []time.Duration{s / 2, s, 2 * s, 2 * s}},
		"InvalidIdentityToken, verification key unavailable": {keyErr(), []time.Duration{s / 2, s, 2 * s, 2 * s}},
	} {
		t.Run(name, func(t *testing.T) { testRetryTiming(t, tc.err, tc.want) })
	}
}

func testRetryTiming(t *testing.T, transient error, wants []time.Duration) {
	clk := clock.NewFake(t0)
	src := newTokens(secretToken)
	fake := newFake(append(repeat(4, fail(transient)), ok)...)
	p, err := provider.New(fake.client(), testRole, src, func(o *provider.Options) {
		o.Clock = clk
		o.MaxAttempts = 5
		o.MinBackoff = time.Second
		o.MaxBackoff = 4 * time.Second
		o.Rand = func() float64 { return 0.5 }
	})
	if err != nil {
		t.Fatal(err)
	}
	done := retrieveAsync(context.Background(), p)
	// A bound on real time, only for a provider that never waits.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var total time.Duration
	for i, want := range wants {
		total += want
		if err := clk.WaitForTimers(ctx, 1); err != nil {
			t.Fatalf("waiting for backoff %d (after %d calls): %v", i, fake.calls(), err)
		}
		next, _ := clk.NextDeadline()
		if got := next.Sub(clk.Now()); got != want {
			t.Errorf("delay %d = %s, want %s", i, got, want)
		}
		if got := fake.calls(); got != i+1 {
			t.Errorf("calls before delay %d = %d, want %d", i, got, i+1)
		}
		clk.Advance(want)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(t0); got != total {
		t.Errorf("total backoff = %s, want %s", got, total)
	}
	if src.calls() != 1 {
		t.Errorf("token fetches = %d, want 1: a transient error needs no fresh token", src.calls())
	}
}

// TestRetrieveCanceledDuringBackoff cancels the caller's context while the
// provider waits between attempts: Retrieve returns at once, without
// another call, and the error keeps both causes.
func TestRetrieveCanceledDuringBackoff(t *testing.T) {
	clk := clock.NewFake(t0)
	fake := newFake(fail(idpErr()), ok)
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken), func(o *provider.Options) { o.Clock = clk })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := retrieveAsync(ctx, p)
	if err := clk.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err = <-done // returns without the clock moving
	re := mustRetrieveError(t, err)
	if re.Class != provider.ClassCanceled || !errors.Is(err, context.Canceled) || fake.calls() != 1 || provider.IsRetryable(err) {
		t.Fatalf("error %v, class %s, %d calls", err, re.Class, fake.calls())
	}
	var idp *types.IDPCommunicationErrorException
	if !errors.As(err, &idp) {
		t.Errorf("the last STS error is not reachable: %v", err)
	}
	if clk.Timers() != 0 {
		t.Errorf("%d timers left running", clk.Timers())
	}
}

// TestRetrieveGivesUpBeforeDeadline: when the caller's deadline comes
// before the next attempt could, Retrieve returns the transient error at
// once, without waiting for the deadline.
func TestRetrieveGivesUpBeforeDeadline(t *testing.T) {
	clk := clock.NewFake(t0)
	fake := newFake(fail(idpErr()), ok)
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken), func(o *provider.Options) {
		o.Clock = clk
		o.MinBackoff, o.MaxBackoff = 4*time.Minute, 4*time.Minute
		o.Rand = func() float64 { return 0.5 }
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = p.Retrieve(ctx)
	re := mustRetrieveError(t, err)
	if re.Class != provider.ClassTransient || !provider.IsRetryable(err) || fake.calls() != 1 || clk.Timers() != 0 {
		t.Fatalf("error %v, class %s, %d calls, %d timers", err, re.Class, fake.calls(), clk.Timers())
	}
}

func TestRetrieveNilAnswer(t *testing.T) {
	fake := newFake(func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return nil, nil
	})
	p, _ := provider.New(fake.client(), testRole, newTokens(secretToken))
	if _, err := p.Retrieve(context.Background()); mustRetrieveError(t, err).Class != provider.ClassPermanent {
		t.Fatalf("nil answer: %v", err)
	}
}

func TestRetrieveCanceledBeforeAndDuringCall(t *testing.T) {
	fake := newFake()
	p, _ := provider.New(fake.client(), testRole, newTokens(secretToken))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Retrieve(ctx)
	if re := mustRetrieveError(t, err); re.Class != provider.ClassCanceled || fake.calls() != 0 {
		t.Fatalf("canceled before: %v, %d calls", err, fake.calls())
	}

	ctx, cancel = context.WithCancel(context.Background())
	fake = newFake(func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		cancel() // the caller gives up while the request is in flight
		return nil, &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity", Err: &smithyhttp.RequestSendError{Err: context.Canceled}}
	})
	p, _ = provider.New(fake.client(), testRole, newTokens(secretToken))
	_, err = p.Retrieve(ctx)
	if re := mustRetrieveError(t, err); re.Class != provider.ClassCanceled || fake.calls() != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled during: %v, %d calls", err, fake.calls())
	}
}

func TestRetrieveConcurrent(t *testing.T) {
	fake := newFake()
	p, _ := provider.New(fake.client(), testRole, newTokens(secretToken))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Retrieve(context.Background()); err != nil {
				t.Error(err)
			}
			p.LastMetadata()
		}()
	}
	wg.Wait()
	if fake.calls() != 8 {
		t.Fatalf("calls = %d, want 8 (the provider does not cache)", fake.calls())
	}
}

// sourceFunc adapts a function returning a token value to a source.
type sourceFunc func(context.Context) (string, error)

func (f sourceFunc) Token(ctx context.Context) (tok tokenT, err error) {
	tok.Value, err = f(ctx)
	return tok, err
}
