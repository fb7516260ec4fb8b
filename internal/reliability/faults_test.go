package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/internal/securefile"
)

// This file holds the fault injections of the matrix that need more than
// one line: the file system ones, and the checks that go with them.

// root reports whether the tests run as root, who reads and writes through
// any permission bits: permission faults are then simulated otherwise.
var root = os.Geteuid() == 0

// symlinkSwap reproduces the kubelet's update of a projected token: the
// token path is a symlink into a data directory, swapped for a new one;
// a reader can find the path missing for a moment
// (aws/amazon-eks-pod-identity-webhook#34). Here it is missing at the first
// read and back, with a new token, when the source retries.
func symlinkSwap(t *testing.T, r *rig, _ phase) {
	if err := os.Remove(r.path); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(r.dir, "..data_2")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	tok := r.mint(0)
	r.fileClk.mu.Lock()
	r.fileClk.onSleep = func(n int) {
		if n != 1 {
			return
		}
		if err := os.WriteFile(filepath.Join(data, "token"), []byte(tok), 0o600); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(filepath.Join(data, "token"), r.path); err != nil {
			t.Error(err)
		}
	}
	r.fileClk.mu.Unlock()
}

// rotateDuring puts an expired token in the file and holds STS's answer,
// for releaseAfterRotation.
func rotateDuring(t *testing.T, r *rig, _ phase) {
	r.writeToken(r.mint(-time.Minute))
	r.hold(assume)
}

// releaseAfterRotation rotates the token while STS is answering the first
// request (with ExpiredTokenException), then lets it answer: the
// provider's one retry with a fresh token reads the new one.
func releaseAfterRotation(t *testing.T, r *rig, base int) {
	r.waitCalls(assume, base+1)
	r.writeToken(r.mint(0))
	r.releaseHolds()
}

// unreadable makes the token file unreadable: mode 0000, or, as root (who
// reads it anyway), a directory in its place.
func unreadable(t *testing.T, r *rig, _ phase) {
	if root {
		if err := os.Remove(r.path); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(r.path, 0o700); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.Chmod(r.path, 0); err != nil {
		t.Fatal(err)
	}
}

func unreadableNote() string {
	if root {
		return "a directory in its place: the tests run as root"
	}
	return "mode 0000"
}

// shortCtx is a caller with a 100 ms deadline.
func shortCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 100*time.Millisecond)
}

// drainHeld releases the held STS request after the caller gave up, and
// checks that the one refresh went on to its end and that its result is
// served without another STS call.
func drainHeld(t *testing.T, r *rig, _ phase) {
	events := r.eventCount()
	calls := r.s.calls()
	r.releaseHolds()
	r.waitEvents(events + 1)
	res := r.retrieve(context.Background(), nil)
	if res.err != nil || r.s.calls() != calls {
		t.Errorf("after the held refresh ended: %v, %d more STS calls", res.err, r.s.calls()-calls)
	}
}

// hammer calls Retrieve once a second of fake time for 10 minutes during
// the outage and checks that the cache's failure backoff bounds the STS
// calls: at most one refresh (MaxAttempts requests) per backoff step.
func hammer(t *testing.T, r *rig, ph phase) {
	start := r.s.calls()
	failures, ok := 0, 0
	for range 600 {
		r.clk.Advance(time.Second)
		res := r.retrieve(context.Background(), nil)
		if res.err != nil {
			failures++
		} else {
			ok++
		}
	}
	calls := r.s.calls() - start
	// Backoff with Rand 0.5: max(1 s, 0.5 × min(5 min, 2^n s)) — 1, 1, 2,
	// 4, ..., 128, 150, 150 s: 11 steps in 10 minutes, 5 requests each.
	const bound = 12 * 5
	if calls > bound {
		t.Errorf("%s: %d STS calls for 600 Retrieve calls in 10 minutes of outage, want at most %d", ph, calls, bound)
	}
	t.Logf("%s: 600 Retrieve calls over 10 minutes of outage: %d served, %d failed, %d STS calls (bound %d)", ph, ok, failures, calls, bound)
	if ph == warm && ok < 119 {
		t.Errorf("warm: only %d calls served; the cached credentials were valid for the first 2 minutes", ok)
	}
}

// expectLog checks that the rig logged substr.
func expectLog(substr string) func(*testing.T, *rig, phase) {
	return func(t *testing.T, r *rig, ph phase) {
		if !strings.Contains(r.log.String(), substr) {
			t.Errorf("%s: no log record mentions %q", ph, substr)
		}
	}
}

// failingStore is a cache.Store whose Save fails with err when set.
type failingStore struct {
	cache.Store
	save func(ctx context.Context, key string, creds aws.Credentials) error
}

func (s failingStore) Save(ctx context.Context, key string, creds aws.Credentials) error {
	return s.save(ctx, key, creds)
}

// unwritableStore is a FileStore whose directory cannot be written: mode
// 0500, or, as root (who writes anyway), a store whose writes fail with the
// permission error the operating system would return.
func unwritableStore(t *testing.T, r *rig) cache.Store {
	dir := filepath.Join(r.dir, "store")
	st, err := cache.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !root {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return st
	}
	return failingStore{Store: st, save: func(context.Context, string, aws.Credentials) error {
		return fmt.Errorf("cache: save credentials: %w", &securefile.Error{Op: "write", Path: st.Path(r.prov.CacheKey()), Err: fs.ErrPermission})
	}}
}

// errNoSpace is what a full disk returns.
var errNoSpace = &os.PathError{Op: "write", Path: "temp", Err: syscall.ENOSPC}

