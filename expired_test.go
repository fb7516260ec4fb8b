package awsoidc_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// expiredFixture is ststest on a clock the test moves, a cache of
// credentials for one of its roles, and an STS client built by
// config.LoadDefaultConfig that signs GetCallerIdentity with them through
// the middleware of RetryExpired.
type expiredFixture struct {
	srv    *ststest.Server
	skew   atomic.Int64 // nanoseconds the server's clock runs ahead of ours
	cache  *cache.Cache
	client *sts.Client
}

// wirings are the two ways of wiring RetryExpired: as the root options do
// (an aws.CredentialsCache built around the cache and handed to
// LoadDefaultConfig, which keeps it), and as a user who builds their own
// config does (the cache handed to LoadDefaultConfig, which wraps it).
var wirings = []string{"root", "user"}

func newExpiredFixture(t *testing.T, wiring string) *expiredFixture {
	t.Helper()
	f := &expiredFixture{}
	f.srv = ststest.NewServer(func(o *ststest.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(f.skew.Load())) }
	})
	t.Cleanup(f.srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_STS":        f.srv.URL(),
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_PROFILE":                 "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	roleARN := f.srv.AddRole(ststest.Role{Name: "app", Subject: subject})
	src := tokensource.Func(func(context.Context) (tokensource.Token, error) {
		return tokensource.Token{Value: f.srv.MintToken(ststest.Claims{Subject: subject})}, nil
	})
	p, err := provider.New(f.srv.STSClient(), roleARN, src)
	if err != nil {
		t.Fatal(err)
	}
	f.cache = cache.New(p)
	t.Cleanup(func() { _ = f.cache.Close() })
	var opts []func(*config.LoadOptions) error
	var wrapper *aws.CredentialsCache
	switch wiring {
	case "root":
		wrapper = aws.NewCredentialsCache(f.cache)
		opts = append(opts, config.WithCredentialsProvider(wrapper),
			config.WithAPIOptions([]func(*middleware.Stack) error{awsoidc.RetryExpired(wrapper)}))
	case "user":
		opts = append(opts, config.WithCredentialsProvider(f.cache))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), append(opts, config.WithRegion("us-east-1"))...)
	if err != nil {
		t.Fatal(err)
	}
	if wrapper != nil && cfg.Credentials != aws.CredentialsProvider(wrapper) {
		t.Fatalf("LoadDefaultConfig replaced the aws.CredentialsCache it was given by %T", cfg.Credentials)
	}
	if wiring == "user" {
		cfg.APIOptions = append(cfg.APIOptions, awsoidc.RetryExpired(cfg.Credentials))
	}
	f.client = sts.NewFromConfig(cfg)
	return f
}

// call makes one GetCallerIdentity.
func (f *expiredFixture) call() error {
	_, err := f.client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err
}

// expireAtServer moves the server's clock past the expiry of every
// credential set issued so far; the cache, on the test's clock, still
// takes them for fresh, as after a revocation or a skewed clock.
func (f *expiredFixture) expireAtServer() { f.skew.Add(int64(2 * time.Hour)) }

// cachedKey is the access key ID the cache serves.
func (f *expiredFixture) cachedKey(t *testing.T) string {
	t.Helper()
	creds, err := f.cache.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return creds.AccessKeyID
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// A request answered ExpiredToken is retried once, signed with fresh
// credentials: the server takes no credentials it saw expire, and the
// cache made exactly one more STS call.
func TestRetryExpiredRetriesOnceWithFreshCredentials(t *testing.T) {
	for _, wiring := range wirings {
		t.Run(wiring, func(t *testing.T) {
			f := newExpiredFixture(t, wiring)
			if err := f.call(); err != nil {
				t.Fatal(err)
			}
			old := f.cachedKey(t)
			f.expireAtServer()
			gci, arwwi := f.srv.Calls(ststest.ActionGetCallerIdentity), f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
			if err := f.call(); err != nil {
				t.Fatalf("GetCallerIdentity after the server expired the credentials = %v, want a retried success", err)
			}
			if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - gci; got != 2 {
				t.Errorf("GetCallerIdentity requests = %d, want 2 (the expired answer, one retry)", got)
			}
			if got := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - arwwi; got != 1 {
				t.Errorf("STS refreshes = %d, want 1", got)
			}
			if now := f.cachedKey(t); now == old {
				t.Error("the cache still serves the expired credentials")
			}
		})
	}
}

// When the second answer is expired too, it is returned: no retry loop.
func TestRetryExpiredRetriesOnlyOnce(t *testing.T) {
	for _, wiring := range wirings {
		t.Run(wiring, func(t *testing.T) {
			f := newExpiredFixture(t, wiring)
			if err := f.call(); err != nil {
				t.Fatal(err)
			}
			f.srv.Fail(ststest.ActionGetCallerIdentity, ststest.Fault{Code: "ExpiredToken", Times: -1})
			gci := f.srv.Calls(ststest.ActionGetCallerIdentity)
			err := f.call()
			if code := errorCode(err); code != "ExpiredToken" {
				t.Fatalf("GetCallerIdentity = %v, want ExpiredToken", err)
			}
			if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - gci; got != 2 {
				t.Errorf("GetCallerIdentity requests = %d, want 2", got)
			}
		})
	}
}

// Other errors are returned untouched, and the cached credentials kept.
func TestRetryExpiredLeavesOtherErrors(t *testing.T) {
	for _, code := range []string{"AccessDenied", "InvalidClientTokenId", "RequestExpired", "SignatureDoesNotMatch"} {
		t.Run(code, func(t *testing.T) {
			f := newExpiredFixture(t, "root")
			if err := f.call(); err != nil {
				t.Fatal(err)
			}
			before := f.cachedKey(t)
			f.srv.Fail(ststest.ActionGetCallerIdentity, ststest.Fault{Code: code, Status: 403, Times: -1})
			gci, arwwi := f.srv.Calls(ststest.ActionGetCallerIdentity), f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
			err := f.call()
			if got := errorCode(err); got != code {
				t.Fatalf("GetCallerIdentity = %v, want %s", err, code)
			}
			if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - gci; got != 1 {
				t.Errorf("GetCallerIdentity requests = %d, want 1", got)
			}
			if f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) != arwwi || f.cachedKey(t) != before {
				t.Error("the credentials were refreshed")
			}
		})
	}
}

