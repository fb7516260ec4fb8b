package securefile

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/clockutil"
)

// LockOptions tunes [Lock].
type LockOptions struct {
	// Clock drives the waits between attempts to take the file lock. Nil
	// means the wall clock; tests pass a [clock.Fake].
	Clock clock.Clock
}

// pollPolicy spaces the attempts to take a file lock held by another
// process: from about 1-2 ms, doubling, up to 50-100 ms ("equal jitter", so
// waiting processes do not retry in step yet never spin). A holder usually
// keeps the lock for one STS or token-endpoint call.
var pollPolicy = backoff.Policy{Min: 2 * time.Millisecond, Max: 100 * time.Millisecond}

// Lock takes the exclusive lock that guards path, across goroutines and
// processes, and returns the function that releases it. It waits until the
// lock is free or ctx is done; like golang.org/x/sync/semaphore, it makes
// one attempt even when ctx is already done, so a done ctx turns it into a
// try-lock. A ctx error comes back as an [*Error] that matches
// context.Canceled or context.DeadlineExceeded.
//
// The lock is an flock(2) (LockFileEx on Windows) lock, through
// github.com/gofrs/flock, on the file path+".lock", created with mode 0600
// and never removed: removing it would let two processes lock two different
// files of the same name. The operating system releases the lock when the
// holder's process exits, even by a crash. Goroutines of one process queue on
// an in-process lock and are handed over at once; a file lock held by
// another process is polled with capped, jittered backoff timed by
// [LockOptions.Clock].
//
// The directory must pass the checks of [EnsureDir], and a symbolic link in
// place of the lock file is refused. The lock is not reentrant: locking a
// path again before unlocking it waits for ctx. unlock may be called more
// than once; calls after the first return the first result.
func Lock(ctx context.Context, path string, optFns ...func(*LockOptions)) (unlock func() error, err error) {
	const op = "lock"
	var o LockOptions
	for _, fn := range optFns {
		fn(&o)
	}
	clk := clockutil.OrReal(o.Clock)
	lockPath := path + ".lock"
	if err := checkDir(op, filepath.Dir(lockPath)); err != nil {
		return nil, err
	}
	if _, err := checkEntry(op, lockPath); err != nil {
		return nil, err
	}

	release, err := acquireLocal(ctx, lockPath)
	if err != nil {
		return nil, &Error{Op: op, Path: lockPath, Rule: "the lock is held by another goroutine of this process", Err: err}
	}
	fl := flock.New(lockPath, flock.SetFlag(os.O_CREATE|os.O_RDWR|lockFlags), flock.SetPermissions(0o600))
	for attempt := 0; ; attempt++ {
		ok, err := fl.TryLock()
		if err != nil {
			release()
			if isSymlinkErr(err) { // swapped for a link after the Lstat
				return nil, symlinkError(op, lockPath)
			}
			return nil, newError(op, lockPath, err)
		}
		if ok {
			break
		}
		d := pollPolicy.Ceiling(attempt)/2 + pollPolicy.Delay(attempt)/2
		if err := clockutil.Sleep(ctx, clk, d); err != nil {
			release()
			return nil, &Error{Op: op, Path: lockPath, Rule: "the lock is held by another process", Err: err}
		}
	}

	var (
		once sync.Once
		uerr error
	)
	return func() error {
		once.Do(func() {
			if err := fl.Unlock(); err != nil {
				uerr = newError("unlock", lockPath, err)
			}
			release()
		})
		return uerr
	}, nil
}

// locals is the process-wide table of in-process locks, one per lock file.
// flock(2) and LockFileEx already exclude two handles of one process, but
// queueing on a channel instead of polling the file hands the lock to the
// next goroutine the moment it is released, and keeps the exclusion
// independent of how a platform scopes file locks (fcntl-based emulations
// are per process).
var locals = struct {
	mu sync.Mutex // guards m and every localLock.refs
	m  map[string]*localLock
}{m: make(map[string]*localLock)}

// localLock is the in-process lock of one lock file.
type localLock struct {
	sem  chan struct{} // capacity 1: holding its one token is holding the lock
	refs int           // holders and waiters; the entry goes when it drops to 0
}

// acquireLocal takes the in-process lock of the lock file key, waiting until
// it is free or ctx is done (after one attempt, as [Lock] documents).
func acquireLocal(ctx context.Context, key string) (release func(), err error) {
	if abs, err := filepath.Abs(key); err == nil {
		key = abs
	}
	locals.mu.Lock()
	l := locals.m[key]
	if l == nil {
		l = &localLock{sem: make(chan struct{}, 1)}
		locals.m[key] = l
	}
	l.refs++
	locals.mu.Unlock()

	drop := func() {
		locals.mu.Lock()
		defer locals.mu.Unlock()
		if l.refs--; l.refs == 0 {
			delete(locals.m, key)
		}
	}
	select {
	case l.sem <- struct{}{}:
	default:
		select {
		case l.sem <- struct{}{}:
		case <-ctx.Done():
			drop()
			return nil, ctx.Err()
		}
	}
	return func() {
		<-l.sem
		drop()
	}, nil
}
