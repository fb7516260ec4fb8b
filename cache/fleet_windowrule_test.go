package cache

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Issue 10 item 4: our refresh windows against the cross-SDK rule that
// botocore and the Java SDK adopted in 2026 (boto/botocore#3760,
// aws/aws-sdk-java-v2#7053 and #7093): an advisory window by lifetime
// (≤ 20 min → 5 min, 20–90 min → 15 min, ≥ 90 min → 60 min) and a
// mandatory window of 1 minute, in the fleet simulation of TestFleet.

// fleetWindowsRace is the caches of each run under -race, where six runs
// of 2,000 take over a minute.
const fleetWindowsRace = 300

// crossSDKAdvisory is the rule's advisory window for credentials that live
// for lifetime.
func crossSDKAdvisory(lifetime time.Duration) time.Duration {
	switch {
	case lifetime <= 20*time.Minute:
		return 5 * time.Minute
	case lifetime < 90*time.Minute:
		return 15 * time.Minute
	default:
		return time.Hour
	}
}

// TestRefreshWindows prints, for 15-minute, 1-hour and 12-hour credentials
// (STS's shortest, its default and its longest session), the STS calls per
// cache per day and the peak/mean of calls per minute with our default
// windows and with the cross-SDK rule, both with our default jitter, and
// asserts that both stay within 1.5× the calls of refreshing at expiry
// once the first lifetime is over (the day's figure includes the cold
// start, which for 12-hour credentials is a third of the day's calls).
// The rule's 5-minute window for 15-minute credentials is a third of
// their lifetime; the cache caps every advisory window at a quarter of the
// lifetime, so that row runs with 3.75 minutes.
//
// With AWSOIDC_FULL_FIGURES=1, 10,000 caches per run; else fleetQuick;
// under -race, fleetWindowsRace.
//
//	AWSOIDC_FULL_FIGURES=1 go test -run '^TestRefreshWindows$' -v ./cache/
func TestRefreshWindows(t *testing.T) {
	n := fleetQuick
	switch {
	case benchRaceEnabled:
		n = fleetWindowsRace
	case fullFigures():
		n = fleetSize
	}
	var b strings.Builder
	b.WriteString("| lifetime | windows | advisory / mandatory | STS calls per cache, the day | per day after the first lifetime | × refreshing at expiry | peak / mean per minute after the first lifetime |\n|---|---|---|---:|---:|---:|---:|\n")
	for _, lifetime := range []time.Duration{15 * time.Minute, time.Hour, 12 * time.Hour} {
		ours := fleetSimulateWith(t, n, lifetime, func(*Options) {})
		rule := fleetSimulateWith(t, n, lifetime, func(o *Options) {
			o.AdvisoryWindow = crossSDKAdvisory(lifetime)
			o.MandatoryWindow = time.Minute
		})
		atExpiry := float64(fleetSpan) / float64(lifetime)
		for _, r := range []struct {
			name string
			fleetResult
		}{{"awsoidc defaults", ours}, {"cross-SDK rule", rule}} {
			var p policy
			if r.name == "cross-SDK rule" {
				p = policy{advisory: crossSDKAdvisory(lifetime), mandatory: time.Minute}
			} else {
				p = policy{advisory: defaultAdvisoryWindow, mandatory: defaultMandatoryWindow}
			}
			adv, mand := p.windows(lifetime)
			fmt.Fprintf(&b, "| %s | %s | %s / %s | %.2f | %.2f | %.2f | %.2f |\n", lifetime, r.name, adv, mand,
				r.PerCacheDay, r.SteadyPerCacheDay, r.SteadyPerCacheDay/atExpiry, r.PeakOverMean)
			if r.SteadyPerCacheDay > 1.5*atExpiry {
				t.Errorf("%s, %s: %.2f STS calls per cache per day after the first lifetime; want ≤ 1.5 × %.0f", lifetime, r.name, r.SteadyPerCacheDay, atExpiry)
			}
		}
	}
	t.Log("\n" + b.String())
}