// A request signed with credentials the cache no longer holds does not
// throw away the newer ones: here a client signs with a copy of the first
// credentials while the cache has moved on.
func TestRetryExpiredKeepsNewerCredentials(t *testing.T) {
	f := newExpiredFixture(t, "root")
	old, err := f.cache.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.cache.Invalidate()
	newer := f.cachedKey(t)
	f.expireAtServer()
	wrapper := aws.NewCredentialsCache(f.cache)
	stale := sts.NewFromConfig(f.srv.Config(credentials.StaticCredentialsProvider{Value: old}), func(o *sts.Options) {
		o.APIOptions = append(o.APIOptions, awsoidc.RetryExpired(wrapper))
	})
	arwwi := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
	_, err = stale.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if code := errorCode(err); code != "ExpiredToken" {
		t.Fatalf("GetCallerIdentity with the old credentials = %v, want ExpiredToken", err)
	}
	if f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) != arwwi || f.cachedKey(t) != newer {
		t.Error("the newer credentials were thrown away")
	}
}

// A hundred requests that meet the expired answer at once cause one
// refresh, and all succeed on their retry.
func TestRetryExpiredConcurrentOneRefresh(t *testing.T) {
	for _, wiring := range wirings {
		t.Run(wiring, func(t *testing.T) {
			f := newExpiredFixture(t, wiring)
			if err := f.call(); err != nil {
				t.Fatal(err)
			}
			f.expireAtServer()
			const n = 100
			gci, arwwi := f.srv.Calls(ststest.ActionGetCallerIdentity), f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
			release := f.srv.Hold(ststest.ActionGetCallerIdentity)
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { errs <- f.call() })
			}
			// Every first attempt is at the server, signed with the
			// credentials it now takes for expired; the retries pass the
			// released gate.
			if err := f.srv.WaitCalls(context.Background(), ststest.ActionGetCallerIdentity, gci+n); err != nil {
				t.Fatal(err)
			}
			release()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("GetCallerIdentity = %v", err)
				}
			}
			if got := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - arwwi; got != 1 {
				t.Errorf("STS refreshes = %d, want 1", got)
			}
			if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - gci; got != 2*n {
				t.Errorf("GetCallerIdentity requests = %d, want %d", got, 2*n)
			}
		})
	}
}

// Adding the middleware twice adds it once.
func TestRetryExpiredAddedTwice(t *testing.T) {
	f := newExpiredFixture(t, "root")
	if err := f.call(); err != nil {
		t.Fatal(err)
	}
	f.srv.Fail(ststest.ActionGetCallerIdentity, ststest.Fault{Code: "ExpiredToken", Times: -1})
	gci := f.srv.Calls(ststest.ActionGetCallerIdentity)
	_, err := f.client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.APIOptions = append(o.APIOptions, awsoidc.RetryExpired(o.Credentials))
	})
	if errorCode(err) != "ExpiredToken" {
		t.Fatalf("GetCallerIdentity = %v", err)
	}
	if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - gci; got != 2 {
		t.Errorf("GetCallerIdentity requests = %d, want 2", got)
	}
}

