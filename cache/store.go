package cache

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Store keeps credentials across processes, so that a new process, or many
// processes started at once, reuse credentials another one already fetched
// instead of calling STS again. [FileStore] is the implementation on disk.
//
// Implementations must be safe for concurrent use by goroutines and, for a
// shared store, by processes. A Store never logs or returns credential
// values in errors.
//
// [Cache] uses a Store in this order on a cold start or a refresh: Load;
// when that misses (or holds nothing fresher than what the cache has),
// Lock, Load again, and only then call its provider and Save, before
// unlocking. Load and Save are thus called both with and without the lock
// held, so they must not take it themselves.
type Store interface {
	// Load returns the credentials stored under key. A missing, corrupt,
	// truncated or foreign entry is a miss (ok == false, err == nil); err is
	// for failures worth reporting, such as an unreadable directory. Load
	// may return expired credentials: [Cache] judges what it loads on its
	// own clock.
	Load(ctx context.Context, key string) (creds aws.Credentials, ok bool, err error)
	// Save stores creds under key, replacing any previous entry atomically.
	Save(ctx context.Context, key string, creds aws.Credentials) error
	// Lock takes the cross-process lock of key, waiting until it is held or
	// ctx is done. The caller that holds it fetches; the others wait and
	// then Load what it saved. unlock releases the lock.
	Lock(ctx context.Context, key string) (unlock func() error, err error)
}
