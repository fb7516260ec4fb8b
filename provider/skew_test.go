package provider_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
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
		{name: "3 seconds is noise", offset: 3 * time.Second, wantSkew: 0},
		{name: "in sync", offset: 0, wantSkew: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			s := skewedStack(t, clk, tt.offset)
			var logs logBuffer
			p := s.provider(t, nil, func(o *provider.Options) { o.Clock = clk; o.Logger = logs.logger() })
			creds, md, err := p.RetrieveWithMetadata(context.Background())
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
	creds, md, err := p.RetrieveWithMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if md.ClockSkew != 0 || !creds.Expires.Equal(md.STSExpiration) || !md.ServerTime.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("Expires %s, STSExpiration %s, ServerTime %s, ClockSkew %s", creds.Expires, md.STSExpiration, md.ServerTime, md.ClockSkew)
	}
}

// TestClockSkewClamped: a Date header years off is more likely a proxy's
// than a clock that wrong; the correction stops at MaxClockSkew.
func TestClockSkewClamped(t *testing.T) {
	clk := clock.NewFake(t0)
	s := skewedStack(t, clk, 3*24*time.Hour)
	var logs logBuffer
	p := s.provider(t, nil, func(o *provider.Options) { o.Clock = clk; o.Logger = logs.logger() })
	creds, md, err := p.RetrieveWithMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if md.ClockSkew != provider.MaxClockSkew || !creds.Expires.Equal(md.STSExpiration.Add(-provider.MaxClockSkew)) {
		t.Fatalf("ClockSkew %s, Expires %s, STSExpiration %s", md.ClockSkew, creds.Expires, md.STSExpiration)
	}
	if !strings.Contains(logs.String(), "clamped=true") {
		t.Errorf("no clamped warning:\n%s", logs.String())
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
	creds, md, err := p.RetrieveWithMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !md.ServerTime.IsZero() || md.ClockSkew != 0 || !creds.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ServerTime %s, ClockSkew %s, Expires %s", md.ServerTime, md.ClockSkew, creds.Expires)
	}
}
