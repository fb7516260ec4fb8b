package spiffe

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"

	"github.com/awsoidc/awsoidc/tokensource"
)

// now is the fixed time of the table tests: pick is a pure function of it.
var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func svid(sub, aud string, exp time.Time) *workload.JWTSVID {
	enc := base64.RawURLEncoding.EncodeToString
	claims := `{"sub":"` + sub + `","aud":` + aud + `,"exp":` + strconv.FormatInt(exp.Unix(), 10) + `}`
	return &workload.JWTSVID{SpiffeId: sub, Svid: enc([]byte(`{"alg":"ES256","kid":"k"}`)) + "." + enc([]byte(claims)) + ".c2ln"}
}

// TestPick checks the choice and the checks of a JWT-SVID at a fixed now,
// including the edges that go-spiffe's own parser lets through (it allows a
// minute of leeway past "exp").
func TestPick(t *testing.T) {
	const a, b = "spiffe://example.org/a", "spiffe://example.org/b"
	aud := `"sts.amazonaws.com"`
	tests := []struct {
		name    string
		svids   []*workload.JWTSVID
		id      string
		wantSub string // the picked SVID's sub, or "" for an error
		is      error
		want    string
	}{
		{name: "valid", svids: []*workload.JWTSVID{svid(a, aud, now.Add(time.Minute))}, wantSub: a},
		{name: "audience in a list", svids: []*workload.JWTSVID{svid(a, `["vault","sts.amazonaws.com"]`, now.Add(time.Minute))}, wantSub: a},
		{name: "first is the default", svids: []*workload.JWTSVID{svid(a, aud, now.Add(time.Minute)), svid(b, aud, now.Add(time.Minute))}, wantSub: a},
		{name: "by SPIFFE ID", id: b, svids: []*workload.JWTSVID{svid(a, aud, now.Add(time.Minute)), svid(b, aud, now.Add(time.Minute))}, wantSub: b},
		{name: "another's expiry does not matter", id: b, svids: []*workload.JWTSVID{svid(a, aud, now.Add(-time.Hour)), svid(b, aud, now.Add(time.Minute))}, wantSub: b},
		{name: "expires now", svids: []*workload.JWTSVID{svid(a, aud, now)}, is: errExpired, want: "expired at 2026-12-04T12:00:00Z"},
		{name: "expired a second ago", svids: []*workload.JWTSVID{svid(a, aud, now.Add(-time.Second))}, is: errExpired},
		{name: "empty aud list", svids: []*workload.JWTSVID{svid(a, `[]`, now.Add(time.Minute))}, is: tokensource.ErrMalformed},
		{name: "aud not strings", svids: []*workload.JWTSVID{svid(a, `[1]`, now.Add(time.Minute))}, is: tokensource.ErrMalformed},
		{name: "sub with a query", svids: []*workload.JWTSVID{svid(a+"?x=1", aud, now.Add(time.Minute))}, is: tokensource.ErrMalformed},
		{name: "no such SPIFFE ID", id: "spiffe://example.org/c", svids: []*workload.JWTSVID{svid(a, aud, now.Add(time.Minute)), svid(b, aud, now.Add(time.Minute))},
			want: `only for "spiffe://example.org/a", "spiffe://example.org/b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := pick(tt.svids, "sts.amazonaws.com", tt.id, now)
			if tt.wantSub != "" {
				if err != nil {
					t.Fatal(err)
				}
				var c svidClaims
				if c, err = readSVID(tok.Value); err != nil || c.sub != tt.wantSub || !tok.Expiry.Equal(c.exp) {
					t.Errorf("picked sub %q expiry %s (%v), want %q with its exp", c.sub, tok.Expiry, err, tt.wantSub)
				}
				return
			}
			if err == nil {
				t.Fatalf("picked %v, want an error", tok)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
