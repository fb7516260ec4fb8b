package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/ststest"
)

// TestClockSkewThroughCache runs the whole chain with the local clock off
// from STS's (ststest's Date header and expiry decisions follow its own
// clock, shifted from the provider's and the cache's): the credentials are
// fetched, then STS fails for good, and every 30 seconds of local time a
// caller asks the cache. Each answer is checked against STS's own clock
// (GetCallerIdentity signed with the credentials): the cache must serve
// credentials exactly while STS still accepts them. With the provider's
// skew correction off, the same run serves expired credentials (local clock
// behind) or refuses valid ones (local clock ahead): the test would see it.
//
//	go test -v -run TestClockSkewThroughCache ./internal/reliability/
func TestClockSkewThroughCache(t *testing.T) {
	srv := newServer(t)
	log, sec := &capture{}, &secrets{}
	cases := []struct {
		offset     time.Duration // STS's clock minus the local clock
		correction bool
	}{
		{10 * time.Minute, true}, {-10 * time.Minute, true}, {-2 * time.Hour, true}, {0, true},
		{10 * time.Minute, false}, {-10 * time.Minute, false}, {-2 * time.Hour, false},
	}
	var table strings.Builder
	table.WriteString("\n| local clock vs STS | skew correction | answers | served expired | refused while valid |\n|---|---|---:|---:|---:|\n")
	for _, tc := range cases {
		name := fmt.Sprintf("%s, correction %v", describeOffset(tc.offset), tc.correction)
		t.Run(name, func(t *testing.T) {
			r := newRig(t, srv, log, sec, rigOptions{offset: tc.offset, noSkew: !tc.correction})
			defer func() { _ = r.cache.Close() }()
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			first := r.step(ctx)
			if first.err == nil {
				md, _ := r.prov.LastMetadata()
				if want := map[bool]time.Duration{true: tc.offset, false: 0}[tc.correction]; md.ClockSkew != want {
					t.Errorf("Metadata.ClockSkew = %s, want %s", md.ClockSkew, want)
				}
			}
			r.s.srv.Fail(assume, ststest.Fault{Times: -1})
			answers, servedExpired, refusedValid := 0, 0, 0
			for i := 0; i <= 160; i++ { // 80 minutes
				res := first
				if i > 0 {
					r.clk.Advance(30 * time.Second)
					res = r.step(ctx)
				}
				answers++
				// STS's verdict at its own now: valid until the
				// Expiration it issued (1 hour after its t0).
				stsValid := r.clk.Now().Add(tc.offset).Before(t0.Add(tc.offset).Add(lifetime))
				switch {
				case res.err == nil:
					if err := r.callerIdentity(ctx, res.creds); err != nil {
						servedExpired++
						if stsValid {
							t.Errorf("credentials rejected by STS while they should be valid: %v", err)
						}
					}
				case stsValid:
					refusedValid++
				}
			}
			fmt.Fprintf(&table, "| %s | %v | %d | %d | %d |\n", describeOffset(tc.offset), tc.correction, answers, servedExpired, refusedValid)
			if tc.correction || tc.offset == 0 {
				if servedExpired != 0 || refusedValid != 0 {
					t.Errorf("with the correction: %d answers served expired credentials, %d refused valid ones; want none", servedExpired, refusedValid)
				}
				return
			}
			if servedExpired+refusedValid == 0 {
				t.Errorf("without the correction the run shows no harm: the test does not discriminate")
			}
		})
	}
	if testing.Verbose() {
		fmt.Println("\nClock skew (go test -v -run TestClockSkewThroughCache ./internal/reliability/): STS fails after the first fetch; a caller every 30 s for 80 min of local time" + table.String())
	}
	if leak := sec.find(log.String()); leak != "" {
		t.Errorf("a %s appears in the logs", leak)
	}
}

// describeOffset says how the local clock stands to STS's.
func describeOffset(offset time.Duration) string {
	switch {
	case offset > 0:
		return fmt.Sprintf("local %s behind", offset)
	case offset < 0:
		return fmt.Sprintf("local %s ahead", -offset)
	}
	return "in sync"
}
