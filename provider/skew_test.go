package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// skewedStack is a stack whose STS clock runs offset ahead of the
// provider's fake clock (behind when offset is negative). ststest writes
// its Date header from that clock, as AWS does from its own.
func skewedStack(t *testing.T, clk *clock.Fake, offset time.Duration) *stack {
	t.Helper()
	return newStack(t, ststest.Role{}, func(o *ststest.Options) {
		o.Now = func() time.Time { return clk.Now().Add(offset) }
	})
}

// TestClockSkewCorrection checks that the Expires of the credentials is on
// the provider's clock, whatever the offset of STS's clock, so that a cache
// deciding with the local clock decides right.
func TestClockSkewCorrection(t *testing.T) {
	tests := []struct {
		name     string
		offset   time.Duration // STS's clock minus the local clock
		wantSkew time.Duration
	}{
		{name: "local clock 10 minutes behind", offset: 10 * time.Minute, wantSkew: 10 * time.Minute},
		{name: "local clock 10 minutes ahead", offset: -10 * time.Minute, wantSkew: -10 * time.Minute},
		{name: "local clock 2 hours ahead, more than the lifetime", offset: -2 * time.Hour, wantSkew: -2 * time.Hour},
		// Larger than the longest session: still corrected in full, since
		// the answer's own lifetime (Expiration − Date) is one hour.
		{name: "local clock 30 hours behind", offset: 30 * time.Hour, wantSkew: 30 * time.Hour},
		{name: "local clock 30 hours ahead", offset: -30 * time.Hour, wantSkew: -30 * time.Hour},
		{name: "3 seconds is noise", offset: 3 * time.Second, wantSkew: 0},
		{name: "in sync", offset: 0, wantSkew: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			s := skewedStack(t, clk, tt.offset)
			var logs logBuffer
			p := s.provider(t, nil, func(o *provider.Options) { o.Clock = clk; o.Logger = logs.logger() })
			creds, md, err := retrieveMD(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			stsNow := t0.Add(tt.offset)
			if !md.ServerTime.Equal(stsNow) {
				t.Errorf("ServerTime = %s, want STS's clock %s", md.ServerTime, stsNow)
			}
			if !md.STSExpiration.Equal(stsNow.Add(time.Hour)) {
				t.Errorf("STSExpiration = %s, want %s", md.STSExpiration, stsNow.Add(time.Hour))
			}
			if md.ClockSkew != tt.wantSkew {
				t.Errorf("ClockSkew = %s, want %s", md.ClockSkew, tt.wantSkew)
			}
			// One hour from now on the local clock, to the second when the
			// skew is corrected; off by the uncorrected noise otherwise.
			wantExpires := t0.Add(time.Hour).Add(tt.offset - tt.wantSkew)
			if !creds.Expires.Equal(wantExpires) || !md.Expires.Equal(creds.Expires) {
				t.Errorf("Expires = %s (metadata %s), want %s on the local clock", creds.Expires, md.Expires, wantExpires)
			}
			warned := strings.Contains(logs.String(), "the local clock differs from STS's")
			if warned != (tt.wantSkew != 0) {
				t.Errorf("warning logged = %v, want %v:\n%s", warned, tt.wantSkew != 0, logs.String())
			}
			if strings.Contains(logs.String(), s.token) {
				t.Errorf("log holds the token")
			}
		})
	}
}

func TestClockSkewCorrectionDisabled(t *testing.T) {
	clk := clock.NewFake(t0)
	s := skewedStack(t, clk, 10*time.Minute)
	p := s.provider(t, nil, func(o *provider.Options) { o.Clock = clk; o.DisableClockSkewCorrection = true })
	creds, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if md.ClockSkew != 0 || !creds.Expires.Equal(md.STSExpiration) || !md.ServerTime.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("Expires %s, STSExpiration %s, ServerTime %s, ClockSkew %s", creds.Expires, md.STSExpiration, md.ServerTime, md.ClockSkew)
	}
}

// dateRewriter is an HTTP client that replaces the Date header of every
// answer, as a proxy with its own clock, or a cache replaying an old answer,
// would.
type dateRewriter struct {
	inner sts.HTTPClient
	date  time.Time
}

func (d dateRewriter) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.inner.Do(req)
	if err == nil {
		resp.Header.Set("Date", d.date.UTC().Format(http.TimeFormat))
	}
	return resp, err
}

