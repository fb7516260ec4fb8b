package clock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

// A test drives the code under test through a fake clock: it waits until
// the code sleeps on the clock, then moves time, and never sleeps itself.
func ExampleFake() {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	done := make(chan error)
	go func() { done <- clock.Sleep(context.Background(), clk, time.Hour) }()

	_ = clk.WaitForTimers(context.Background(), 1) // the goroutine now sleeps
	clk.Advance(time.Hour)
	fmt.Println(<-done, clk.Now().Format(time.Kitchen))
	// Output: <nil> 1:00AM
}
