package flight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/clock"
)

func TestMain(m *testing.M) {
	if os.Getenv("FLIGHT_TEST_PANIC") == "1" {
		panicInFlight()
		return
	}
	goleak.VerifyTestMain(m)
}

// Many callers while one call is in flight: the function runs once, and
// every caller gets its result (singleflight's TestDoDupSuppress, without
// sleeps: synctest.Wait makes sure every caller has joined before the call
// is released).
func TestDoDupSuppress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string]
		var calls atomic.Int32
		release := make(chan struct{})
		fn := func(context.Context) (string, error) {
			calls.Add(1)
			<-release
			return "bar", nil
		}

		first, started := g.Start(context.Background(), fn)
		if !started {
			t.Fatal("Start on an idle group did not start a call")
		}
		if c, started := g.Start(context.Background(), fn); started || c != first {
			t.Fatalf("Start while a call is in flight: started %v, same call %v", started, c == first)
		}
		const n = 10
		var wg sync.WaitGroup
		results := make(chan string, n)
		for range n {
			wg.Go(func() {
				v, err := g.Do(context.Background(), fn)
				if err != nil {
					t.Errorf("Do: %v", err)
				}
				results <- v
			})
		}
		synctest.Wait() // every caller waits for the call
		close(release)
		wg.Wait()
		close(results)
		for v := range results {
			if v != "bar" {
				t.Errorf("Do = %q, want bar", v)
			}
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("the function ran %d times, want 1", got)
		}
		if v, err := first.Result(); v != "bar" || err != nil {
			t.Errorf("Result() = %q, %v", v, err)
		}
	})
}

// Once a call has returned, the next Start starts another, and an error is
// each caller's until then only.
func TestSequentialCalls(t *testing.T) {
	var g Group[int]
	var calls atomic.Int32
	boom := errors.New("boom")
	fn := func(context.Context) (int, error) {
		if calls.Add(1) == 1 {
			return 0, boom
		}
		return 2, nil
	}
	if _, err := g.Do(context.Background(), fn); !errors.Is(err, boom) {
		t.Fatalf("first Do = %v, want boom", err)
	}
	if v, err := g.Do(context.Background(), fn); v != 2 || err != nil {
		t.Fatalf("second Do = %d, %v, want 2 (a failed call is not kept)", v, err)
	}
	g.Wait()
}

// A waiter leaves through its own ctx with ctx's error; the call goes on,
// uncancelled, and the other waiters get its result.
func TestWaiterCancellation(t *testing.T) {
	var g Group[string]
	release := make(chan struct{})
	fnCtx := make(chan context.Context, 1)
	fn := func(ctx context.Context) (string, error) {
		fnCtx <- ctx
		<-release
		return "done", ctx.Err()
	}

	starter, cancelStarter := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	call, _ := g.Start(starter, fn)
	ctx := <-fnCtx
	if ctx.Value(ctxKey{}) != "v" {
		t.Error("the call's ctx lost the starter's values")
	}

	leaver, leave := context.WithCancel(context.Background())
	leaveErr := make(chan error, 1)
	go func() {
		_, err := g.Do(leaver, fn)
		leaveErr <- err
	}()
	leave()
	if err := <-leaveErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do after its ctx was cancelled = %v, want context.Canceled", err)
	}
	cancelStarter()
	if ctx.Err() != nil {
		t.Fatalf("the call's ctx ended with the starter's: %v", ctx.Err())
	}
	select {
	case <-call.Done():
		t.Fatal("the call ended when its waiters left")
	default:
	}
	close(release)
	if v, err := call.Wait(context.Background()); v != "done" || err != nil {
		t.Fatalf("Wait = %q, %v", v, err)
	}
}

type ctxKey struct{}

// Forget lets the next Start begin a call while the forgotten one runs on;
// forgetting a call that is no longer in flight changes nothing.
func TestForget(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	first, _ := g.Start(context.Background(), func(context.Context) (int, error) {
		<-release
		return 1, nil
	})
	g.Forget(first)
	second, started := g.Start(context.Background(), func(context.Context) (int, error) { return 2, nil })
	if !started || second == first {
		t.Fatal("Start after Forget joined the forgotten call")
	}
	<-second.Done()
	g.Forget(first) // no longer in flight: a no-op
	close(release)
	if v, _ := first.Wait(context.Background()); v != 1 {
		t.Errorf("the forgotten call returned %d, want 1", v)
	}
	g.Wait()
}

