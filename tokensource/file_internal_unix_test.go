//go:build unix

package tokensource

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFileSwappedForFIFO: the path is a regular file when File checks it
// and a FIFO when it opens it (a swap in between; the test's stat reports
// the regular file the path held a moment earlier). Opening a FIFO for
// reading blocks until a writer comes, beyond the reach of ctx: the open
// must not block, and the FIFO must be refused, never read.
//
// A writer waits on the FIFO from the start. Were the open blocking, it
// would meet that writer and read "fifo-token": the test fails instead of
// hanging. With a non-blocking open the source refuses the FIFO and closes
// it; the test then opens the FIFO itself to release the writer.
func TestFileSwappedForFIFO(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := File(path).(*fileSource)
	src.stat = func(string) (fs.FileInfo, error) { return os.Stat(regular) }

	writerDone := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until a reader opens the FIFO
		if err != nil {
			writerDone <- err
			return
		}
		_, _ = f.WriteString("fifo-token\n") // EPIPE when the reader is gone: fine
		writerDone <- f.Close()
	}()

	tok, err := src.Token(context.Background())

	// Release the writer if it still waits for a reader.
	r, rerr := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if werr := <-writerDone; werr != nil && !errors.Is(werr, syscall.EPIPE) {
		t.Errorf("writer: %v", werr)
	}
	_ = r.Close()

	if err == nil {
		t.Fatalf("Token() = %q, want the FIFO refused (it was opened and read)", tok.Value)
	}
	var te *Error
	if !errors.As(err, &te) || te.Source != "file" || te.Name != path || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Token() error = %v, want a *tokensource.Error naming %s: not a regular file", err, path)
	}
	if strings.Contains(err.Error(), "token\n") || strings.Contains(err.Error(), "fifo-token") {
		t.Errorf("error %q holds content", err)
	}
}
