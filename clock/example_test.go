package clock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

// A test drives the code under test through a fake clock: it waits until
// the code waits on the clock, then moves time, and never sleeps itself.
// In a real test the clock goes to cache.Options.Clock or
// provider.Options.Clock.
func ExampleFake() {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	done := make(chan time.Time)
	go func() { // the code under test: waits an hour
		t := clk.NewTimer(time.Hour)
		done <- <-t.C()
	}()

	_ = clk.WaitForTimers(context.Background(), 1) // the goroutine now waits
	clk.Advance(time.Hour)
	fmt.Println((<-done).Format(time.Kitchen), clk.Now().Format(time.Kitchen))
	// Output: 1:00AM 1:00AM
}
