package tokensource

import (
	"testing"
	"time"
)

func TestHeldTokenReusable(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := t0.Add(10 * time.Minute)
	const margin, maxAge = time.Minute, 30 * time.Second
	withExp := &heldToken{tok: Token{Value: "v", Expiry: exp}, fetched: t0}
	noExp := &heldToken{tok: Token{Value: "v"}, fetched: t0}
	tests := []struct {
		name   string
		h      *heldToken
		now    time.Time
		maxAge time.Duration
		want   bool
	}{
		{"nil", nil, t0, maxAge, false},
		{"empty value", &heldToken{tok: Token{Expiry: exp}, fetched: t0}, t0, maxAge, false},
		{"fresh", withExp, t0, 0, true},
		{"just before the margin", withExp, exp.Add(-margin - time.Nanosecond), 0, true},
		{"at the margin", withExp, exp.Add(-margin), 0, false},
		{"expired", withExp, exp.Add(time.Hour), 0, false},
		{"expiry wins over MaxAge", withExp, exp, time.Hour, false},
		{"no expiry, no MaxAge", noExp, t0, 0, false},
		{"no expiry, within MaxAge", noExp, t0.Add(maxAge - time.Nanosecond), maxAge, true},
		{"no expiry, at MaxAge", noExp, t0.Add(maxAge), maxAge, false},
		{"no expiry, clock went back", noExp, t0.Add(-time.Second), maxAge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.reusable(tt.now, margin, tt.maxAge); got != tt.want {
				t.Fatalf("reusable(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}
