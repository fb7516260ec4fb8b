package securefile

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/awsoidc/awsoidc/clock"
)

// doneCtx is a context that is already canceled: Lock with it is a
// try-lock.
func doneCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// testCtx bounds a test's waits, so that a bug fails the test instead of
// hanging it.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// lockTableSize returns the number of in-process lock entries.
func lockTableSize() int {
	locals.mu.Lock()
	defer locals.mu.Unlock()
	return len(locals.m)
}

func mustLock(t *testing.T, ctx context.Context, path string, optFns ...func(*LockOptions)) func() error {
	t.Helper()
	unlock, err := Lock(ctx, path, optFns...)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	return unlock
}

func TestLockExcludesInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.json")
	unlock := mustLock(t, testCtx(t), path)

	_, err := Lock(doneCtx(), path)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("second Lock while held = %v, want context.Canceled", err)
	}
	if e := asError(t, err); e.Op != "lock" || e.Path != path+".lock" || !strings.Contains(e.Rule, "goroutine") {
		t.Errorf("error = %#v", e)
	}

	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	unlock2 := mustLock(t, doneCtx(), path) // free again: a try-lock succeeds
	if err := unlock2(); err != nil {
		t.Fatal(err)
	}
	if n := lockTableSize(); n != 0 {
		t.Errorf("%d in-process lock entries left", n)
	}
}

func TestLockHandsOverToWaiter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.json")
	unlock := mustLock(t, testCtx(t), path)
	got := make(chan error, 1)
	go func() {
		unlock2, err := Lock(testCtx(t), path)
		if err == nil {
			err = unlock2()
		}
		got <- err
	}()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}

func TestLockWaiterCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.json")
	unlock := mustLock(t, testCtx(t), path)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := Lock(ctx, path)
		got <- err
	}()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter = %v, want context.Canceled", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock = mustLock(t, doneCtx(), path) // the canceled waiter left no token behind
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if n := lockTableSize(); n != 0 {
		t.Errorf("%d in-process lock entries left", n)
	}
}

// TestLockPollsFileLock holds the file lock through a second handle, as
// another process would, and drives Lock's polling with a fake clock.
func TestLockPollsFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.json")
	other := flock.New(path + ".lock")
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock by the other handle = %v, %v", ok, err)
	}
	fk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := testCtx(t)
	got := make(chan error, 1)
	go func() {
		unlock, err := Lock(ctx, path, func(o *LockOptions) { o.Clock = fk })
		if err == nil {
			err = unlock()
		}
		got <- err
	}()

	for attempt := range 10 {
		if err := fk.WaitForTimers(ctx, 1); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			t.Fatalf("Lock returned %v while the file lock was held", err)
		default:
		}
		next, _ := fk.NextDeadline()
		d := next.Sub(fk.Now())
		ceiling := pollPolicy.Ceiling(attempt)
		if d < ceiling/2 || d > ceiling {
			t.Errorf("attempt %d: waits %v, want within [%v, %v]", attempt, d, ceiling/2, ceiling)
		}
		if attempt == 9 {
			if err := other.Unlock(); err != nil {
				t.Fatal(err)
			}
		}
		fk.Advance(d)
	}
	if err := <-got; err != nil {
		t.Fatalf("Lock after the other handle released = %v", err)
	}
}

func TestLockFileWaitCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.json")
	other := flock.New(path + ".lock")
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	defer func() { _ = other.Unlock() }()
	fk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := Lock(ctx, path, func(o *LockOptions) { o.Clock = fk })
		got <- err
	}()
	if err := fk.WaitForTimers(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-got
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock = %v, want context.Canceled", err)
	}
	if e := asError(t, err); !strings.Contains(e.Rule, "another process") {
		t.Errorf("error = %v", e)
	}
	if n := lockTableSize(); n != 0 {
		t.Errorf("%d in-process lock entries left", n)
	}
}

// TestLockCounterInProcess runs read-modify-write cycles from several
// goroutines: no update may be lost.
func TestLockCounterInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counter")
	if err := WriteFile(path, []byte("0")); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 4, 5
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := increment(testCtx(t), path); err != nil {
					t.Errorf("increment: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	assertCounter(t, path, goroutines*each)
}

func assertCounter(t *testing.T, path string, want int) {
	t.Helper()
	data, err := ReadFile(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := strconv.Atoi(string(data)); got != want {
		t.Fatalf("counter = %q, want %d (lost updates)", data, want)
	}
}

func TestLockAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	path := filepath.Join(t.TempDir(), "creds.json")

	t.Run("parent holds", func(t *testing.T) {
		unlock := mustLock(t, testCtx(t), path)
		if got := runHelperOutput(t, "try", path); got != "busy" {
			t.Fatalf("child try while the parent holds the lock: %q, want busy", got)
		}
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		if got := runHelperOutput(t, "try", path); got != "acquired" {
			t.Fatalf("child try after unlock: %q, want acquired", got)
		}
	})

	for _, exit := range []string{"unlocks", "dies"} {
		t.Run("child holds and "+exit, func(t *testing.T) {
			cmd := helperCmd(t, "hold", path)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if line != "locked\n" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child said %q, %v; stderr: %s", line, err, cmd.Stderr)
			}
			if _, err := Lock(doneCtx(), path); !errors.Is(err, context.Canceled) {
				t.Fatalf("parent Lock while the child holds it = %v, want context.Canceled", err)
			}
			if exit == "dies" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait() // killed: the exit status is an error by design
			} else {
				_ = stdin.Close()
				if err := cmd.Wait(); err != nil {
					t.Fatalf("child: %v; stderr: %s", err, cmd.Stderr)
				}
			}
			unlock := mustLock(t, doneCtx(), path) // released by the OS: a try-lock succeeds
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLockCounterAcrossProcesses has subprocesses, and this process, run
// read-modify-write cycles on one file at the same time: no update may be
// lost. The subprocesses poll the lock on the real clock.
func TestLockCounterAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	path := filepath.Join(t.TempDir(), "counter")
	if err := WriteFile(path, []byte("0")); err != nil {
		t.Fatal(err)
	}
	const procs, each = 3, 10
	var cmds []*exec.Cmd
	for range procs {
		cmd := helperCmd(t, "increment", path, helperNEnv+"="+strconv.Itoa(each))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for range each {
		if err := increment(testCtx(t), path); err != nil {
			t.Error(err)
			break
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v; stderr: %s", err, cmd.Stderr)
		}
	}
	assertCounter(t, path, (procs+1)*each)
}
