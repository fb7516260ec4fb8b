package clock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFakeFiresInOrder(t *testing.T) {
	f := clock.NewFake(t0)
	late := f.NewTimer(2 * time.Second)
	early := f.NewTimer(time.Second)
	if got := f.Timers(); got != 2 {
		t.Fatalf("Timers() = %d, want 2", got)
	}
	if next, ok := f.NextDeadline(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextDeadline() = %v, %v", next, ok)
	}
	f.Advance(1500 * time.Millisecond)
	select {
	case at := <-early.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Fatalf("early fired at %v", at)
		}
	default:
		t.Fatal("early timer did not fire")
	}
	select {
	case <-late.C():
		t.Fatal("late timer fired too soon")
	default:
	}
	if !late.Stop() {
		t.Fatal("Stop() of a waiting timer = false")
	}
	if late.Stop() {
		t.Fatal("second Stop() = true")
	}
	f.Advance(time.Hour)
	select {
	case <-late.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if got, want := f.Now(), t0.Add(time.Hour+1500*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Now() = %v, want %v", got, want)
	}
}

func TestWaitForTimersHonoursContext(t *testing.T) {
	f := clock.NewFake(t0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.WaitForTimers(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitForTimers() = %v", err)
	}
}

func TestFakeConcurrentAdvance(t *testing.T) {
	f := clock.NewFake(t0)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { f.Advance(time.Second) })
	}
	wg.Wait()
	if got, want := f.Now(), t0.Add(50*time.Second); !got.Equal(want) {
		t.Fatalf("Now() after 50 concurrent Advance(1s) = %v, want %v", got, want)
	}
}
