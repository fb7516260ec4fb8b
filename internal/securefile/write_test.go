package securefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	for _, data := range [][]byte{[]byte(`{"v":1}`), []byte(`{"v":2,"longer":true}`), {}, []byte("x")} {
		if err := WriteFile(path, data); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		got, err := ReadFile(path, 1024)
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("ReadFile = %q, want %q", got, data)
		}
	}
	if got := entries(t, dir); len(got) != 1 || got[0] != "creds.json" {
		t.Errorf("directory holds %q, want only creds.json (no temporary file left)", got)
	}
}

func TestWriteFileNeedsDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "creds.json")
	err := WriteFile(path, []byte("x"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WriteFile into a missing directory = %v, want os.ErrNotExist", err)
	}
	asError(t, err)
}

// errDiskFull stands for ENOSPC in the failing-writer tests.
var errDiskFull = errors.New("no space left on device (simulated)")

// failingWriter writes the first half of what it is given, then fails.
type failingWriter struct {
	w   io.Writer
	err error // returned after the partial write; nil means a silent short write
}

func (f failingWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p[:len(p)/2])
	if err != nil {
		return n, err
	}
	return n, f.err
}

func TestWriteFileFailureKeepsOldFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"disk full", errDiskFull, errDiskFull},
		{"short write", nil, io.ErrShortWrite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token.json")
			old := []byte(`{"refresh_token":"old"}`)
			if err := WriteFile(path, old); err != nil {
				t.Fatal(err)
			}
			err := WriteFile(path, bytes.Repeat([]byte("n"), 4096), func(o *WriteOptions) {
				o.WrapWriter = func(w io.Writer) io.Writer { return failingWriter{w, tc.err} }
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("WriteFile = %v, want %v", err, tc.want)
			}
			if e := asError(t, err); e.Op != "write" || e.Path != path {
				t.Errorf("error = %#v", e)
			}
			got, err := ReadFile(path, 1<<20)
			if err != nil || !bytes.Equal(got, old) {
				t.Fatalf("after a failed write, ReadFile = %q, %v; want the old content", got, err)
			}
			if got := entries(t, dir); len(got) != 1 {
				t.Errorf("directory holds %q, want only token.json (temporary file removed)", got)
			}
		})
	}
}

func TestWriteFileFailureOnNewFileLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.json")
	err := WriteFile(path, []byte("data"), func(o *WriteOptions) {
		o.WrapWriter = func(w io.Writer) io.Writer { return failingWriter{w, errDiskFull} }
	})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("WriteFile = %v", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("directory holds %q, want nothing", got)
	}
}

// TestWriteFileAtomicReplace has a reader race a writer that alternates two
// contents of the same size: every read must see one of them whole. Run
// with -race.
func TestWriteFileAtomicReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	const size = 32 << 10
	contents := [][]byte{bytes.Repeat([]byte("a"), size), bytes.Repeat([]byte("b"), size)}
	if err := WriteFile(path, contents[0]); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range 40 {
			if err := WriteFile(path, contents[i%2]); err != nil {
				t.Errorf("WriteFile: %v", err)
				return
			}
		}
	}()
	for readers := 0; readers < 2; readers++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := ReadFile(path, size)
				if err != nil {
					t.Errorf("ReadFile during replace: %v", err)
					return
				}
				if !bytes.Equal(got, contents[0]) && !bytes.Equal(got, contents[1]) {
					t.Errorf("ReadFile saw a partial or mixed file: %d bytes, starting %q", len(got), got[:min(len(got), 8)])
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q after concurrent writes", got)
	}
}

// TestWriteFileConcurrentWriters checks that unlocked writers never corrupt
// the file: the last rename wins whole.
func TestWriteFileConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := WriteFile(path, []byte(fmt.Sprintf("writer-%d", i))); err != nil {
				t.Errorf("WriteFile: %v", err)
			}
		}()
	}
	wg.Wait()
	got, err := ReadFile(path, 64)
	if err != nil || len(got) != len("writer-0") || !bytes.HasPrefix(got, []byte("writer-")) {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q", got)
	}
}
