package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/internal/securefile"
)

// fileFormatVersion is the version of the JSON file format of [FileStore].
// A file of any other version is a miss, and is replaced on the next save.
const fileFormatVersion = 1

// maxFileSize is the largest file Load reads; a larger one is foreign, hence
// a miss. Session tokens are a few KiB at most.
const maxFileSize = 64 << 10

// FileStore is a [Store] on disk: one JSON file per key in a private
// directory, written atomically and guarded by a cross-process file lock.
// It is safe for concurrent use by goroutines and processes.
type FileStore struct {
	dir string
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a [FileStore] that keeps credentials in dir, creating
// dir with mode 0700 if needed. An existing dir that is not a directory, is
// writable by group or others, or (on Unix) is owned by another user is
// refused with an error naming it.
//
// Each key is one file, named by the hex SHA-256 of the key plus ".json",
// mode 0600, holding a version number, the key's hash, the credentials
// (secrets included: the file is private, like ~/.aws/cli/cache) and their
// expiry. The file is replaced by temp file + fsync + rename and guarded by
// a sibling ".lock" file (flock(2), LockFileEx on Windows). A missing,
// corrupt, truncated, foreign or other-version file is a miss, never an
// error or a panic; a symbolic link or other tampering in place of a file
// is an error, which [Cache] logs before calling its provider.
//
// The store keeps no clock: Load returns stored credentials whatever their
// expiry, and the [Cache] judges them on its own [Options.Clock].
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("cache: NewFileStore: empty directory name")
	}
	if err := securefile.EnsureDir(dir); err != nil {
		return nil, fmt.Errorf("cache: NewFileStore: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// Path returns the file that holds key.
func (s *FileStore) Path(key string) string {
	return filepath.Join(s.dir, keyHash(key)+".json")
}

// Load implements [Store]. A missing, corrupt, truncated, foreign or
// other-version entry is a miss (ok false, err nil); expired credentials
// are returned as stored. err reports what is worth a warning: an unusable
// directory, a symbolic link or another non-regular file in place of the
// entry, a file that others may access (which the next Save replaces).
func (s *FileStore) Load(ctx context.Context, key string) (aws.Credentials, bool, error) {
	if err := ctx.Err(); err != nil {
		return aws.Credentials{}, false, err
	}
	data, err := securefile.ReadFile(s.Path(key), maxFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, securefile.ErrTooLarge):
		return aws.Credentials{}, false, nil
	case err != nil:
		return aws.Credentials{}, false, fmt.Errorf("cache: load credentials: %w", err)
	}
	creds, ok := decodeEntry(data, keyHash(key))
	return creds, ok, nil
}

// Save implements [Store]: it replaces the entry of key atomically. It does
// not take the lock; [Cache] holds it around the provider call and the save.
func (s *FileStore) Save(ctx context.Context, key string, creds aws.Credentials) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := encodeEntry(creds, keyHash(key), time.Now())
	if err != nil {
		return err
	}
	if err := securefile.WriteFile(s.Path(key), data); err != nil {
		return fmt.Errorf("cache: save credentials: %w", err)
	}
	return nil
}

// Lock implements [Store] with the cross-process lock of the entry's file.
func (s *FileStore) Lock(ctx context.Context, key string) (func() error, error) {
	unlock, err := securefile.Lock(ctx, s.Path(key))
	if err != nil {
		return nil, fmt.Errorf("cache: lock credentials: %w", err)
	}
	return unlock, nil
}

// keyHash names the file of key.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// fileEntry is the JSON file format, version 1. It holds secrets in plain
// strings: it lives only between the file and aws.Credentials, and is never
// formatted or logged.
type fileEntry struct {
	Version         int        `json:"version"`
	Key             string     `json:"key"` // hex SHA-256 of the store key, as in the file name
	AccessKeyID     string     `json:"access_key_id"`
	SecretAccessKey string     `json:"secret_access_key"`
	SessionToken    string     `json:"session_token,omitempty"`
	Source          string     `json:"source,omitempty"`
	AccountID       string     `json:"account_id,omitempty"`
	CanExpire       bool       `json:"can_expire"`
	Expires         *time.Time `json:"expires,omitempty"`
	Saved           time.Time  `json:"saved"`
}

// encodeEntry renders creds as the file of the key whose hash is hash,
// saved at now.
func encodeEntry(creds aws.Credentials, hash string, now time.Time) ([]byte, error) {
	if !creds.HasKeys() {
		return nil, errors.New("cache: save credentials: no access key ID or secret access key")
	}
	fe := fileEntry{
		Version:         fileFormatVersion,
		Key:             hash,
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		SessionToken:    creds.SessionToken,
		Source:          creds.Source,
		AccountID:       creds.AccountID,
		CanExpire:       creds.CanExpire,
		Saved:           now.Round(0).UTC(),
	}
	if creds.CanExpire {
		exp := creds.Expires.Round(0).UTC()
		fe.Expires = &exp
	}
	data, err := json.MarshalIndent(fe, "", "  ")
	if err != nil {
		// Only unrepresentable times (years outside 0-9999) get here; the
		// error names the field, not a value.
		return nil, fmt.Errorf("cache: save credentials: encode: %w", err)
	}
	return append(data, '\n'), nil
}

// decodeEntry parses a file written by encodeEntry for the key whose hash is
// hash, and returns its credentials. Anything else (bad JSON, unknown
// fields, trailing data, another version or key, missing keys, an expiry
// that is missing or out of range) is a miss. It never panics and never
// reports content.
func decodeEntry(data []byte, hash string) (aws.Credentials, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fe fileEntry
	if err := dec.Decode(&fe); err != nil {
		return aws.Credentials{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return aws.Credentials{}, false // trailing data
	}
	if fe.Version != fileFormatVersion || fe.Key != hash || fe.AccessKeyID == "" || fe.SecretAccessKey == "" {
		return aws.Credentials{}, false
	}
	creds := aws.Credentials{
		AccessKeyID:     fe.AccessKeyID,
		SecretAccessKey: fe.SecretAccessKey,
		SessionToken:    fe.SessionToken,
		Source:          fe.Source,
		AccountID:       fe.AccountID,
		CanExpire:       fe.CanExpire,
	}
	if fe.CanExpire {
		if fe.Expires == nil || fe.Expires.UTC().Year() > 9999 {
			return aws.Credentials{}, false
		}
		creds.Expires = *fe.Expires
	}
	return creds, true
}
