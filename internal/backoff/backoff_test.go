package backoff

import (
	"math"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	p := Policy{Min: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{2, 400 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, time.Second},
		{100, time.Second},
	}
	for _, tt := range tests {
		if got := p.Ceiling(tt.attempt); got != tt.want {
			t.Errorf("Ceiling(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
	if got := (Policy{}).Ceiling(3); got != 0 {
		t.Errorf("zero policy Ceiling = %v", got)
	}
	for _, tt := range []struct {
		name string
		p    Policy
		want []time.Duration // for attempts 0, 1, 2, ...
	}{
		{"no Max: Min every time", Policy{Min: time.Second}, []time.Duration{time.Second, time.Second, time.Second}},
		{"Max below Min", Policy{Min: time.Second, Max: time.Millisecond}, []time.Duration{time.Millisecond, time.Millisecond}},
		{"Max not a power of two of Min", Policy{Min: 2, Max: 5}, []time.Duration{2, 4, 5, 5}},
		{"huge Max", Policy{Min: time.Hour, Max: math.MaxInt64}, []time.Duration{time.Hour, 2 * time.Hour}},
	} {
		for attempt, want := range tt.want {
			if got := tt.p.Ceiling(attempt); got != want {
				t.Errorf("%s: Ceiling(%d) = %v, want %v", tt.name, attempt, got, want)
			}
		}
	}
	if got := (Policy{Min: time.Hour, Max: math.MaxInt64}).Ceiling(1000); got != math.MaxInt64 {
		t.Errorf("Ceiling(1000) with a huge Max = %v, want Max without overflow", got)
	}
}

func TestDelayFullJitter(t *testing.T) {
	p := Policy{Min: time.Second, Max: time.Minute, Rand: func() float64 { return 0.5 }}
	if got := p.Delay(2); got != 2*time.Second {
		t.Fatalf("Delay(2) = %v, want 2s", got)
	}
	p.Rand = nil
	for i := 0; i < 1000; i++ {
		if d := p.Delay(3); d < 0 || d > 8*time.Second {
			t.Fatalf("Delay(3) = %v, out of [0, 8s]", d)
		}
	}
}
