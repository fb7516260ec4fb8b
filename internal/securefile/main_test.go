package securefile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The cross-process tests re-execute the test binary, running only
// TestHelperProcess, with these variables set.
const (
	helperModeEnv = "SECUREFILE_TEST_HELPER"
	helperPathEnv = "SECUREFILE_TEST_PATH"
	helperNEnv    = "SECUREFILE_TEST_N"
	helperDataEnv = "SECUREFILE_TEST_DATA"
)

// TestHelperProcess is not a test: it is the body of the subprocesses that
// the cross-process tests start. Its modes:
//   - "try": one attempt at Lock (done ctx); prints "acquired" or "busy".
//   - "hold": takes Lock, prints "locked", waits for stdin to close, unlocks.
//   - "increment": N times, under Lock, reads the decimal counter in the
//     file and writes it back plus one.
//   - "write-hang": WriteFile of DATA that stops between the write of the
//     temporary file and the rename: prints "written" and waits for stdin to
//     close, then exits at once, as a writer killed there would.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperModeEnv)
	if mode == "" {
		return
	}
	if err := runHelper(mode, os.Getenv(helperPathEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func runHelper(mode, path string) error {
	switch mode {
	case "try":
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		unlock, err := Lock(ctx, path)
		switch {
		case err == nil:
			fmt.Println("acquired")
			return unlock()
		case errors.Is(err, context.Canceled):
			fmt.Println("busy")
			return nil
		}
		return err
	case "hold":
		unlock, err := Lock(context.Background(), path)
		if err != nil {
			return err
		}
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until EOF
		return unlock()
	case "increment":
		n, err := strconv.Atoi(os.Getenv(helperNEnv))
		if err != nil {
			return err
		}
		for range n {
			if err := increment(context.Background(), path); err != nil {
				return err
			}
		}
		return nil
	case "write-hang":
		return WriteFile(path, []byte(os.Getenv(helperDataEnv)), func(o *WriteOptions) {
			o.WrapWriter = func(w io.Writer) io.Writer { return hangWriter{w} }
		})
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// hangWriter writes, then stops the process where a crash between the write
// and the rename would: see "write-hang".
type hangWriter struct{ w io.Writer }

func (h hangWriter) Write(p []byte) (int, error) {
	if _, err := h.w.Write(p); err != nil {
		return 0, err
	}
	fmt.Println("written")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the test kills us, or closes stdin
	os.Exit(3)                           // no rename, no clean-up
	return len(p), nil
}

// increment adds one to the decimal counter in path, under Lock: the
// read-modify-write that a rotating refresh token needs.
func increment(ctx context.Context, path string) (err error) {
	unlock, err := Lock(ctx, path)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := unlock(); err == nil {
			err = uerr
		}
	}()
	data, err := ReadFile(path, 64)
	if err != nil {
		return err
	}
	v, err := strconv.Atoi(string(data))
	if err != nil {
		return err
	}
	return WriteFile(path, []byte(strconv.Itoa(v+1)))
}

// helperCmd returns the command that runs TestHelperProcess in mode on path.
func helperCmd(t *testing.T, mode, path string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperPathEnv+"="+path,
		// A -race binary sleeps 1 s at exit by default, to catch late races.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = &strings.Builder{}
	return cmd
}

// runHelperOutput runs a helper to completion and returns its first line.
func runHelperOutput(t *testing.T, mode, path string, env ...string) string {
	t.Helper()
	cmd := helperCmd(t, mode, path, env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %s: %v; stderr: %s", mode, err, cmd.Stderr)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}
