package deviceflow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/securefile"
)

func sampleTokens() *Tokens {
	return &Tokens{
		Issuer: "https://idp.example.com", ClientID: "c",
		IDToken: "id.token.value", IDTokenExpiry: t0.Add(time.Hour),
		AccessToken: "access-value", AccessTokenExpiry: t0.Add(5 * time.Minute),
		RefreshToken: "refresh-value", Obtained: t0,
	}
}

// newFileStore returns a FileStore whose directory exists, as after its
// first save, so that tests can plant files in it.
func newFileStore(t *testing.T) *FileStore {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "awsoidc", "tokens")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fs, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestFileStoreCreatesDirOnWrite checks that a FileStore creates its
// directory (0700) on its first Lock or Save, and not before: NewFileStore,
// Load, Delete and DeleteLogins of a missing directory create nothing.
func TestFileStoreCreatesDirOnWrite(t *testing.T) {
	ctx := context.Background()
	for _, first := range []string{"Lock", "Save"} {
		t.Run(first, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "awsoidc", "tokens")
			fs, err := NewFileStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := fs.Load(ctx, "k"); ok || err != nil {
				t.Fatalf("Load() = %v, %v; want a miss", ok, err)
			}
			if err := fs.Delete(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			if n, err := fs.DeleteLogins(ctx, "https://idp.example.com", "c"); n != 0 || err != nil {
				t.Fatalf("DeleteLogins() = %d, %v", n, err)
			}
			if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the store created %s before writing: %v", filepath.Dir(dir), err)
			}
			if first == "Lock" {
				unlock, err := fs.Lock(ctx, "k")
				if err != nil {
					t.Fatal(err)
				}
				_ = unlock()
			} else if err := fs.Save(ctx, "k", sampleTokens()); err != nil {
				t.Fatal(err)
			}
			di, err := os.Stat(dir)
			if err != nil || !di.IsDir() || (runtime.GOOS != "windows" && di.Mode().Perm() != 0o700) {
				t.Fatalf("after %s: %v, %v; want a 0700 directory", first, di, err)
			}
		})
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	fs := newFileStore(t)
	const key = "https://idp.example.com c"
	if _, ok, err := fs.Load(ctx, key); ok || err != nil {
		t.Fatalf("empty Load() = %v, %v", ok, err)
	}
	want := sampleTokens()
	if err := fs.Save(ctx, key, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := fs.Load(ctx, key)
	if err != nil || !ok || *got != *want {
		t.Fatalf("Load() = %v, %v, %v", got, ok, err)
	}
	data, err := os.ReadFile(fs.Path(key))
	if err != nil || !strings.Contains(string(data), `"version": 1`) {
		t.Fatalf("file = %s, %v", data, err)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(fs.Path(key))
		di, _ := os.Stat(fs.dir)
		if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
			t.Errorf("modes: file %v, dir %v", fi.Mode(), di.Mode())
		}
	}
	if other := fs.Path("https://idp.example.com d"); other == fs.Path(key) || filepath.Dir(other) != fs.dir {
		t.Error("keys must map to distinct files in the store")
	}
	if err := fs.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := fs.Delete(ctx, key); err != nil {
		t.Fatalf("second Delete() = %v", err)
	}
	if _, ok, _ := fs.Load(ctx, key); ok {
		t.Fatal("tokens survived Delete")
	}
}

func TestFileStoreCorruptIsMiss(t *testing.T) {
	ctx := context.Background()
	fs := newFileStore(t)
	const key = "k"
	valid, _ := encodeTokens(sampleTokens())
	cases := map[string][]byte{
		"empty":       {},
		"truncated":   valid[:len(valid)/2],
		"not json":    []byte("\x00\x01garbage"),
		"array":       []byte(`[1,2]`),
		"old version": []byte(`{"version":0,"issuer":"i","client_id":"c","refresh_token":"r"}`),
		"new version": []byte(`{"version":2,"issuer":"i","client_id":"c","refresh_token":"r"}`),
		"no tokens":   []byte(`{"version":1,"issuer":"i","client_id":"c"}`),
		"bad time":    []byte(`{"version":1,"issuer":"i","client_id":"c","refresh_token":"r","obtained":"yesterday"}`),
		"trailing":    append(append([]byte{}, valid...), []byte(`{}`)...),
		"oversized":   []byte(strings.Repeat(" ", maxStoreFileSize+1)),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(fs.Path(key), data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, ok, err := fs.Load(ctx, key)
			if ok || err != nil || got != nil {
				t.Fatalf("Load() = %v, %v, %v: want a miss", got, ok, err)
			}
		})
	}
	// A save heals it.
	if err := fs.Save(ctx, key, sampleTokens()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := fs.Load(ctx, key); !ok {
		t.Fatal("no tokens after healing save")
	}
}