// fullStore is a FileStore whose writes, once r.full is set, go through
// securefile's atomic writer with a writer that fails like a full disk
// after 64 bytes. The real write path runs: temp file, failure, cleanup.
func fullStore(t *testing.T, r *rig) cache.Store {
	st, err := cache.NewFileStore(filepath.Join(r.dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	scratch, err := cache.NewFileStore(filepath.Join(r.dir, "scratch"))
	if err != nil {
		t.Fatal(err)
	}
	return failingStore{Store: st, save: func(ctx context.Context, key string, creds aws.Credentials) error {
		if !r.full.Load() {
			return st.Save(ctx, key, creds)
		}
		// The bytes the store would write, from a scratch store.
		if err := scratch.Save(ctx, key, creds); err != nil {
			return err
		}
		data, err := securefile.ReadFile(scratch.Path(key), 1<<20)
		if err != nil {
			return err
		}
		werr := securefile.WriteFile(st.Path(key), data, func(o *securefile.WriteOptions) {
			o.WrapWriter = func(w io.Writer) io.Writer { return &enospcWriter{w: w, left: 64} }
		})
		if werr == nil {
			return errors.New("the failing writer did not fail")
		}
		return fmt.Errorf("cache: save credentials: %w", werr)
	}}
}

// enospcWriter writes left bytes, then fails like a full disk.
type enospcWriter struct {
	w    io.Writer
	left int
}

func (e *enospcWriter) Write(p []byte) (int, error) {
	if len(p) <= e.left {
		e.left -= len(p)
		return e.w.Write(p)
	}
	n, _ := e.w.Write(p[:e.left])
	e.left = 0
	return n, errNoSpace
}

// fullInject makes the disk full from now on, and keeps the store file as
// it is, to compare.
func fullInject(t *testing.T, r *rig, _ phase) {
	r.storeSnap = readIfExists(t, storePath(r))
	r.full.Store(true)
}

// checkFull: the failed write left the old file byte for byte (or none),
// no temporary file, and a warning.
func checkFull(t *testing.T, r *rig, ph phase) {
	if got := readIfExists(t, storePath(r)); !bytes.Equal(got, r.storeSnap) {
		t.Errorf("%s: the failed write changed the store file", ph)
	}
	if ph == warm && len(r.storeSnap) == 0 {
		t.Errorf("warm: no store file before the fault")
	}
	entries, err := os.ReadDir(filepath.Dir(storePath(r)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") && !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("%s: %s left in the store directory", ph, e.Name())
		}
	}
	if !strings.Contains(r.log.String(), "no space left on device") {
		t.Errorf("%s: the full disk was not logged", ph)
	}
}

func storePath(r *rig) string {
	switch st := r.store.(type) {
	case *cache.FileStore:
		return st.Path(r.prov.CacheKey())
	case failingStore:
		return st.Store.(*cache.FileStore).Path(r.prov.CacheKey())
	}
	panic(fmt.Sprintf("store %T", r.store))
}

func readIfExists(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return b
}

// corruptStore replaces the store file with garbage, or cuts it in half.
func corruptStore(truncate bool) func(*testing.T, *rig, phase) {
	return func(t *testing.T, r *rig, _ phase) {
		path := storePath(r)
		data := []byte("\x00\x01 not json {{{")
		if truncate {
			data = readIfExists(t, path)
			if len(data) == 0 {
				data = []byte(`{"version": 1, "key": "` + strings.Repeat("0", 20))
			}
			data = data[:len(data)/2]
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// storeHealed: the corrupt file was a miss, and the save after the STS call
// replaced it with the credentials served.
func storeHealed(t *testing.T, r *rig, ph phase) {
	creds, ok, err := r.store.Load(context.Background(), r.prov.CacheKey())
	if err != nil || !ok || !creds.HasKeys() {
		t.Errorf("%s: store not healed: ok %v, err %v", ph, ok, err)
	}
}

// groupWritable makes the store directory group-writable after the store
// was opened: securefile refuses to read, lock or write there.
func groupWritable(t *testing.T, r *rig, _ phase) {
	dir := filepath.Dir(storePath(r))
	r.storeSnap = readIfExists(t, storePath(r))
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
}

// plantSymlink puts a symlink to a victim file in place of the store file.
func plantSymlink(t *testing.T, r *rig, _ phase) {
	victim := filepath.Join(r.dir, "victim")
	if err := os.WriteFile(victim, []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := storePath(r)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
}

// checkSymlink: the symlink was neither followed nor replaced, the victim
// is intact, and the refusal was logged.
func checkSymlink(t *testing.T, r *rig, ph phase) {
	if b, _ := os.ReadFile(filepath.Join(r.dir, "victim")); string(b) != "victim" {
		t.Errorf("%s: the symlink's target was written: %q", ph, b)
	}
	if fi, err := os.Lstat(storePath(r)); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("%s: the planted symlink was replaced (%v)", ph, err)
	}
	if !strings.Contains(r.log.String(), "symbolic link") {
		t.Errorf("%s: the refusal was not logged", ph)
	}
}

// recoversAfterBackoff: once the cache's failure backoff (1 s) has passed,
// the next Retrieve succeeds with one STS call.
func recoversAfterBackoff(t *testing.T, r *rig, ph phase) {
	r.clk.Advance(time.Second)
	base := r.s.calls()
	res := r.retrieve(context.Background(), nil)
	if res.err != nil || r.s.calls()-base != 1 {
		t.Errorf("%s: after the backoff: %v, %d STS calls", ph, res.err, r.s.calls()-base)
	}
}
