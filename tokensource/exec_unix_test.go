//go:build unix

package tokensource_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

// hangingCommand returns the argv of a script that starts a real sleep that
// would last 1000 s, in the background with its stdout on a FIFO, and waits
// for it, and a function that returns once that sleep has started. After the
// source gives up, gone reports whether the sleep died: its end of the FIFO
// closes only when it exits, so the read sees EOF at once if it was killed,
// and blocks (until the deadline) if it was left running as an orphan.
func hangingCommand(t *testing.T) (argv []string, started func(), gone func() bool) {
	t.Helper()
	return fifoCommand(t, `echo partial output; sleep 1000 > "$1" & wait`)
}

// fifoCommand is hangingCommand with another script body, whose "$1" is the
// FIFO that a process of the script must open (and keep open while it
// lives).
func fifoCommand(t *testing.T, body string) (argv []string, started func(), gone func() bool) {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFO:", err)
	}
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_RDONLY, 0) // blocks until the sleep opens its end
		if err != nil {
			t.Error(err)
		}
		opened <- f
	}()
	var r *os.File
	started = func() {
		if r == nil {
			r = <-opened
		}
	}
	t.Cleanup(func() {
		if r == nil { // the command never opened the FIFO: release the opener
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				_ = w.Close()
			}
			started()
		}
		if r != nil {
			_ = r.Close()
		}
	})
	gone = func() bool {
		if r == nil {
			// The command may have been killed before its sleep opened the
			// FIFO (a timeout that fires before sh forks, on a loaded
			// machine): open a writer of ours, which the opener's pending
			// open accepts, so that started returns either way; closed at
			// once, it leaves the sleep's end, if any, as the only writer.
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				started()
				_ = w.Close()
			}
		}
		started()
		_ = r.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.ReadAll(r)
		return err == nil
	}
	argv = script(t, body, fifo)
	return argv, started, gone
}

// TestExecBackgroundChildKeepsStdout: a command that prints its token and
// exits 0, leaving a process in the background that still holds its stdout
// (a helper that starts an agent), gives its token, not os/exec's "WaitDelay
// expired" error; and what it left running is killed.
func TestExecBackgroundChildKeepsStdout(t *testing.T) {
	argv, _, gone := fifoCommand(t, `echo opaque-token-value; sleep 1000 3> "$1" &`)
	tok, err := tokensource.Exec(argv).Token(context.Background())
	if err != nil || tok.Value != "opaque-token-value" {
		t.Fatalf("got %q, %v; want the token printed", tok.Value, err)
	}
	if !gone() {
		t.Error("the command's background sleep outlived it")
	}
}

func TestExecTimeoutKillsGroup(t *testing.T) {
	argv, _, gone := hangingCommand(t)
	src := tokensource.Exec(argv, func(o *tokensource.ExecOptions) { o.Timeout = 100 * time.Millisecond })
	_, err := src.Token(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not finish within 100ms") {
		t.Fatalf("got %v, want the timeout", err)
	}
	if !gone() {
		t.Error("the command's sleep outlived the timeout")
	}
}

func TestExecCancelKillsGroup(t *testing.T) {
	argv, started, gone := hangingCommand(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := tokenAsync(ctx, tokensource.Exec(argv))
	started()
	cancel()
	r := <-done
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", r.err)
	}
	if !gone() {
		t.Error("the command's sleep outlived the cancellation")
	}
}
