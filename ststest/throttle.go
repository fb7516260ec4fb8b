package ststest

import (
	"math"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
	"weak"
)

// RateLimit is a token bucket for [Server.Throttle], the way STS limits
// the requests of one account at one endpoint (each regional endpoint and
// the global one have their own bucket; AWS publishes no figure and does
// not raise it on request).
type RateLimit struct {
	// Rate is how many requests a second the bucket refills; 0 or less
	// turns throttling off.
	Rate float64
	// Burst is how many requests the full bucket admits at once; less than
	// 1 means 1. The bucket starts full.
	Burst int
	// RetryAfter adds a Retry-After header (whole seconds until the bucket
	// holds a token again, at least 1) to every Throttling answer. STS
	// sends none; set it to test a client against servers that do.
	RetryAfter bool
}

// bucket is the state of a RateLimit, timed with the server's clock.
type bucket struct {
	mu     sync.Mutex // guards every field below
	limit  RateLimit
	tokens float64
	last   time.Time // when tokens was last brought up to date
}

// throttles holds each throttled Server's bucket; a Server's entry goes
// away when the Server is garbage collected.
var throttles sync.Map // weak.Pointer[Server] -> *bucket

// Throttle limits the server's STS requests, every action counted together
// as STS counts an account's requests at an endpoint, to l: a request that
// finds the bucket empty is answered at once with HTTP 400 and the Query
// error Throttling, "Rate exceeded", as STS does, before any fault, hold or
// latency scripted for it. Throttled requests count in [Server.Calls]. The
// identity provider's endpoints are never throttled.
//
// The bucket refills on [Options.Now], so it works under a fake clock or
// in a testing/synctest bubble. Each call starts from a full bucket; a
// zero RateLimit removes the limit.
func (s *Server) Throttle(l RateLimit) {
	key := weak.Make(s)
	if l.Rate <= 0 {
		throttles.Delete(key)
		return
	}
	l.Burst = max(l.Burst, 1)
	if _, loaded := throttles.Swap(key, &bucket{limit: l, tokens: float64(l.Burst), last: s.now()}); !loaded {
		// The entry must not outlive the server; key, a weak pointer, does
		// not keep s alive.
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { throttles.Delete(k) }, key)
	}
}

// take spends one token of the server's bucket and reports whether the
// request may go on; when it may not, retryAfter is when the bucket holds a
// token again.
func (s *Server) take() (ok bool, retryAfter time.Duration, l RateLimit) {
	v, found := throttles.Load(weak.Make(s))
	if !found {
		return true, 0, RateLimit{}
	}
	b := v.(*bucket)
	now := s.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(float64(b.limit.Burst), b.tokens+elapsed.Seconds()*b.limit.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, b.limit
	}
	wait := time.Duration((1 - b.tokens) / b.limit.Rate * float64(time.Second))
	return false, wait, b.limit
}

// writeThrottled answers Throttling, with a Retry-After of wait when l
// asks for one.
func (s *Server) writeThrottled(w http.ResponseWriter, action Action, wait time.Duration, l RateLimit) {
	if l.RetryAfter {
		w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10))
	}
	s.opts.logger.Debug("ststest throttled", "action", action)
	writeSTSError(w, newRequestID(), newError("Throttling", ""))
}
