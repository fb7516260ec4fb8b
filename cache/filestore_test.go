package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/securefile"
)

const testKey = "arn:aws:iam::123456789012:role/r|session|/var/run/token"

func newTestStore(t *testing.T) *FileStore {
	t.Helper()
	st, err := NewFileStore(filepath.Join(t.TempDir(), "creds"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testCreds(expires time.Time) aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     "AKIDSTORE",
		SecretAccessKey: "SECRET-store",
		SessionToken:    "TOKEN-store",
		Source:          "test",
		AccountID:       "123456789012",
		CanExpire:       true,
		Expires:         expires,
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	if _, ok, err := st.Load(ctx, testKey); ok || err != nil {
		t.Fatalf("Load of an empty store: %v, %v", ok, err)
	}
	want := testCreds(t0.Add(time.Hour))
	if err := st.Save(ctx, testKey, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Load(ctx, testKey)
	if err != nil || !ok {
		t.Fatalf("Load: %v, %v", ok, err)
	}
	if got.Expires.Equal(want.Expires) {
		got.Expires = want.Expires
	}
	if got != want {
		t.Errorf("Load = %+v; want %+v", got, want)
	}

	sum := sha256.Sum256([]byte(testKey))
	path := filepath.Join(st.dir, hex.EncodeToString(sum[:])+".json")
	if st.Path(testKey) != path {
		t.Errorf("Path = %s; want %s", st.Path(testKey), path)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode: %v, %v; want 0600", fi.Mode(), err)
		}
		if fi, err := os.Stat(st.dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("dir mode: %v, %v; want 0700", fi.Mode(), err)
		}
	}
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`"version": 1`)) {
		t.Errorf("file has no version field:\n%s", data)
	}

	// Another key is another file.
	if _, ok, _ := st.Load(ctx, "other"); ok {
		t.Error("Load of another key hit")
	}
}

