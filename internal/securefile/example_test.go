package securefile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/awsoidc/awsoidc/internal/securefile"
)

// A store keeps one file per entry in a private directory and updates it
// under the lock, so that processes sharing the directory never lose an
// update (a rotated refresh token, say) and never read a partial file.
func Example() {
	base, err := os.MkdirTemp("", "securefile-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(base) }()

	dir := filepath.Join(base, "awsoidc")
	if err := securefile.EnsureDir(dir); err != nil { // 0700
		fmt.Println(err)
		return
	}
	path := filepath.Join(dir, "token.json")

	unlock, err := securefile.Lock(context.Background(), path)
	if err != nil {
		fmt.Println(err)
		return
	}
	old, err := securefile.ReadFile(path, 64<<10)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Println("no token yet")
	case err != nil:
		fmt.Println("unusable, treated as a miss:", errors.Is(err, securefile.ErrSymlink))
	default:
		fmt.Printf("old token: %s\n", old)
	}
	if err := securefile.WriteFile(path, []byte(`{"refresh_token":"..."}`)); err != nil { // 0600, atomic
		fmt.Println(err)
	}
	if err := unlock(); err != nil {
		fmt.Println(err)
	}

	data, err := securefile.ReadFile(path, 64<<10)
	fmt.Printf("%s %v\n", data, err)
	// Output:
	// no token yet
	// {"refresh_token":"..."} <nil>
}

// Refusals name the path and the rule; match them with errors.Is.
func ExampleReadFile_refused() {
	dir, err := os.MkdirTemp("", "securefile-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "creds.json")
	if err := securefile.WriteFile(path, []byte("0123456789")); err != nil {
		fmt.Println(err)
		return
	}

	_, err = securefile.ReadFile(path, 4)
	var e *securefile.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, filepath.Base(e.Path), errors.Is(err, securefile.ErrTooLarge))
		fmt.Println(e.Rule)
	}
	// Output:
	// read creds.json true
	// 10 bytes, the limit is 4 bytes: the file is corrupt or not ours, remove it
}
