package provider

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestClockSkewRule(t *testing.T) {
	local := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	// answer is an STS answer dated server that grants lifetime.
	type answer struct{ server, expires time.Time }
	at := func(offset, lifetime time.Duration) answer {
		return answer{local.Add(offset), local.Add(offset + lifetime)}
	}
	const hour = time.Hour
	tests := []struct {
		name      string
		answer    answer
		local     time.Time
		requested time.Duration
		want      time.Duration
		problem   string // "" when trusted (or nothing to correct)
	}{
		{name: "no Date header", answer: answer{time.Time{}, local.Add(hour)}, local: local, requested: hour, want: 0},
		{name: "no local time", answer: at(hour, hour), local: time.Time{}, requested: hour, want: 0},
		{name: "same time", answer: at(0, hour), local: local, requested: hour, want: 0},
		{name: "Date resolution and latency are noise", answer: at(-time.Second, hour), local: local.Add(400 * time.Millisecond), requested: hour, want: 0},
		{name: "just under the threshold ahead", answer: at(minClockSkew-time.Nanosecond, hour), local: local, requested: hour, want: 0},
		{name: "just under the threshold behind", answer: at(-minClockSkew+time.Nanosecond, hour), local: local, requested: hour, want: 0},
		{name: "noise with an implausible lifetime is still noise", answer: at(time.Second, 30*24*hour), local: local, requested: hour, want: 0},
		{name: "at the threshold", answer: at(minClockSkew, hour), local: local, requested: hour, want: minClockSkew},
		{name: "local clock 10 minutes behind", answer: at(10*time.Minute, hour), local: local, requested: hour, want: 10 * time.Minute},
		{name: "local clock 10 minutes ahead", answer: at(-10*time.Minute, hour), local: local, requested: hour, want: -10 * time.Minute},
		// The old ±12 h clamp left 18 h of expired credentials looking
		// valid here, and made fresh ones look 17 h expired below.
		{name: "local clock 30 hours behind", answer: at(30*hour, hour), local: local, requested: hour, want: 30 * hour},
		{name: "local clock 30 hours ahead", answer: at(-30*hour, hour), local: local, requested: hour, want: -30 * hour},
		{name: "local clock years behind", answer: at(5*365*24*hour, 15*time.Minute), local: local, requested: 15 * time.Minute, want: 5 * 365 * 24 * hour},
		{name: "12-hour session", answer: at(hour, maxDuration), local: local, requested: maxDuration, want: hour},
		{name: "15-minute session", answer: at(hour, minDuration), local: local, requested: minDuration, want: hour},
		{name: "lifetime at the slack", answer: at(hour, hour+lifetimeSlack), local: local, requested: hour, want: hour},
		{name: "session capped below the request", answer: at(hour, hour), local: local, requested: maxDuration, want: hour},
		{name: "session capped at the shortest", answer: at(hour, minDuration-lifetimeSlack), local: local, requested: hour, want: hour},
		// A Date behind STS's clock makes the lifetime look longer: the
		// proxy of issue 8 item 11, 2 hours behind, states 3 hours for a
		// 1-hour session, which the old rule (any lifetime up to 12 h)
		// trusted, handing out credentials 2 hours past their expiry.
		{name: "proxy 2 hours behind", answer: at(-2*hour, 3*hour), local: local, requested: hour, want: -2 * hour, problem: "longer than the requested duration"},
		{name: "proxy 2 hours behind, 12-hour request", answer: at(-2*hour, 14*hour), local: local, requested: maxDuration, want: -2 * hour, problem: "longer than the requested duration"},
		{name: "proxy 2 hours behind STS 30 hours ahead", answer: at(28*hour, 3*hour), local: local, requested: hour, want: 28 * hour, problem: "longer than the requested duration"},
		{name: "lifetime over the slack", answer: at(hour, hour+lifetimeSlack+time.Second), local: local, requested: hour, want: hour, problem: "longer than the requested duration"},
		{name: "12-hour lifetime for a 1-hour request", answer: at(hour, maxDuration), local: local, requested: hour, want: hour, problem: "longer than the requested duration"},
		{name: "Date of a cached answer, two days old", answer: at(-48*hour, 49*hour), local: local, requested: hour, want: -48 * hour, problem: "longer than the requested duration"},
		// A Date ahead of STS's clock makes the lifetime look shorter.
		{name: "lifetime under the shortest session", answer: at(hour, minDuration-lifetimeSlack-time.Second), local: local, requested: hour, want: hour, problem: "shorter than the shortest session"},
		{name: "Date after the Expiration", answer: at(2*hour, -hour), local: local, requested: hour, want: 2 * hour, problem: "not before the Expiration"},
		{name: "Date equal to the Expiration", answer: at(-hour, 0), local: local, requested: hour, want: -hour, problem: "not before the Expiration"},
		{name: "no Expiration", answer: answer{local.Add(hour), time.Time{}}, local: local, requested: hour, want: hour, problem: "no Expiration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := clockSkew(tt.answer.server, tt.answer.expires, tt.local, tt.requested)
			if got != tt.want || (problem == "") != (tt.problem == "") || !strings.Contains(problem, tt.problem) {
				t.Fatalf("clockSkew = %s, %q; want %s, %q", got, problem, tt.want, tt.problem)
			}
		})
	}
}

func TestRequestedDuration(t *testing.T) {
	for _, tt := range []struct {
		in   *int32
		want time.Duration
	}{
		{nil, time.Hour},
		{aws.Int32(900), 15 * time.Minute},
		{aws.Int32(43200), 12 * time.Hour},
	} {
		if got := requestedDuration(tt.in); got != tt.want {
			t.Errorf("requestedDuration(%v) = %s, want %s", aws.ToInt32(tt.in), got, tt.want)
		}
	}
}

func TestLocalExpiry(t *testing.T) {
	e := time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC)
	latest := e.Add(time.Hour)
	if got := localExpiry(e, 10*time.Minute, latest); !got.Equal(e.Add(-10 * time.Minute)) {
		t.Errorf("local clock behind: %s", got)
	}
	if got := localExpiry(e, -10*time.Minute, latest); !got.Equal(e.Add(10 * time.Minute)) {
		t.Errorf("local clock ahead: %s", got)
	}
	if got := localExpiry(time.Time{}, time.Hour, latest); !got.IsZero() {
		t.Errorf("zero expiry moved to %s", got)
	}
	// Never later than the arrival plus the requested duration: a lifetime
	// within the slack above the request is cut to the request.
	if got := localExpiry(e, -10*time.Minute, e.Add(5*time.Minute)); !got.Equal(e.Add(5 * time.Minute)) {
		t.Errorf("not bounded by latest: %s", got)
	}
	if got := localExpiry(e, -10*time.Minute, time.Time{}); !got.Equal(e.Add(10 * time.Minute)) {
		t.Errorf("zero latest bounds: %s", got)
	}
}