// TestFileStoreMisses: whatever sits in the file, Load is a miss, never an
// error or a panic, and the next Save heals it.
func TestFileStoreMisses(t *testing.T) {
	valid, err := encodeEntry(testCreds(t0.Add(time.Hour)), keyHash(testKey), t0)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(from, to string) []byte {
		if !bytes.Contains(valid, []byte(from)) {
			t.Fatalf("%q not in the file", from)
		}
		return bytes.Replace(valid, []byte(from), []byte(to), 1)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated", valid[:len(valid)/2]},
		{"not JSON", []byte("\x00\x01garbage")},
		{"JSON array", []byte(`[1,2,3]`)},
		{"foreign JSON", []byte(`{"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"2030-01-01T13:00:00Z"}`)},
		{"other version", edit(`"version": 1`, `"version": 2`)},
		{"other key", edit(keyHash(testKey), keyHash("other"))},
		{"no secret", edit(`"secret_access_key": "SECRET-store"`, `"secret_access_key": ""`)},
		{"expiry missing", edit(`"expires": "2030-01-01T13:00:00Z",`, ``)},
		{"unknown field", edit(`"version": 1`, `"version": 1, "extra": true`)},
		{"trailing data", append(append([]byte{}, valid...), []byte(`{}`)...)},
		{"bad time", edit(`"expires": "2030-01-01T13:00:00Z"`, `"expires": "soon"`)},
		{"oversized", append(bytes.Repeat([]byte(" "), maxFileSize), valid...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore(t)
			if err := os.WriteFile(st.Path(testKey), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := st.Load(context.Background(), testKey); ok || err != nil {
				t.Fatalf("Load: ok %v, err %v; want a miss", ok, err)
			}
			if err := st.Save(context.Background(), testKey, testCreds(t0.Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := st.Load(context.Background(), testKey); !ok || err != nil {
				t.Fatalf("Load after Save: %v, %v", ok, err)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		if _, ok := decodeEntry(valid, keyHash(testKey)); !ok {
			t.Errorf("the valid file is a miss:\n%s", valid)
		}
	})
}

func TestFileStoreRefusals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions and symlinks")
	}

	t.Run("symlink in place of the file", func(t *testing.T) {
		st := newTestStore(t)
		target := filepath.Join(t.TempDir(), "elsewhere")
		if err := os.WriteFile(target, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, st.Path(testKey)); err != nil {
			t.Fatal(err)
		}
		_, ok, err := st.Load(context.Background(), testKey)
		if ok || !errors.Is(err, securefile.ErrSymlink) {
			t.Errorf("Load: %v, %v; want ErrSymlink", ok, err)
		}
		if err := st.Save(context.Background(), testKey, testCreds(t0.Add(time.Hour))); !errors.Is(err, securefile.ErrSymlink) {
			t.Errorf("Save: %v; want ErrSymlink", err)
		}
	})
	t.Run("group-writable directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "shared")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o770); err != nil {
			t.Fatal(err)
		}
		if _, err := NewFileStore(dir); !errors.Is(err, securefile.ErrInsecureMode) {
			t.Errorf("NewFileStore: %v; want ErrInsecureMode", err)
		}
	})
	t.Run("empty name", func(t *testing.T) {
		if _, err := NewFileStore(""); err == nil {
			t.Error("NewFileStore(\"\") did not fail")
		}
	})
}

func TestFileStoreLock(t *testing.T) {
	st := newTestStore(t)
	unlock, err := st.Lock(context.Background(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Lock(ctx, testKey); !errors.Is(err, context.Canceled) {
		t.Errorf("second Lock with a done ctx: %v; want context.Canceled", err)
	}
	other, err := st.Lock(context.Background(), "other key")
	if err != nil {
		t.Fatalf("the lock of another key: %v", err)
	}
	_ = other()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err = st.Lock(ctx, testKey)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	_ = unlock()
}

// TestCacheWithFileStore follows caches that share a store, as processes
// do.
func TestCacheWithFileStore(t *testing.T) {
	clk := clock.NewFake(t0)
	st := newTestStore(t)
	p := newTestProvider(clk, time.Hour)
	withStore := func(o *Options) { o.Store, o.StoreKey = st, testKey }

	// A fetches and saves; B, started later, loads A's credentials.
	a, evsA := newTestCache(t, clk, p, withStore)
	if got := mustRetrieve(t, a); got.AccessKeyID != "AKID1" {
		t.Fatalf("A: %s", got.AccessKeyID)
	}
	evsA.next(t)
	clk.Advance(10 * time.Minute)
	b, evsB := newTestCache(t, clk, p, withStore)
	if got := mustRetrieve(t, b); got.AccessKeyID != "AKID1" {
		t.Fatalf("B: %s; want A's AKID1 from the store", got.AccessKeyID)
	}
	evB := evsB.next(t)
	if evB.Outcome != OutcomeLoaded {
		t.Errorf("B's event: %+v", evB)
	}
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("provider calls = %d; want 1", n)
	}

	// At the refresh moment, A fetches; when B gets there, it loads A's
	// new credentials instead of calling the provider.
	clk.Set(t0.Add(45 * time.Minute))
	retrieveNow(t, a)
	if ev := evsA.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("A's refresh: %+v", ev)
	}
	// B planned its refresh on the 50 minutes left when it loaded: later.
	if !evB.NextRefresh.After(clk.Now()) {
		t.Fatalf("B's refresh at %v, before A's", evB.NextRefresh)
	}
	clk.Set(evB.NextRefresh)
	retrieveNow(t, b)
	if ev := evsB.next(t); ev.Outcome != OutcomeLoaded {
		t.Fatalf("B's refresh: %+v", ev)
	}
	if got := retrieveNow(t, b); got.AccessKeyID != "AKID2" {
		t.Errorf("B after refresh: %s; want AKID2", got.AccessKeyID)
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls = %d; want 2", n)
	}

	// Invalidate does not take the dropped credentials back from the store.
	b.Invalidate()
	if got := mustRetrieve(t, b); got.AccessKeyID != "AKID3" {
		t.Errorf("B after Invalidate: %s; want new credentials", got.AccessKeyID)
	}
	if ev := evsB.next(t); ev.Outcome != OutcomeFetched {
		t.Errorf("B's refetch: %+v", ev)
	}
}

// TestCacheIgnoresExpiredStoredCredentials: the store keeps no clock and
// returns expired credentials as stored; the cache judges them on its own
// clock, calls the provider and replaces them.
func TestCacheIgnoresExpiredStoredCredentials(t *testing.T) {
	clk := clock.NewFake(t0)
	st := newTestStore(t)
	ctx := context.Background()
	expired := testCreds(t0.Add(-time.Minute))
	if err := st.Save(ctx, testKey, expired); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := st.Load(ctx, testKey); !ok || err != nil || !got.Expires.Equal(expired.Expires) {
		t.Fatalf("Load of expired credentials: %v, %v, %v; want them as stored", got.Expires, ok, err)
	}
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.Store, o.StoreKey = st, testKey })
	if got := mustRetrieve(t, c); got.AccessKeyID != "AKID1" {
		t.Fatalf("Retrieve: %s; want the provider's AKID1, not the expired stored ones", got.AccessKeyID)
	}
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Errorf("event: %+v; want fetched", ev)
	}
	if got, ok, _ := st.Load(ctx, testKey); !ok || got.AccessKeyID != "AKID1" {
		t.Errorf("the store holds %s; want the new AKID1", got.AccessKeyID)
	}
}

