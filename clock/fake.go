package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Fake is a [Clock] whose time moves only when the test says so, through
// [Fake.Advance] or [Fake.Set]. Timers fire, in deadline order, when the fake
// time reaches their deadline. [Fake.WaitForTimers] lets a test wait, without
// sleeping, until the code under test has started waiting on the clock.
//
// A Fake is safe for concurrent use. The zero value is not usable: call
// [NewFake].
type Fake struct {
	mu      sync.Mutex // guards the fields below
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever timers changes
}

// NewFake returns a fake clock that reads t until it is advanced.
func NewFake(t time.Time) *Fake {
	return &Fake{now: t, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake time reaches Now()+d. A
// timer with d <= 0 fires at once.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, when: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	f.notifyLocked()
	return t
}

// Advance moves the fake time forward by d and fires every timer that falls
// due, in deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(f.now.Add(d))
}

// Set moves the fake time to t and fires every timer that falls due, in
// deadline order. Moving time backwards fires nothing.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(t)
}

// setLocked is Set with f.mu held, so that Advance reads and moves the time
// in one step: two concurrent Advance calls add up.
func (f *Fake) setLocked(t time.Time) {
	sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].when.Before(f.timers[j].when) })
	kept := f.timers[:0]
	for _, tm := range f.timers {
		if !tm.when.After(t) {
			tm.c <- tm.when
			continue
		}
		kept = append(kept, tm)
	}
	for i := len(kept); i < len(f.timers); i++ {
		f.timers[i] = nil
	}
	f.timers = kept
	f.now = t
	f.notifyLocked()
}

// Timers returns the number of timers waiting to fire.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// NextDeadline returns the deadline of the earliest waiting timer, and false
// when no timer waits.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next time.Time
	for _, tm := range f.timers {
		if next.IsZero() || tm.when.Before(next) {
			next = tm.when
		}
	}
	return next, !next.IsZero()
}

// WaitForTimers blocks until at least n timers are waiting to fire, or ctx is
// done. Tests call it to know that the code under test has reached a wait
// before they advance the clock.
func (f *Fake) WaitForTimers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		have, changed := len(f.timers), f.changed
		f.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f    *Fake
	when time.Time
	c    chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, tm := range t.f.timers {
		if tm == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			t.f.notifyLocked()
			return true
		}
	}
	return false
}