func TestFileStoreRefusals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	ctx := context.Background()

	t.Run("symlink", func(t *testing.T) {
		fs := newFileStore(t)
		target := filepath.Join(t.TempDir(), "elsewhere")
		if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, fs.Path("k")); err != nil {
			t.Fatal(err)
		}
		_, _, err := fs.Load(ctx, "k")
		var se *storeError
		if !errors.As(err, &se) || !errors.Is(err, securefile.ErrSymlink) {
			t.Fatalf("Load() = %v, want a symlink refusal", err)
		}
		if err := fs.Save(ctx, "k", sampleTokens()); !errors.Is(err, securefile.ErrSymlink) {
			t.Fatalf("Save() = %v, want a symlink refusal", err)
		}
	})

	t.Run("group readable file is a miss", func(t *testing.T) {
		fs := newFileStore(t)
		if err := fs.Save(ctx, "k", sampleTokens()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(fs.Path("k"), 0o640); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := fs.Load(ctx, "k"); ok || err != nil {
			t.Fatalf("Load() = %v, %v: want a miss", ok, err)
		}
	})

	t.Run("world writable dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "open")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if _, err := NewFileStore(dir); !errors.Is(err, securefile.ErrInsecureMode) {
			t.Fatalf("NewFileStore() = %v, want an insecure-mode refusal", err)
		}
	})

	t.Run("source reports store errors", func(t *testing.T) {
		fs := newFileStore(t)
		src, err := New("https://idp.example.com", testClientID, func(o *Options) { o.Store = fs })
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/null", fs.Path(src.key)); err != nil {
			t.Fatal(err)
		}
		_, err = src.Token(ctx)
		var se *storeError
		if !errors.As(err, &se) || se.op != "load" || !strings.HasPrefix(err.Error(), "deviceflow: token store load: ") {
			t.Fatalf("Token() = %v, want a store error of load", err)
		}
	})
}

func TestFileStoreLockExcludes(t *testing.T) {
	ctx := context.Background()
	fs := newFileStore(t)
	unlock, err := fs.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := fs.Lock(tctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Lock() = %v, want it to wait for ctx", err)
	}
	other, err := fs.Lock(ctx, "other key")
	if err != nil {
		t.Fatalf("other key: %v", err)
	}
	_ = other()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := fs.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	_ = again()
}

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	var m memStore
	if _, ok, _ := m.Load(ctx, "k"); ok {
		t.Fatal("hit on empty store")
	}
	want := sampleTokens()
	_ = m.Save(ctx, "k", want)
	got, ok, _ := m.Load(ctx, "k")
	if !ok || *got != *want {
		t.Fatal("round trip")
	}
	got.RefreshToken = "changed"
	if again, _, _ := m.Load(ctx, "k"); again.RefreshToken != want.RefreshToken {
		t.Fatal("Load must return a copy")
	}
	unlock, _ := m.Lock(ctx, "k")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Lock(cctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock() = %v", err)
	}
	_ = unlock()
	_ = unlock() // idempotent
	u2, err := m.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	_ = u2()
	_ = m.Delete(ctx, "k")
	if _, ok, _ := m.Load(ctx, "k"); ok {
		t.Fatal("hit after Delete")
	}
}

