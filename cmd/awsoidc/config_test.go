package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReadSmallFile reads --policy file:// files, among them a pipe, whose
// size stat reports as 0: it must still be read to the end.
func TestReadSmallFile(t *testing.T) {
	const policy = `{"Version":"2012-10-17","Statement":[]}`
	dir := t.TempDir()
	regular := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(regular, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readSmallFile(regular, 64); err != nil || string(b) != policy {
		t.Errorf("regular file: %q, %v", b, err)
	}
	if _, err := readSmallFile(regular, int64(len(policy))-1); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("file over the limit: %v", err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pipe := "/dev/fd/" + strconv.Itoa(int(r.Fd()))
	if _, err := os.Stat(pipe); err != nil {
		_ = w.Close()
		t.Skip("no /dev/fd:", err)
	}
	if _, err := w.WriteString(policy); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if b, err := readSmallFile(pipe, 64); err != nil || string(b) != policy {
		t.Errorf("pipe: %q, %v; want the whole policy", b, err)
	}
}
