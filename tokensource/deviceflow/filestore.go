package deviceflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/awsoidc/awsoidc/internal/securefile"
)

// maxStoreFileSize caps a token file: three tokens of a few KiB each.
const maxStoreFileSize = 1 << 20

// FileStore is a [TokenStore] that keeps each key's tokens in a JSON file
// (with a "version" field) of its own, mode 0600 in a 0700 directory that it
// creates when it first locks or saves, written atomically and guarded by a file lock that excludes other
// goroutines and other processes. A corrupt, truncated, oversized or
// group-readable file is a miss (the next save replaces it); a symbolic link
// or other non-regular file in its place, or an insecure directory, is an
// error.
//
// A FileStore is safe for concurrent use by goroutines and processes.
type FileStore struct {
	dir string
}

// defaultStoreDir returns os.UserCacheDir()/awsoidc/tokens, the directory of
// the default [FileStore].
func defaultStoreDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", &storeError{op: "locate", err: err}
	}
	return filepath.Join(base, "awsoidc", "tokens"), nil
}

// NewFileStore returns a [FileStore] in dir. It creates nothing: dir is
// created (mode 0700) on the first [FileStore.Lock] or [FileStore.Save]. An
// existing dir that is writable by group or others, or owned by another
// user, is refused.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, &ValidationError{Field: "dir", Rule: "must not be empty"}
	}
	if _, err := os.Stat(dir); err == nil { //nolint:gosec // G703: the store's directory, as the caller chose it
		// It exists: EnsureDir only checks it.
		if err := securefile.EnsureDir(dir); err != nil {
			return nil, &storeError{op: "open", err: err}
		}
	}
	return &FileStore{dir: dir}, nil
}

// Path returns the file that holds the tokens of key: a hash of the key, so
// that any key makes a safe file name.
func (s *FileStore) Path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.dir, hex.EncodeToString(sum[:16])+".json")
}

// Load implements [TokenStore].
func (s *FileStore) Load(_ context.Context, key string) (*Tokens, bool, error) {
	path := s.Path(key)
	data, err := securefile.ReadFile(path, maxStoreFileSize)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		return nil, false, nil
	case errors.Is(err, securefile.ErrTooLarge), isFileModeRefusal(err, path):
		return nil, false, nil // replaced by the next save
	default:
		return nil, false, &storeError{op: "load", err: err}
	}
	t, err := decodeTokens(data)
	if err != nil {
		return nil, false, nil // corrupt: replaced by the next save
	}
	return t, true, nil
}

// isFileModeRefusal reports a token file (not its directory) that group or
// others may access: its tokens may have leaked, so it is not used, and the
// next save replaces it with a 0600 file.
func isFileModeRefusal(err error, path string) bool {
	var se *securefile.Error
	return errors.Is(err, securefile.ErrInsecureMode) && errors.As(err, &se) && se.Path == path
}

// Save implements [TokenStore].
func (s *FileStore) Save(_ context.Context, key string, t *Tokens) error {
	data, err := encodeTokens(t)
	if err != nil {
		return &storeError{op: "save", err: fmt.Errorf("encode: %w", err)}
	}
	if err := securefile.EnsureDir(s.dir); err != nil {
		return &storeError{op: "save", err: err}
	}
	if err := securefile.WriteFile(s.Path(key), data); err != nil {
		return &storeError{op: "save", err: err}
	}
	return nil
}

// Delete implements [TokenStore].
func (s *FileStore) Delete(_ context.Context, key string) error {
	if err := securefile.Remove(s.Path(key)); err != nil {
		return &storeError{op: "delete", err: err}
	}
	return nil
}

// Lock implements [TokenStore] with a file lock next to the key's file.
func (s *FileStore) Lock(ctx context.Context, key string) (func() error, error) {
	if err := securefile.EnsureDir(s.dir); err != nil {
		return nil, &storeError{op: "lock", err: err}
	}
	unlock, err := securefile.Lock(ctx, s.Path(key))
	if err != nil {
		return nil, &storeError{op: "lock", err: err}
	}
	return unlock, nil
}

// DeleteLogins removes the tokens of every login of issuer and clientID in
// the store, whatever the scopes, AuthParams and UseAccessToken they were
// stored for (each has its own [StoreKey]), each file under its lock, and
// returns how many it removed. A file it cannot read, or that is not a
// token file, is left alone.
func (s *FileStore) DeleteLogins(ctx context.Context, issuer, clientID string) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, &storeError{op: "delete", err: err}
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		removed, err := s.deleteLogin(ctx, filepath.Join(s.dir, e.Name()), issuer, clientID)
		if err != nil {
			errs = append(errs, err)
		}
		if removed {
			n++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return n, &storeError{op: "delete", err: err}
	}
	return n, nil
}

// deleteLogin removes the token file at path, under its lock, when it holds
// tokens of issuer and clientID.
func (s *FileStore) deleteLogin(ctx context.Context, path, issuer, clientID string) (removed bool, err error) {
	unlock, err := securefile.Lock(ctx, path)
	if err != nil {
		return false, err
	}
	defer func() {
		if uerr := unlock(); err == nil {
			err = uerr
		}
	}()
	data, err := securefile.ReadFile(path, maxStoreFileSize)
	if err != nil {
		return false, nil // missing, or unreadable: left as it is
	}
	t, err := decodeTokens(data)
	if err != nil || t.Issuer != issuer || t.ClientID != clientID {
		return false, nil
	}
	if err := securefile.Remove(path); err != nil {
		return false, err
	}
	return true, nil
}
