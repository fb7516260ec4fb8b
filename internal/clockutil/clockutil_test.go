package clockutil_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/clockutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestSleep(t *testing.T) {
	f := clock.NewFake(t0)
	done := make(chan error, 1)
	go func() { done <- clockutil.Sleep(context.Background(), f, time.Minute) }()
	if err := f.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("Sleep() = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- clockutil.Sleep(ctx, f, time.Minute) }()
	if err := f.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep() after cancel = %v, want context.Canceled", err)
	}
	if f.Timers() != 0 {
		t.Fatalf("%d timers left after Sleep returned", f.Timers())
	}
	if err := clockutil.Sleep(context.Background(), f, 0); err != nil {
		t.Fatalf("Sleep(0) = %v", err)
	}
}

func TestRealClock(t *testing.T) {
	c := clockutil.OrReal(nil)
	if c != clockutil.Real() {
		t.Fatal("OrReal(nil) is not Real()")
	}
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	if tm.Stop() {
		t.Fatal("Stop() of a fired timer = true")
	}
	if c.Now().IsZero() {
		t.Fatal("Now() is zero")
	}
	f := clock.NewFake(t0)
	if clockutil.OrReal(f) != f {
		t.Fatal("OrReal(f) is not f")
	}
}
