// Package clockutil holds what the module's packages need around a
// [clock.Clock] and users' tests do not: the wall clock as a Clock, a
// default for a nil Clock, and a sleep on a Clock that ctx can end.
package clockutil

import (
	"context"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

// Real returns the wall clock, backed by [time.Now] and [time.NewTimer].
func Real() clock.Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) clock.Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// OrReal returns c, or the wall clock when c is nil.
func OrReal(c clock.Clock) clock.Clock {
	if c == nil {
		return Real()
	}
	return c
}

// Sleep waits for d on clk, or until ctx is done, whichever comes first. It
// returns ctx.Err() when ctx ends the wait, and nil otherwise. A d of zero or
// less returns at once (after checking ctx).
func Sleep(ctx context.Context, clk clock.Clock, d time.Duration) error {
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