func TestSaveFailureKeepsTokensInMemory(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	store := &failingStore{memStore: newMemStore()}
	src, _, _ := newTestSource(t, idp, clk, func(o *Options) { o.Store = store; o.Interactive = false })
	seeded := seed(t, idp, store.memStore, t0.Add(-time.Minute), t0.Add(-time.Hour))
	store.fail = true
	ctx := testCtx(t)
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token() = %v: a failed save must not fail the caller", err)
	}
	// The rotated refresh token lives in memory only; the next refresh
	// must use it, not the dead one in the store.
	clk.Advance(2 * time.Hour)
	store.fail = false
	tok2, err := src.Token(ctx)
	if err != nil || tok2.Value == tok.Value {
		t.Fatalf("second Token() = %v, %v", tok2, err)
	}
	stored, _, _ := store.Load(ctx, src.key)
	if stored.RefreshToken == seeded.RefreshToken || stored.IDToken != tok2.Value {
		t.Fatal("the store did not catch up")
	}
}

// failingStore is a memStore whose Save fails while fail is set.
type failingStore struct {
	*memStore
	fail bool
}

func (f *failingStore) Save(ctx context.Context, key string, t *Tokens) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.memStore.Save(ctx, key, t)
}

// TestUnsavedTokensSurviveRefreshFailure keeps a rotated refresh token that
// only memory holds (the save failed) through a later transient refresh
// failure: serving the current token meanwhile must not make the Source
// fall back to the spent refresh token in the store.
func TestUnsavedTokensSurviveRefreshFailure(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	store := &failingStore{memStore: newMemStore()}
	src, _, _ := newTestSource(t, idp, clk, func(o *Options) { o.Store = store; o.Interactive = false })
	seed(t, idp, store.memStore, t0.Add(-time.Minute), t0.Add(-time.Hour))
	store.fail = true
	ctx := testCtx(t)
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	// Within the margin of the new ID token, the identity provider fails
	// once: the current token is served.
	clk.Advance(time.Hour - 30*time.Second)
	idp.set(func(i *fakeIdP) { i.faults = []fault{{status: 503}} })
	if _, err := src.Token(ctx); err != nil {
		t.Fatalf("Token() during the outage = %v", err)
	}
	// After expiry and the retry backoff, the refresh must use the rotated
	// refresh token held in memory.
	clk.Advance(5 * time.Minute)
	if _, err := src.Token(ctx); err != nil {
		t.Fatalf("Token() after the outage = %v: the rotated refresh token was lost", err)
	}
}

// TestFileStoreDeleteLogins removes every login of one issuer and client,
// whatever its key, and nothing else.
func TestFileStoreDeleteLogins(t *testing.T) {
	ctx := context.Background()
	fs := newFileStore(t)
	const iss = "https://idp.example.com"
	save := func(key, issuer, client string) {
		t.Helper()
		tok := sampleTokens()
		tok.Issuer, tok.ClientID = issuer, client
		if err := fs.Save(ctx, key, tok); err != nil {
			t.Fatal(err)
		}
	}
	plain := StoreKey(iss, "c")
	scoped := StoreKey(iss, "c", func(o *Options) { o.Scopes = []string{"openid", "profile"} })
	other := StoreKey(iss, "c2")
	save(plain, iss, "c")
	save(scoped, iss, "c")
	save(other, iss, "c2")
	corrupt := fs.Path("corrupt")
	if err := os.WriteFile(corrupt, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := fs.DeleteLogins(ctx, iss, "c")
	if err != nil || n != 2 {
		t.Fatalf("DeleteLogins() = %d, %v; want 2", n, err)
	}
	for key, want := range map[string]bool{plain: false, scoped: false, other: true} {
		if _, ok, _ := fs.Load(ctx, key); ok != want {
			t.Errorf("%q stored = %t, want %t", key, ok, want)
		}
	}
	if _, err := os.Stat(corrupt); err != nil {
		t.Errorf("the corrupt file was touched: %v", err)
	}
	if n, err := newFileStoreIn(t, filepath.Join(t.TempDir(), "empty")).DeleteLogins(ctx, iss, "c"); n != 0 || err != nil {
		t.Errorf("empty store: %d, %v", n, err)
	}
}

// newFileStoreIn is NewFileStore in dir, failing the test on error.
func newFileStoreIn(t *testing.T, dir string) *FileStore {
	t.Helper()
	fs, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
