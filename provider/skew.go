package provider

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// minClockSkew is the smallest difference between STS's clock and the local
// one that the provider corrects; see [Options.DisableClockSkewCorrection].
// The Date header has a resolution of one second and is written before the
// answer crosses the network, so smaller differences are noise.
const minClockSkew = 5 * time.Second

const (
	// defaultSessionDuration is the session STS grants when DurationSeconds
	// is not sent.
	defaultSessionDuration = time.Hour

	// lifetimeSlack is how far an answer's stated lifetime (Expiration −
	// Date) may lie outside the sessions STS grants for its Date to be
	// trusted: the Date header's one-second resolution, and servers that
	// round the Expiration.
	lifetimeSlack = time.Minute
)

// requestedDuration is the session duration asked of STS: DurationSeconds
// when sent, else STS's default of one hour.
func requestedDuration(durationSeconds *int32) time.Duration {
	if durationSeconds == nil || *durationSeconds <= 0 {
		return defaultSessionDuration
	}
	return time.Duration(*durationSeconds) * time.Second
}

// lifetimeProblem says why an answer's stated lifetime (its Expiration less
// its Date, both written by STS's clock if the Date is STS's) is not a
// session STS grants for a request of requested, or returns "" when it is.
// STS grants exactly the duration requested; a lifetime up to
// [lifetimeSlack] longer is rounding, and a shorter one is allowed down to
// the shortest session STS grants (15 minutes), for servers
// that cap a session below the request. Any other lifetime means that the
// Date is another clock's (a proxy's, or a cached answer's).
func lifetimeProblem(lifetime, requested time.Duration) string {
	switch {
	case lifetime > requested+lifetimeSlack:
		return "longer than the requested duration"
	case lifetime <= 0:
		return "the Date is not before the Expiration"
	case lifetime < minDuration-lifetimeSlack:
		return "shorter than the shortest session STS grants"
	}
	return ""
}

// clockSkew measures how far STS's clock (serverTime, from the answer's
// Date header) is ahead of the local clock (local, read when the answer
// arrived): positive when the local clock is behind. It returns 0 when
// serverTime or local is unknown or the difference is under
// minClockSkew: nothing to correct.
//
// problem is "" when the skew may be corrected: the answer's stated
// lifetime, stsExpires − serverTime, is a session STS grants for a request
// of requested (see [lifetimeProblem]). Then the correction is whole,
// whatever the size of the skew: a clock a day off is corrected by a day.
// Clamping the skew instead would leave expired credentials looking valid
// (local clock far behind) or fresh ones looking expired (local clock far
// ahead). Otherwise problem says why the Date is not STS's clock, and it
// says nothing about the skew.
//
// It is a pure function of its inputs, so the rule is table-tested without
// any clock.
func clockSkew(serverTime, stsExpires, local time.Time, requested time.Duration) (skew time.Duration, problem string) {
	if serverTime.IsZero() || local.IsZero() {
		return 0, ""
	}
	skew = serverTime.Sub(local)
	if skew > -minClockSkew && skew < minClockSkew {
		return 0, ""
	}
	if stsExpires.IsZero() {
		return skew, "the answer has no Expiration"
	}
	return skew, lifetimeProblem(stsExpires.Sub(serverTime), requested)
}

// localExpiry converts an expiry on STS's clock to the local clock:
// stsExpires − skew, that is the stated lifetime (Expiration − Date)
// counted from the local time the answer arrived. It is never later than
// latest, that local time plus the requested duration: STS grants no
// longer session, so the correction never makes credentials outlive the
// request, whatever the skew.
func localExpiry(stsExpires time.Time, skew time.Duration, latest time.Time) time.Time {
	if stsExpires.IsZero() {
		return stsExpires
	}
	e := stsExpires.Add(-skew)
	if !latest.IsZero() && e.After(latest) {
		return latest
	}
	return e
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
// the answer's stated lifetime makes its Date trustworthy for a request of
// requested (see [clockSkew]), moves the expiry of creds and md to the
// local clock, so that whoever decides with the local clock when to
// refresh (the cache, the SDK's aws.CredentialsCache) decides right. local
// is the provider's clock read when the answer arrived.
//
// A corrected skew is logged as a warning every time: the local clock is
// wrong. A skew left uncorrected is logged as a warning saying why the
// first time in the life of the Provider, and at debug level afterwards:
// the cause (a proxy, say) persists, and every refresh would repeat it.
func (p *Provider) correctSkew(ctx context.Context, creds *aws.Credentials, md *Metadata, answer middleware.Metadata, local time.Time, requested time.Duration) {
	md.ServerTime = serverTime(answer)
	md.STSExpiration = md.Expires
	if p.opts.DisableClockSkewCorrection {
		return
	}
	skew, problem := clockSkew(md.ServerTime, md.STSExpiration, local, requested)
	if skew == 0 {
		return
	}
	attrs := []slog.Attr{slog.Duration("skew", skew), slog.Time("server_time", md.ServerTime), slog.Time("local_time", local),
		slog.Time("sts_expiration", md.STSExpiration), slog.Duration("stated_lifetime", md.STSExpiration.Sub(md.ServerTime)),
		slog.Duration("requested_duration", requested)}
	if problem != "" {
		level := slog.LevelWarn
		if p.skewWarned.Swap(true) {
			level = slog.LevelDebug
		}
		p.log.LogAttrs(ctx, level, "provider: the Date of STS's answer differs from the local clock, but the answer's lifetime (Expiration − Date) is not a session STS grants for this request, so the Date is not STS's clock (a proxy's, or a cached answer's); credential expiry left uncorrected, check the clock (NTP) and any proxy in between",
			append(attrs, slog.String("reason", problem), slog.Bool("corrected", false))...)
		return
	}
	md.ClockSkew = skew
	md.Expires = localExpiry(md.Expires, skew, local.Add(requested))
	creds.Expires = md.Expires
	p.log.LogAttrs(ctx, slog.LevelWarn, "provider: the local clock differs from STS's (the Date of its answer); credential expiry converted to the local clock, fix the clock (NTP)",
		append(attrs, slog.Time("expires", md.Expires), slog.Bool("corrected", true))...)
}
