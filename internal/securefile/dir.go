package securefile

import (
	"errors"
	"io/fs"
	"os"
)

// EnsureDir makes dir, and any missing parent, with mode 0700, then checks
// that it is safe to keep secrets in: it must be a directory, must not be
// writable by group or others and, on Unix, must be owned by the current
// user. An existing directory that breaks a rule is refused with an [*Error]
// naming the path and the rule, never modified: EnsureDir does not chmod a
// directory it did not create.
//
// A symbolic link to a directory is followed and the directory it points to
// is checked. Stores call EnsureDir once, when they are opened; [WriteFile],
// [ReadFile] and [Lock] check the directory again but do not create it.
func EnsureDir(dir string) error {
	const op = "use directory"
	err := checkDir(op, dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return newError("create directory", dir, err)
	}
	return checkDir(op, dir)
}

// checkDir checks, without creating it, that dir exists and is a directory
// that only the current user may write.
func checkDir(op, dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return newError(op, dir, err)
	}
	if !fi.IsDir() {
		return refuse(op, dir, ErrNotDir, "something else is in the way of the directory: remove it")
	}
	return checkDirPerm(op, dir, fi)
}

// checkEntry checks what sits at path before a read, write or lock: nothing
// (exists == false) or a regular file. A symbolic link or any other kind of
// file is refused.
func checkEntry(op, path string) (exists bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, newError(op, path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return true, symlinkError(op, path)
	}
	if !fi.Mode().IsRegular() {
		return true, notRegular(op, path, fi.Mode())
	}
	return true, nil
}

// notRegular is the refusal of a non-regular file of the given mode at path.
func notRegular(op, path string, mode fs.FileMode) *Error {
	kind := "an irregular file"
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	}
	return refuse(op, path, ErrNotRegular, "found "+kind+" where a regular file belongs: remove it")
}