// TestCacheStoreFailures: a broken store is logged and bypassed.
func TestCacheStoreFailures(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	clk := clock.NewFake(t0)
	st := newTestStore(t)
	if err := os.Symlink("/etc/passwd", st.Path(testKey)); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	p := newTestProvider(clk, time.Hour)
	c, _ := newTestCache(t, clk, p, func(o *Options) {
		o.Store, o.StoreKey = st, testKey
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if got := mustRetrieve(t, c); got.AccessKeyID != "AKID1" {
		t.Fatalf("Retrieve: %s", got.AccessKeyID)
	}
	out := logs.String()
	for _, want := range []string{"cannot load credentials from the store", "cannot save credentials to the store", "symbolic link"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") || strings.Contains(out, "root:") {
		t.Errorf("logs leak content:\n%s", out)
	}

	// A store whose Load fails in memory, too.
	ms := newMemStore()
	ms.loadErr = errors.New("disk on fire")
	c2, _ := newTestCache(t, clk, p, func(o *Options) { o.Store, o.StoreKey = ms, testKey })
	mustRetrieve(t, c2)
	if _, _, saves := ms.counts(); saves != 1 {
		t.Errorf("saves = %d; want 1", saves)
	}
}

// TestCacheStoreSequence follows the Cache through the Store's sequence on
// a cold start (Load; Lock, Load again, provider, Save; unlock) when each
// step goes its way: another process saves while we wait for the lock, the
// lock or the unlock fails, the provider fails or returns unusable
// credentials, the lock is not had before the refresh timeout.
func TestCacheStoreSequence(t *testing.T) {
	unusable := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{CanExpire: true, Expires: t0.Add(time.Hour)}, nil
	})
	tests := []struct {
		name    string
		setup   func(ms memStore, p *testProvider)
		p       aws.CredentialsProvider // nil: the testProvider
		wantErr error                   // nil: success
		outcome Outcome
		akid    string // the credentials served, on success

		loads, locks, saves int
		calls               int64  // provider calls
		log                 string // a warning that must be logged
	}{
		{name: "empty store", outcome: OutcomeFetched, akid: "AKID1",
			loads: 2, locks: 1, saves: 1, calls: 1},
		{name: "another process saves while we wait for the lock",
			setup: func(ms memStore, _ *testProvider) {
				ms.onLock = func(ctx context.Context, s memStore) error {
					return s.Save(ctx, testKey, testCreds(t0.Add(time.Hour)))
				}
			},
			outcome: OutcomeLoaded, akid: "AKIDSTORE", loads: 2, locks: 1, saves: 1, calls: 0},
		{name: "the lock fails: the provider without it",
			setup: func(ms memStore, _ *testProvider) {
				ms.onLock = func(context.Context, memStore) error { return errors.New("lock file on fire") }
			},
			outcome: OutcomeFetched, akid: "AKID1", loads: 1, locks: 1, saves: 1, calls: 1,
			log: "cannot lock the credentials store"},
		{name: "the unlock fails: logged",
			setup:   func(ms memStore, _ *testProvider) { ms.unlockErr = errors.New("unlock on fire") },
			outcome: OutcomeFetched, akid: "AKID1", loads: 2, locks: 1, saves: 1, calls: 1,
			log: "cannot unlock the credentials store"},
		{name: "the provider fails: nothing saved",
			setup:   func(_ memStore, p *testProvider) { p.setFail(errSTSDown) },
			wantErr: errSTSDown, outcome: OutcomeFailed, loads: 2, locks: 1, saves: 0, calls: 1},
		{name: "unusable credentials: not saved", p: unusable,
			wantErr: errInvalidCredentials, outcome: OutcomeFailed, loads: 2, locks: 1, saves: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			ms := newMemStore()
			tp := newTestProvider(clk, time.Hour)
			var p aws.CredentialsProvider = tp
			if tt.p != nil {
				p = tt.p
			}
			if tt.setup != nil {
				tt.setup(ms, tp)
			}
			var logs bytes.Buffer
			c, evs := newTestCache(t, clk, p, func(o *Options) {
				o.Store, o.StoreKey = ms, testKey
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			creds, err := c.Retrieve(context.Background())
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Retrieve: %v; want %v", err, tt.wantErr)
				}
			case err != nil || creds.AccessKeyID != tt.akid:
				t.Fatalf("Retrieve: %q, %v; want %s", creds.AccessKeyID, err, tt.akid)
			}
			if ev := evs.next(t); ev.Outcome != tt.outcome {
				t.Errorf("outcome %v; want %v", ev.Outcome, tt.outcome)
			}
			if loads, locks, saves := ms.counts(); loads != tt.loads || locks != tt.locks || saves != tt.saves {
				t.Errorf("store loads, locks, saves = %d, %d, %d; want %d, %d, %d", loads, locks, saves, tt.loads, tt.locks, tt.saves)
			}
			if got := tp.calls.Load(); got != tt.calls {
				t.Errorf("provider calls = %d; want %d", got, tt.calls)
			}
			if tt.log != "" && !strings.Contains(logs.String(), tt.log) {
				t.Errorf("logs lack %q:\n%s", tt.log, logs.String())
			}
			if ms.lock.TryLock() {
				ms.lock.Unlock()
			} else {
				t.Error("the store's lock is still held")
			}
		})
	}

	t.Run("the lock is not had before the refresh timeout", func(t *testing.T) {
		clk := clock.NewFake(t0)
		ms := newMemStore()
		waiting := make(chan struct{})
		ms.onLock = func(ctx context.Context, _ memStore) error {
			close(waiting)
			<-ctx.Done() // another process holds it
			return ctx.Err()
		}
		p := newTestProvider(clk, time.Hour)
		c, evs := newTestCache(t, clk, p, func(o *Options) {
			o.Store, o.StoreKey = ms, testKey
			o.RefreshTimeout = 30 * time.Second
		})
		errc := make(chan error, 1)
		go func() {
			_, err := c.Retrieve(context.Background())
			errc <- err
		}()
		<-waiting
		clk.Advance(30 * time.Second)
		err := <-errc
		var re *RefreshError
		if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "store lock") {
			t.Fatalf("Retrieve: %v; want a RefreshError for the store lock's timeout", err)
		}
		if ev := evs.next(t); ev.ErrorClass != "timeout" {
			t.Errorf("error class %q; want timeout", ev.ErrorClass)
		}
		if p.calls.Load() != 0 {
			t.Error("the provider was called without the lock after a timeout")
		}
	})
}