// Wait returns once every call started has returned.
func TestGroupWait(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	var returned atomic.Bool
	g.Start(context.Background(), func(context.Context) (int, error) {
		<-release
		returned.Store(true)
		return 0, nil
	})
	close(release)
	g.Wait()
	if !returned.Load() {
		t.Fatal("Wait returned before the call")
	}
}

// A call is bounded by Timeout on the wall clock (here synctest's bubble),
// with a real deadline.
func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := Group[time.Duration]{Timeout: time.Minute}
		start := time.Now()
		v, err := g.Do(context.Background(), func(ctx context.Context) (time.Duration, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("the call's ctx has no deadline")
			}
			<-ctx.Done()
			return time.Since(start), ctx.Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) || v != time.Minute {
			t.Fatalf("Do = %v, %v, want the timeout after 1m", v, err)
		}
	})
}

// On a fake clock, the timeout fires when the clock reaches it, with
// context.DeadlineExceeded for the call's ctx and every ctx derived from it;
// a call that returns before leaves no timer and no goroutine behind.
func TestClockTimeout(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	g := Group[error]{Timeout: time.Minute, Clock: clk}
	derivedErr := make(chan error, 1)
	call, _ := g.Start(context.Background(), func(ctx context.Context) (error, error) {
		if _, ok := ctx.Deadline(); ok {
			t.Error("a fake clock's timeout set a deadline")
		}
		derived, cancel := context.WithCancel(ctx)
		defer cancel()
		<-derived.Done()
		derivedErr <- derived.Err()
		return nil, ctx.Err()
	})
	if err := clk.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute - time.Nanosecond)
	select {
	case <-call.Done():
		t.Fatal("the call ended before its timeout")
	default:
	}
	clk.Advance(time.Nanosecond)
	if _, err := call.Wait(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the call's ctx ended with %v, want context.DeadlineExceeded", err)
	}
	if err := <-derivedErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a derived ctx ended with %v, want context.DeadlineExceeded", err)
	}

	if _, err := g.Do(context.Background(), func(context.Context) (error, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	g.Wait()
	if n := clk.Timers(); n != 0 {
		t.Errorf("%d timers left on the clock after the calls returned", n)
	}
}

// A panic in the function is not recovered: it crashes the program with
// the panic's value and the function's stack. The test runs a child
// process that panics in a call.
func TestPanicCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLIGHT_TEST_PANIC=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("child process: %v, want exit status 2 (a panic); output:\n%s", err, out)
	}
	for _, want := range []string{"panic: flight test panic", "flight.panicInFlight.func"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the crash output lacks %q:\n%s", want, out)
		}
	}
}

// panicInFlight runs, in the child process of TestPanicCrashes, a call that
// panics while a caller waits for it. It never returns normally.
func panicInFlight() {
	var g Group[int]
	_, err := g.Do(context.Background(), func(context.Context) (int, error) {
		panic("flight test panic")
	})
	fmt.Println("Do returned after a panic:", err)
	os.Exit(0)
}

// Contexts derived from a call's ctx on a fake clock end with it, through
// its AfterFunc, and context.AfterFunc runs once; stopping it first keeps
// it from running.
func TestClockTimeoutDerived(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	ctx, cancel := withClockTimeout(context.Background(), clk, time.Second)
	defer cancel()
	derived, cancelDerived := context.WithCancel(ctx)
	defer cancelDerived()
	ran := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ran) })
	stopped := context.AfterFunc(ctx, func() { t.Error("a stopped AfterFunc ran") })
	if !stopped() {
		t.Fatal("stop() of a pending AfterFunc = false")
	}
	clk.Advance(time.Second)
	<-ran
	<-derived.Done()
	if !errors.Is(derived.Err(), context.DeadlineExceeded) {
		t.Fatalf("derived Err() = %v", derived.Err())
	}
	late, cancelLate := context.WithCancel(ctx)
	defer cancelLate()
	if !errors.Is(late.Err(), context.DeadlineExceeded) {
		t.Fatalf("a ctx derived after the timeout: Err() = %v", late.Err())
	}
	ctx.(*clockCtx).AfterFunc(func() {}) // done already: runs at once
}

// fmt prints no result of a call, whatever the verb: a result may hold a
// secret, and fmt prints unexported fields without their own methods.
func TestCallPrintsNoResult(t *testing.T) {
	var g Group[string]
	c, _ := g.Start(context.Background(), func(context.Context) (string, error) {
		return "SECRET-value", errors.New("SECRET-error")
	})
	<-c.Done()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d"} {
		for _, v := range []any{c, *c, &g} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "SECRET") {
				t.Errorf("%s of %T prints the result: %s", verb, v, out)
			}
		}
	}
}
