package securefile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	if err := WriteFile(path, bytes.Repeat([]byte("x"), 10)); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadFile(path, 10); err != nil || len(got) != 10 {
		t.Fatalf("ReadFile at the limit = %d bytes, %v", len(got), err)
	}
	_, err := ReadFile(path, 9)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFile over the limit = %v, want ErrTooLarge", err)
	}
	if e := asError(t, err); !strings.Contains(e.Error(), "10 bytes") || !strings.Contains(e.Error(), "limit is 9") {
		t.Errorf("message %q does not give the size and the limit", e.Error())
	}
	for _, max := range []int64{0, -1} {
		if _, err := ReadFile(path, max); err == nil {
			t.Errorf("ReadFile(maxSize=%d) = nil error", max)
		}
	}
}

func TestReadFileRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"ReadFile":  func() error { _, err := ReadFile(path, 10); return err }(),
		"WriteFile": WriteFile(path, []byte("x")),
		"Remove":    Remove(path),
	} {
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s(directory) = %v, want ErrNotRegular", name, err)
		}
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	if err := WriteFile(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second removes nothing and still succeeds
		if err := Remove(path); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	if _, err := ReadFile(path, 10); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile after Remove = %v", err)
	}
}
