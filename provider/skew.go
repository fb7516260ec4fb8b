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

	// MaxAnswerLifetime is the longest lifetime an answer may state for its
	// Date header to be trusted: the lifetime is the answer's Expiration
	// less its Date, both written by the same STS clock, so it must be the
	// session duration STS granted, more than 0 and at most [MaxDuration]
	// (12 hours). The minute of slack covers the Date header's one-second
	// resolution and servers that round the Expiration. An answer whose
	// lifetime is outside (0, MaxAnswerLifetime] carries a Date that is not
	// the clock that wrote its Expiration (a proxy's, or a cached answer's),
	// and its skew is not corrected, however small or large.
	MaxAnswerLifetime = MaxDuration + time.Minute
)

// clockSkew measures how far STS's clock (serverTime, from the answer's
// Date header) is ahead of the local clock (local, read when the answer
// arrived): positive when the local clock is behind. It returns 0 when
// serverTime or local is unknown or the difference is under
// [MinClockSkew]: nothing to correct.
//
// trusted reports whether the skew may be corrected: the answer's stated
// lifetime, stsExpires − serverTime, is in (0, [MaxAnswerLifetime]]. Then
// the correction is whole, whatever the size of the skew: a clock a day off
// is corrected by a day. Clamping instead would leave expired credentials
// looking valid (local clock far behind) or fresh ones looking expired
// (local clock far ahead). When the lifetime is implausible, the Date is
// not STS's clock and says nothing about the skew.
//
// It is a pure function of its inputs, so the rule is table-tested without
// any clock.
func clockSkew(serverTime, stsExpires, local time.Time) (skew time.Duration, trusted bool) {
	if serverTime.IsZero() || local.IsZero() {
		return 0, false
	}
	skew = serverTime.Sub(local)
	if skew > -MinClockSkew && skew < MinClockSkew {
		return 0, false
	}
	lifetime := stsExpires.Sub(serverTime)
	return skew, !stsExpires.IsZero() && lifetime > 0 && lifetime <= MaxAnswerLifetime
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

// correctSkew measures the clock skew of one successful answer and, when
// the answer's stated lifetime makes its Date trustworthy (see
// [clockSkew]), moves the expiry of creds and md to the local clock, so
// that whoever decides with the local clock when to refresh (the cache,
// the SDK's aws.CredentialsCache) decides right. local is the provider's
// clock read when the answer arrived. Both cases log a warning: the
// corrected skew, or the skew left uncorrected and why.
func (p *Provider) correctSkew(ctx context.Context, creds *aws.Credentials, md *Metadata, answer middleware.Metadata, local time.Time) {
	md.ServerTime = serverTime(answer)
	md.STSExpiration = md.Expires
	if p.opts.DisableClockSkewCorrection {
		return
	}
	skew, trusted := clockSkew(md.ServerTime, md.STSExpiration, local)
	if skew == 0 {
		return
	}
	attrs := []slog.Attr{slog.Duration("skew", skew), slog.Time("server_time", md.ServerTime), slog.Time("local_time", local),
		slog.Time("sts_expiration", md.STSExpiration), slog.Duration("stated_lifetime", md.STSExpiration.Sub(md.ServerTime))}
	if !trusted {
		p.log.LogAttrs(ctx, slog.LevelWarn, "provider: the Date of STS's answer differs from the local clock, but the answer's lifetime (Expiration − Date) is not a session duration STS grants, so the Date is not STS's clock (a proxy's, or a cached answer's); credential expiry left uncorrected, check the clock (NTP) and any proxy in between",
			append(attrs, slog.Bool("corrected", false))...)
		return
	}
	md.ClockSkew = skew
	md.Expires = localExpiry(md.Expires, skew)
	creds.Expires = md.Expires
	p.log.LogAttrs(ctx, slog.LevelWarn, "provider: the local clock differs from STS's (the Date of its answer); credential expiry converted to the local clock, fix the clock (NTP)",
		append(attrs, slog.Time("expires", md.Expires), slog.Bool("corrected", true))...)
}
