package provider

import (
	"testing"
	"time"
)

func TestClockSkewRule(t *testing.T) {
	local := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		server  time.Time
		local   time.Time
		want    time.Duration
		clamped bool
	}{
		{name: "no Date header", server: time.Time{}, local: local, want: 0},
		{name: "no local time", server: local, local: time.Time{}, want: 0},
		{name: "same time", server: local, local: local, want: 0},
		{name: "Date resolution and latency are noise", server: local.Add(-time.Second), local: local.Add(400 * time.Millisecond), want: 0},
		{name: "just under the threshold ahead", server: local.Add(MinClockSkew - time.Nanosecond), local: local, want: 0},
		{name: "just under the threshold behind", server: local.Add(-MinClockSkew + time.Nanosecond), local: local, want: 0},
		{name: "at the threshold", server: local.Add(MinClockSkew), local: local, want: MinClockSkew},
		{name: "local clock 10 minutes behind", server: local.Add(10 * time.Minute), local: local, want: 10 * time.Minute},
		{name: "local clock 10 minutes ahead", server: local.Add(-10 * time.Minute), local: local, want: -10 * time.Minute},
		{name: "at the cap", server: local.Add(MaxClockSkew), local: local, want: MaxClockSkew},
		{name: "absurd, clamped ahead", server: local.Add(30 * 24 * time.Hour), local: local, want: MaxClockSkew, clamped: true},
		{name: "absurd, clamped behind", server: local.AddDate(-5, 0, 0), local: local, want: -MaxClockSkew, clamped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, clamped := clockSkew(tt.server, tt.local)
			if got != tt.want || clamped != tt.clamped {
				t.Fatalf("clockSkew = %s, clamped %v; want %s, %v", got, clamped, tt.want, tt.clamped)
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
