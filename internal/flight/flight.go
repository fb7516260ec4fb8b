// Package flight runs one call of a function at a time for many callers:
// the first caller starts it, the others join it, and each may stop waiting
// through its own ctx without cancelling the call for the rest.
//
// It is x/sync/singleflight's call{wg, val, err} for a single key, with a
// done channel in place of the WaitGroup, so that waiters can select on it
// and on ctx.Done(). The call runs in its own goroutine under
// context.WithoutCancel(ctx) of the caller that started it, plus the
// group's optional timeout.
//
// A panic in the function is not recovered: it crashes the program, with
// the function's stack, as a panic in any goroutine does. Recovering it
// would hand the waiters an error for a programming bug, and leave whatever
// state the function was changing half done.
package flight

import (
	"context"
	"sync"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

// Group runs one call at a time. The zero Group is ready to use, without a
// timeout. A Group must not be copied after first use.
type Group[T any] struct {
	// Timeout, when positive, bounds each call: the ctx given to the
	// function is done Timeout after the call starts, measured on Clock,
	// with Err context.DeadlineExceeded.
	Timeout time.Duration
	// Clock measures Timeout. Nil means the wall clock (context.WithTimeout,
	// whose deadline the network stack sees).
	Clock clock.Clock

	mu sync.Mutex     // guards c
	c  *Call[T]       // the call in flight; nil when none
	wg sync.WaitGroup // counts the calls running
}

// Call is one call of the function. Its result is set once Done is closed.
type Call[T any] struct {
	done chan struct{} // closed when the function has returned and result is set
	// result returns the function's result. It is a func because fmt
	// prints unexported fields by reflection, without their Format or
	// String methods, and a func as an address whatever the verb: a result
	// that holds a secret stays unprinted.
	result func() (T, error)
}

// Start returns the call in flight, or else starts fn in a new goroutine
// and returns its call; started reports which. fn runs under
// context.WithoutCancel(ctx) (ctx's values, not its cancellation) bounded by
// the group's Timeout.
func (g *Group[T]) Start(ctx context.Context, fn func(context.Context) (T, error)) (c *Call[T], started bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c != nil {
		return g.c, false
	}
	c = &Call[T]{done: make(chan struct{})}
	g.c = c
	g.wg.Add(1)
	go g.run(context.WithoutCancel(ctx), c, fn)
	return c, true
}

// Do starts a call of fn, or joins the one in flight, and waits for its
// result or for ctx to be done, whichever comes first (then it returns
// ctx.Err(), and the call goes on for the others).
func (g *Group[T]) Do(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	c, _ := g.Start(ctx, fn)
	return c.Wait(ctx)
}

// Forget makes c no longer the call in flight, if it is: the next Start
// starts a new call even while c runs on. A function calls it on its own
// call once its outcome is in effect, when what it does afterwards
// (reporting, say) must not hold up the next call.
func (g *Group[T]) Forget(c *Call[T]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c == c {
		g.c = nil
	}
}

// Wait waits until every call started has returned. A Start that races
// with Wait while no call runs may or may not be waited for; callers that
// need all of them stop starting calls first.
func (g *Group[T]) Wait() { g.wg.Wait() }

func (g *Group[T]) run(ctx context.Context, c *Call[T], fn func(context.Context) (T, error)) {
	defer g.wg.Done()
	ctx, cancel := g.withTimeout(ctx)
	// No recover: a panic in fn crashes the program (see the package doc).
	val, err := fn(ctx)
	c.result = func() (T, error) { return val, err }
	cancel()
	g.Forget(c)
	close(c.done)
}

// withTimeout bounds ctx by g.Timeout on g.Clock.
func (g *Group[T]) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	switch {
	case g.Timeout <= 0:
		return ctx, func() {}
	case g.Clock == nil:
		return context.WithTimeout(ctx, g.Timeout)
	}
	return withClockTimeout(ctx, g.Clock, g.Timeout)
}

// Done returns a channel that is closed when the call has returned.
func (c *Call[T]) Done() <-chan struct{} { return c.done }

// Result returns the call's result. It must be called only after Done is
// closed.
func (c *Call[T]) Result() (T, error) { return c.result() }

// Wait waits for the call's result, or for ctx to be done, whichever comes
// first; then it returns ctx.Err().
func (c *Call[T]) Wait(ctx context.Context) (T, error) {
	select {
	case <-c.done:
		return c.result()
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// withClockTimeout is context.WithTimeout on a clock other than the wall
// clock. Its cancel func returns once the goroutine that watches the timer
// has exited.
func withClockTimeout(parent context.Context, clk clock.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx := &clockCtx{Context: parent, done: make(chan struct{})}
	t := clk.NewTimer(d)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer t.Stop()
		select {
		case <-t.C():
			ctx.cancel(context.DeadlineExceeded)
		case <-parent.Done():
			ctx.cancel(parent.Err())
		case <-ctx.done:
		}
	}()
	return ctx, func() {
		ctx.cancel(context.Canceled)
		<-exited
	}
}

// clockCtx is the context of withClockTimeout. Its Err is
// context.DeadlineExceeded after a timeout on the clock, as after a real
// one, and so is the Err of every context derived from it: it is not built
// on a context.WithCancel, whose Err (context.Canceled) derived contexts
// would take. Deadline and Value are the parent's: a deadline on a fake
// clock would mean nothing to the network stack.
type clockCtx struct {
	context.Context // the parent
	done            chan struct{}
	once            sync.Once
	mu              sync.Mutex       // guards err and after
	err             error            // set when done is closed
	after           map[*func()]bool // funcs to call when done is closed, by AfterFunc
}

func (c *clockCtx) Done() <-chan struct{} { return c.done }

func (c *clockCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc arranges for f to be called once c is done. The context
// package calls it for contexts derived from c (context.WithCancel,
// context.AfterFunc), which then need no goroutine of their own to watch c.
func (c *clockCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		f()
		return func() bool { return false }
	}
	if c.after == nil {
		c.after = make(map[*func()]bool)
	}
	key := &f
	c.after[key] = true
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		stopped := c.after[key]
		delete(c.after, key)
		return stopped
	}
}

// cancel ends the context with err; only the first call counts.
func (c *clockCtx) cancel(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		after := c.after
		c.after = nil
		close(c.done)
		c.mu.Unlock()
		for f := range after {
			(*f)()
		}
	})
}