// Both codes AWS services use for expired credentials are caught:
// ExpiredToken (Query and REST-XML services) and ExpiredTokenException
// (JSON services), whatever the HTTP status.
func TestRetryExpiredCodes(t *testing.T) {
	for _, fault := range []ststest.Fault{
		{Code: "ExpiredToken"},
		{Code: "ExpiredTokenException"},
		{Code: "ExpiredTokenException", Status: 400},
	} {
		t.Run(fmt.Sprint(fault.Code, fault.Status), func(t *testing.T) {
			f := newExpiredFixture(t, "user")
			if err := f.call(); err != nil {
				t.Fatal(err)
			}
			old := f.cachedKey(t)
			f.srv.Fail(ststest.ActionGetCallerIdentity, fault)
			arwwi := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
			if err := f.call(); err != nil {
				t.Fatalf("GetCallerIdentity = %v, want a retried success", err)
			}
			if f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) != arwwi+1 || f.cachedKey(t) == old {
				t.Error("the credentials were not refreshed once")
			}
		})
	}
}

// A client that shares the config but signs with another provider's
// credentials is not retried: the retry would be signed with the same
// expired keys, and the cache's credentials are kept.
func TestRetryExpiredLeavesOtherProvidersCredentials(t *testing.T) {
	for _, wiring := range wirings {
		t.Run(wiring, func(t *testing.T) {
			f := newExpiredFixture(t, wiring)
			ours := f.cachedKey(t)
			out, err := f.srv.STSClient().AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(f.srv.AddRole(ststest.Role{Name: "other", Subject: subject})),
				RoleSessionName:  aws.String("other"),
				WebIdentityToken: aws.String(f.srv.MintToken(ststest.Claims{Subject: subject})),
			})
			if err != nil {
				t.Fatal(err)
			}
			other := credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
				aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
			f.expireAtServer()
			calls, arwwi := f.srv.Calls(ststest.ActionGetCallerIdentity), f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
			_, err = f.client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
				o.Credentials = other
			})
			if code := errorCode(err); code != "ExpiredToken" {
				t.Fatalf("GetCallerIdentity with another provider's expired keys = %v, want ExpiredToken", err)
			}
			if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - calls; got != 1 {
				t.Errorf("%d GetCallerIdentity requests, want 1: a request another provider signed was retried", got)
			}
			if f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) != arwwi || f.cachedKey(t) != ours {
				t.Error("the cache's credentials were dropped for another provider's request")
			}
		})
	}
}

// A caller whose context ends after the expired answer gets that answer,
// not a retry.
func TestRetryExpiredNoRetryAfterCancel(t *testing.T) {
	f := newExpiredFixture(t, "root")
	f.cachedKey(t)
	f.expireAtServer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := f.srv.Calls(ststest.ActionGetCallerIdentity)
	_, err := f.client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("cancelAfterAnswer",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleFinalize(ctx, in)
					cancel()
					return out, md, err
				}), "awsoidc.RetryExpired", middleware.After)
		})
	})
	if code := errorCode(err); code != "ExpiredToken" {
		t.Fatalf("GetCallerIdentity cancelled after the expired answer = %v, want ExpiredToken", err)
	}
	if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - calls; got != 1 {
		t.Errorf("%d GetCallerIdentity requests after the caller gave up, want 1", got)
	}
}

// A config with static keys (which cannot expire, whatever the service
// says) is not retried: its provider would sign the retry with the same.
func TestRetryExpiredStaticKeysNotRetried(t *testing.T) {
	f := newExpiredFixture(t, "user")
	creds, err := f.cache.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIOptions = append(cfg.APIOptions, awsoidc.RetryExpired(cfg.Credentials))
	f.expireAtServer()
	calls := f.srv.Calls(ststest.ActionGetCallerIdentity)
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if code := errorCode(err); code != "ExpiredToken" {
		t.Fatalf("GetCallerIdentity with expired static keys = %v, want ExpiredToken", err)
	}
	if got := f.srv.Calls(ststest.ActionGetCallerIdentity) - calls; got != 1 {
		t.Errorf("%d GetCallerIdentity requests with static keys, want 1", got)
	}
}

// A presign client built from a client with the middleware presigns as
// before: the presigned stack has no retry loop and no Authorization
// header, and the middleware neither fails it nor sends anything.
func TestRetryExpiredPresign(t *testing.T) {
	f := newExpiredFixture(t, "root")
	calls := f.srv.Calls(ststest.ActionGetCallerIdentity)
	req, err := sts.NewPresignClient(f.client).PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("PresignGetCallerIdentity() = %v", err)
	}
	if !strings.Contains(req.URL, "X-Amz-Credential=") || req.SignedHeader.Get("Authorization") != "" {
		t.Errorf("presigned request %s: want query authentication", req.Method)
	}
	if n := f.srv.Calls(ststest.ActionGetCallerIdentity) - calls; n != 0 {
		t.Errorf("presigning sent %d requests", n)
	}
}
