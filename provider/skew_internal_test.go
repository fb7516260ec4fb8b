package provider

import (
	"testing"
	"time"
)

func TestClockSkewRule(t *testing.T) {
	local := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	// answer is an STS answer dated server that grants lifetime.
	type answer struct{ server, expires time.Time }
	at := func(offset, lifetime time.Duration) answer {
		return answer{local.Add(offset), local.Add(offset + lifetime)}
	}
	tests := []struct {
		name    string
		answer  answer
		local   time.Time
		want    time.Duration
		trusted bool
	}{
		{name: "no Date header", answer: answer{time.Time{}, local.Add(time.Hour)}, local: local, want: 0},
		{name: "no local time", answer: at(time.Hour, time.Hour), local: time.Time{}, want: 0},
		{name: "same time", answer: at(0, time.Hour), local: local, want: 0},
		{name: "Date resolution and latency are noise", answer: at(-time.Second, time.Hour), local: local.Add(400 * time.Millisecond), want: 0},
		{name: "just under the threshold ahead", answer: at(MinClockSkew-time.Nanosecond, time.Hour), local: local, want: 0},
		{name: "just under the threshold behind", answer: at(-MinClockSkew+time.Nanosecond, time.Hour), local: local, want: 0},
		{name: "noise with an implausible lifetime is still noise", answer: at(time.Second, 30*24*time.Hour), local: local, want: 0},
		{name: "at the threshold", answer: at(MinClockSkew, time.Hour), local: local, want: MinClockSkew, trusted: true},
		{name: "local clock 10 minutes behind", answer: at(10*time.Minute, time.Hour), local: local, want: 10 * time.Minute, trusted: true},
		{name: "local clock 10 minutes ahead", answer: at(-10*time.Minute, time.Hour), local: local, want: -10 * time.Minute, trusted: true},
		// The old ±12 h clamp left 18 h of expired credentials looking
		// valid here, and made fresh ones look 17 h expired below.
		{name: "local clock 30 hours behind", answer: at(30*time.Hour, time.Hour), local: local, want: 30 * time.Hour, trusted: true},
		{name: "local clock 30 hours ahead", answer: at(-30*time.Hour, time.Hour), local: local, want: -30 * time.Hour, trusted: true},
		{name: "local clock years behind", answer: at(5*365*24*time.Hour, 15*time.Minute), local: local, want: 5 * 365 * 24 * time.Hour, trusted: true},
		{name: "12-hour session", answer: at(time.Hour, MaxDuration), local: local, want: time.Hour, trusted: true},
		{name: "lifetime at the slack", answer: at(time.Hour, MaxAnswerLifetime), local: local, want: time.Hour, trusted: true},
		{name: "lifetime over the slack", answer: at(time.Hour, MaxAnswerLifetime+time.Second), local: local, want: time.Hour},
		{name: "Date of a cached answer, two days old", answer: at(-48*time.Hour, 49*time.Hour), local: local, want: -48 * time.Hour},
		{name: "Date after the Expiration", answer: at(2*time.Hour, -time.Hour), local: local, want: 2 * time.Hour},
		{name: "Date equal to the Expiration", answer: at(-time.Hour, 0), local: local, want: -time.Hour},
		{name: "no Expiration", answer: answer{local.Add(time.Hour), time.Time{}}, local: local, want: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, trusted := clockSkew(tt.answer.server, tt.answer.expires, tt.local)
			if got != tt.want || trusted != tt.trusted {
				t.Fatalf("clockSkew = %s, trusted %v; want %s, %v", got, trusted, tt.want, tt.trusted)
			}
		})
	}
}

func TestLocalExpiry(t *testing.T) {
	e := time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC)
	if got := localExpiry(e, 10*time.Minute); !got.Equal(e.Add(-10 * time.Minute)) {
		t.Errorf("local clock behind: %s", got)
	}
	if got := localExpiry(e, -10*time.Minute); !got.Equal(e.Add(10 * time.Minute)) {
		t.Errorf("local clock ahead: %s", got)
	}
	if got := localExpiry(time.Time{}, time.Hour); !got.IsZero() {
		t.Errorf("zero expiry moved to %s", got)
	}
}
