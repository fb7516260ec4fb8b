package securefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// asError returns err as an *Error, failing the test when it is not one.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *securefile.Error", err, err)
	}
	if !strings.HasPrefix(e.Error(), "securefile: ") {
		t.Errorf("message %q lacks the securefile: prefix", e.Error())
	}
	if !strings.Contains(e.Error(), e.Path) || e.Path == "" {
		t.Errorf("message %q does not name the path %q", e.Error(), e.Path)
	}
	return e
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Op: "read", Path: "/d/f", Rule: "do this", Err: ErrSymlink}
	if got, want := e.Error(), "securefile: read /d/f: is a symbolic link; do this"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrSymlink) {
		t.Error("errors.Is(e, ErrSymlink) = false")
	}
	wrapped := newError("read", "/d/f", &fs.PathError{Op: "open", Path: "/d/f", Err: fs.ErrNotExist})
	if got, want := wrapped.Error(), "securefile: read /d/f: file does not exist"; got != want {
		t.Errorf("Error() = %q, want %q (the path once)", got, want)
	}
	if !errors.Is(wrapped, os.ErrNotExist) {
		t.Error("errors.Is(wrapped, os.ErrNotExist) = false")
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.json")
	_, err := ReadFile(path, 1024)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile(missing) = %v, want os.ErrNotExist", err)
	}
	if e := asError(t, err); e.Op != "read" || e.Path != path || e.Rule != "" {
		t.Errorf("error = %#v", e)
	}
}