// TestStoreLoadedLifetime: credentials loaded from a store by a process
// that never saw the provider's lifetime are planned on what remains of
// them, and refreshed before expiry.
func TestStoreLoadedLifetime(t *testing.T) {
	clk := clock.NewFake(t0)
	ms := newMemStore()
	ms.m[testKey] = testCreds(t0.Add(20 * time.Minute))
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.Store, o.StoreKey = ms, testKey })
	mustRetrieve(t, c)
	ev := evs.next(t)
	if ev.Outcome != OutcomeLoaded || !ev.NextRefresh.Equal(t0.Add(15*time.Minute)) {
		t.Errorf("loaded: %v, next refresh +%v; want +15m (a quarter of 20m before expiry)", ev.Outcome, ev.NextRefresh.Sub(t0))
	}
	if p.calls.Load() != 0 {
		t.Error("the provider was called")
	}
}

func ExampleNewFileStore() {
	dir, err := os.MkdirTemp("", "awsoidc-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// One private directory shared by every process of the user.
	store, err := NewFileStore(filepath.Join(dir, "credentials"))
	if err != nil {
		panic(err)
	}
	provider := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		// In a program: provider.New(...) or provider.FromEnvironment(...).
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret",
			CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
	})
	c := New(provider, func(o *Options) {
		o.Store = store
		// What identifies the credentials: provider.Provider.CacheKey().
		o.StoreKey = "arn:aws:iam::123456789012:role/app|app-session"
	})
	defer c.Close()

	creds, err := c.Retrieve(context.Background())
	if err != nil {
		panic(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "credentials"))
	fmt.Println(creds.AccessKeyID, len(entries), "files")
	// Output: AKIDEXAMPLE 2 files
}
