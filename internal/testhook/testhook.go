// Package testhook lets the module's tests set what a package keeps
// unexported: the clock of a value whose package has no public clock option
// (tokensource.File, tokensource.Reuse, deviceflow.Source). Users' tests need none of this: a
// fake clock is public on provider.Options and cache.Options, and
// testing/synctest drives the wall clock of code that no real socket
// blocks.
package testhook

import (
	"fmt"
	"sync"

	"github.com/awsoidc/awsoidc/clock"
)

var (
	mu      sync.Mutex                        // guards setters
	setters []func(v any, c clock.Clock) bool // registered by the packages served
)

// Register adds set, which sets the clock of v and reports true when v is
// one of its package's values. A package calls it from an init function.
func Register(set func(v any, c clock.Clock) bool) {
	mu.Lock()
	defer mu.Unlock()
	setters = append(setters, set)
}

// SetClock makes v tell time, and wait, on c instead of the wall clock.
// Call it before v's first use. It panics when no package registered v's
// type.
func SetClock(v any, c clock.Clock) {
	mu.Lock()
	defer mu.Unlock()
	for _, set := range setters {
		if set(v, c) {
			return
		}
	}
	panic(fmt.Sprintf("testhook: no clock to set in %T", v))
}
