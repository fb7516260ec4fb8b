// Package clock is the time source of awsoidc: every expiry decision and
// every wait in the module goes through a [Clock], so tests drive time with a
// [Fake] instead of sleeping.
//
// It follows the shape of cenkalti/backoff's Clock and Timer and of go-oidc's
// per-instance now function: a clock is injected per instance through each
// package's Options, never through a package-level variable.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes timers. Implementations must be safe for
// concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a [Clock], like [time.Timer].
type Timer interface {
	// C returns the channel on which the firing time is delivered.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it stopped the
	// timer before it fired.
	Stop() bool
}

// Real returns the wall clock, backed by [time.Now] and [time.NewTimer].
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// OrReal returns c, or the wall clock when c is nil. Constructors use it to
// fill in a default.
func OrReal(c Clock) Clock {
	if c == nil {
		return Real()
	}
	return c
}

// Sleep waits for d on clk, or until ctx is done, whichever comes first. It
// returns ctx.Err() when ctx ends the wait, and nil otherwise. A d of zero or
// less returns at once (after checking ctx).
func Sleep(ctx context.Context, clk Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
