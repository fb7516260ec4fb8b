package provider

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Bounds of the clock skew correction; see [Options.DisableClockSkewCorrection].
const (
	// MinClockSkew is the smallest difference between STS's clock and the
	// local one that the provider corrects. The Date header has a
	// resolution of one second and is written before the answer crosses the
	// network, so smaller differences are noise.
	MinClockSkew = 5 * time.Second

	// MaxClockSkew caps the correction. A larger difference is more likely a
	// wrong Date header (a proxy's, or a cached answer's) than a clock that
	// far off; the correction is clamped to it and a warning logged. It is
	// the longest session STS grants, so a correction never moves an expiry
	// by more than one whole credential lifetime.
	MaxClockSkew = MaxDuration
)

// clockSkew measures how far STS's clock (serverTime, from the answer's
// Date header) is ahead of the local clock (local, read when the answer
// arrived): positive when the local clock is behind. It returns 0 when
// serverTime is unknown or the difference is under [MinClockSkew], and
// clamps it to ±[MaxClockSkew], reporting whether it did.
//
// It is a pure function of its inputs, so the rule is table-tested without
// any clock.
func clockSkew(serverTime, local time.Time) (skew time.Duration, clamped bool) {
	if serverTime.IsZero() || local.IsZero() {
		return 0, false
	}
	skew = serverTime.Sub(local)
	switch {
	case skew > -MinClockSkew && skew < MinClockSkew:
		return 0, false
	case skew > MaxClockSkew:
		return MaxClockSkew, true
	case skew < -MaxClockSkew:
		return -MaxClockSkew, true
	}
	return skew, false
}

// localExpiry converts an expiry on STS's clock to the local clock:
// stsExpires − skew. The credentials stay valid for as long as STS says
// (Expiration − Date), counted from the local now.
func localExpiry(stsExpires time.Time, skew time.Duration) time.Time {
	if stsExpires.IsZero() {
		return stsExpires
	}
	return stsExpires.Add(-skew)
}

// serverTime returns the time of STS's answer from its Date header, which
// the SDK's RecordResponseTiming middleware keeps in the result metadata
// of every operation; zero when the answer had none (or came from a fake
// client).
func serverTime(md middleware.Metadata) time.Time {
	t, _ := awsmiddleware.GetServerTime(md)
	return t
}

// correctSkew measures the clock skew of one successful answer and moves
// the expiry of creds and md to the local clock, so that whoever decides
// with the local clock when to refresh (the cache, the SDK's
// aws.CredentialsCache) decides right. local is the provider's clock read
// when the answer arrived.
func (p *Provider) correctSkew(ctx context.Context, creds *aws.Credentials, md *Metadata, answer middleware.Metadata, local time.Time) {
	md.ServerTime = serverTime(answer)
	md.STSExpiration = md.Expires
	if p.opts.DisableClockSkewCorrection {
		return
	}
	skew, clamped := clockSkew(md.ServerTime, local)
	if skew == 0 {
		return
	}
	md.ClockSkew = skew
	md.Expires = localExpiry(md.Expires, skew)
	creds.Expires = md.Expires
	level := slog.LevelWarn
	msg := "provider: the local clock differs from STS's (the Date of its answer); credential expiry converted to the local clock, fix the clock (NTP)"
	if clamped {
		msg = "provider: the local clock differs from STS's (the Date of its answer) by more than the maximum correction; correction clamped, check the clock (NTP) and any proxy in between"
	}
	p.log.LogAttrs(ctx, level, msg,
		slog.Duration("skew", skew), slog.Time("server_time", md.ServerTime), slog.Time("local_time", local),
		slog.Time("sts_expiration", md.STSExpiration), slog.Time("expires", md.Expires), slog.Bool("clamped", clamped))
}
