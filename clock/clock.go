// Package clock lets a test drive the time of a cache.Cache and a
// provider.Provider (their Options.Clock) with a [Fake], including in tests
// over real sockets, such as against ststest, where testing/synctest
// cannot help.
package clock

import "time"

// Clock tells the time and makes timers. Implementations must be safe for
// concurrent use. A nil Clock in an Options means the wall clock.
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
