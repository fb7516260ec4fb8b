package testhook

import (
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

type clocked struct{ c clock.Clock }

func TestSetClock(t *testing.T) {
	Register(func(v any, c clock.Clock) bool {
		x, ok := v.(*clocked)
		if ok {
			x.c = c
		}
		return ok
	})
	fake := clock.NewFake(time.Unix(0, 0))
	var x clocked
	SetClock(&x, fake)
	if x.c != fake {
		t.Fatal("SetClock did not set the clock")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SetClock of an unregistered type did not panic")
		}
	}()
	SetClock(&struct{}{}, fake)
}
