// Package backoff computes capped exponential backoff with full jitter, the
// retry schedule shared by the provider's STS retries, the cache's failure
// backoff and the device flow's polling retries.
//
// See "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015): the
// "full jitter" variant draws each delay uniformly from [0, min(Max, Min·2^n)],
// which spreads a fleet's retries best for the fewest calls.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a capped exponential backoff with full jitter. The zero value
// is not useful; set Min and Max.
type Policy struct {
	// Min is the cap of the first delay (attempt 0). Zero or less means no
	// delay at all.
	Min time.Duration
	// Max caps every delay. Zero or less means Min: no growth.
	Max time.Duration
	// Rand returns a number in [0, 1). Nil means math/rand/v2's Float64.
	// Tests set it to make the schedule deterministic; returning a value
	// close to 1 gives the largest delay of each step.
	Rand func() float64
}

// Ceiling returns the largest delay of the given attempt (0-based):
// min(Max, Min·2^attempt), before jitter.
func (p Policy) Ceiling(attempt int) time.Duration {
	if p.Min <= 0 {
		return 0
	}
	limit := p.Max
	if limit <= 0 {
		limit = p.Min
	}
	d := min(p.Min, limit)
	for i := 0; i < attempt && d < limit; i++ {
		if d > limit/2 {
			return limit // doubling would pass the cap, or overflow
		}
		d *= 2
	}
	return d
}

// Delay returns the jittered delay before retry number attempt (0-based):
// uniform in [0, Ceiling(attempt)).
func (p Policy) Delay(attempt int) time.Duration {
	c := p.Ceiling(attempt)
	if c <= 0 {
		return 0
	}
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(r() * float64(c))
}