// TestClockSkewImplausibleDate: an answer whose Date does not fit its own
// Expiration (the lifetime it states is not a session STS grants) carries
// someone else's clock. Its skew is not corrected, whatever its size, and a
// warning without secrets says why.
func TestClockSkewImplausibleDate(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // STS's clock minus the local clock
		date   time.Duration // the rewritten Date minus the local clock
	}{
		{name: "cached answer dated two days ago", offset: 0, date: -48 * time.Hour},
		// The stated lifetime, 3 hours, fits within 12 hours but is not the
		// 1-hour session asked for.
		{name: "proxy clock 2 hours behind", offset: 0, date: -2 * time.Hour},
		{name: "STS 30 hours ahead, proxy clock 28 hours ahead", offset: 30 * time.Hour, date: 28 * time.Hour},
		{name: "proxy clock after the expiration", offset: 0, date: 2 * time.Hour},
		{name: "STS 30 hours ahead, proxy clock an hour behind", offset: 30 * time.Hour, date: -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			s := skewedStack(t, clk, tt.offset)
			client := provider.NewSTSClient(s.srv.Config(nil), func(o *sts.Options) {
				o.HTTPClient = dateRewriter{inner: s.rec, date: t0.Add(tt.date)}
			})
			var logs logBuffer
			p, err := provider.New(client, s.role, tokensource.Static(s.token), noWait,
				func(o *provider.Options) { o.Clock = clk; o.Logger = logs.logger() })
			if err != nil {
				t.Fatal(err)
			}
			creds, md, err := retrieveMD(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if !md.ServerTime.Equal(t0.Add(tt.date)) {
				t.Fatalf("ServerTime = %s, want the rewritten Date %s", md.ServerTime, t0.Add(tt.date))
			}
			if md.ClockSkew != 0 || !creds.Expires.Equal(md.STSExpiration) || !md.Expires.Equal(md.STSExpiration) {
				t.Errorf("ClockSkew %s, Expires %s (metadata %s), want 0 and STSExpiration %s unchanged",
					md.ClockSkew, creds.Expires, md.Expires, md.STSExpiration)
			}
			out := logs.String()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "left uncorrected") || !strings.Contains(out, "corrected=false") {
				t.Errorf("no warning that the skew was left uncorrected:\n%s", out)
			}
			if strings.Contains(out, s.token) || strings.Contains(out, creds.SecretAccessKey) || strings.Contains(out, creds.SessionToken) {
				t.Errorf("log holds a secret:\n%s", out)
			}
		})
	}
}

// TestClockSkewWithoutDateHeader: a client that is not the SDK's (here a
// function fake) brings no Date; Expires is STS's as is.
func TestClockSkewWithoutDateHeader(t *testing.T) {
	f := newFake()
	p, err := provider.New(f.client(), testRole, newTokens(secretToken), noWait)
	if err != nil {
		t.Fatal(err)
	}
	creds, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !md.ServerTime.IsZero() || md.ClockSkew != 0 || !creds.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ServerTime %s, ClockSkew %s, Expires %s", md.ServerTime, md.ClockSkew, creds.Expires)
	}
}

// TestClockSkewProxyDateBehind reproduces issue 8 item 11: STS's clock and
// the local clock agree, and a proxy in between stamps its own Date, 2 hours
// behind. The answer then states a lifetime (Expiration − Date) 2 hours
// longer than the session asked for, which STS never grants: the Date is
// not STS's clock, and correcting by it handed out credentials for almost
// 2 hours after they had expired. The credentials must be handed out only
// while STS accepts them, and the warning comes once per provider.
func TestClockSkewProxyDateBehind(t *testing.T) {
	for _, duration := range []time.Duration{0, 2 * time.Hour} {
		t.Run(fmt.Sprintf("Duration %s", duration), func(t *testing.T) {
			clk := clock.NewFake(t0)
			s := newStack(t, ststest.Role{MaxSessionDuration: 12 * time.Hour}, func(o *ststest.Options) { o.Now = clk.Now })
			client := provider.NewSTSClient(s.srv.Config(nil), func(o *sts.Options) {
				o.HTTPClient = dateRewriter{inner: s.rec, date: t0.Add(-2 * time.Hour)}
			})
			var logs logBuffer
			p, err := provider.New(client, s.role, tokensource.Static(s.token), noWait,
				func(o *provider.Options) { o.Clock = clk; o.Logger = logs.logger(); o.Duration = duration })
			if err != nil {
				t.Fatal(err)
			}
			creds, md, err := retrieveMD(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			session := max(duration, time.Hour)
			realExpiry := t0.Add(session) // STS's clock is the local one
			if md.ClockSkew != 0 || creds.Expires.After(realExpiry) {
				t.Fatalf("ClockSkew %s, Expires %s: handed out %s past the real expiry %s",
					md.ClockSkew, creds.Expires, creds.Expires.Sub(realExpiry), realExpiry)
			}
			// STS accepts the credentials until the Expires handed out.
			clk.Set(creds.Expires.Add(-time.Second))
			if err := callerIdentity(t, s, creds); err != nil {
				t.Fatalf("STS refused the credentials 1 s before the Expires handed out (%s): %v", creds.Expires, err)
			}

			// A second answer with the same proxy: the cause has not
			// changed, the warning is not repeated.
			clk.Set(t0)
			if _, err := p.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
			out := logs.String()
			if n := strings.Count(out, "level=WARN"); n != 1 {
				t.Errorf("%d warnings, want 1:\n%s", n, out)
			}
			if !strings.Contains(out, "left uncorrected") || !strings.Contains(out, "longer than the requested duration") ||
				!strings.Contains(out, "requested_duration="+session.String()) {
				t.Errorf("the warning does not say why:\n%s", out)
			}
			if strings.Contains(out, s.token) || strings.Contains(out, creds.SecretAccessKey) || strings.Contains(out, creds.SessionToken) {
				t.Errorf("log holds a secret:\n%s", out)
			}
		})
	}
}

// callerIdentity asks ststest, on its own clock, whether it accepts creds.
func callerIdentity(t *testing.T, s *stack, creds aws.Credentials) error {
	t.Helper()
	client := sts.NewFromConfig(s.srv.Config(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })),
		func(o *sts.Options) { o.Retryer = aws.NopRetryer{} })
	_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err
}
