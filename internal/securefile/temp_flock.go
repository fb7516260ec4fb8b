//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package securefile

import (
	"errors"
	"os"
	"syscall"
)

// holdTempOpen reports that [WriteFile] keeps its temporary file open, and
// so locked, until after the rename: a Unix rename does not care.
const holdTempOpen = true

// lockTemp takes the exclusive flock(2) of f, waiting for a
// [removeAbandoned] that holds it for a moment.
func lockTemp(f *os.File) error {
	return flockFile(f, syscall.LOCK_EX)
}

// removeAbandoned removes the temporary file at path when no writer holds
// its flock: it takes the flock without waiting, checks that path still
// names the file it locked, removes it and then drops the flock. A file it
// cannot open or lock is left alone.
func removeAbandoned(path string) (removed bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|readFlags, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || isSymlinkErr(err) {
			return false, nil // renamed or removed meanwhile, or not ours
		}
		return false, err
	}
	defer func() { _ = f.Close() }() // drops the flock, after the removal
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false, err
	}
	if err := flockFile(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil // a live writer
		}
		return false, err
	}
	if !sameFile(f, path) {
		return false, nil // renamed meanwhile: the file we locked is the target now
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// flockFile applies flock(2) how to f, again when a signal interrupts it.
func flockFile(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
