package securefile

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// ReadFile returns the content of the file at path, refusing anything that
// could have been tampered with or could not have come from [WriteFile]:
//   - a missing file: an [*Error] that matches [os.ErrNotExist];
//   - a directory that fails the checks of [EnsureDir];
//   - a symbolic link ([ErrSymlink]; on Unix the open also uses O_NOFOLLOW)
//     or any other non-regular file ([ErrNotRegular]), without blocking on a
//     planted FIFO;
//   - on Unix, a file that group or others may read or write, whatever the
//     directory's mode ([ErrInsecureMode]), or that another user owns
//     ([ErrNotOwner]). Rewriting the file with WriteFile replaces it with a
//     fresh 0600 file, so a store that treats the refusal as a miss heals;
//   - a file larger than maxSize bytes ([ErrTooLarge]), checked before and
//     while reading, so a file that grows meanwhile is still caught.
//
// maxSize must be positive. ReadFile does not lock; see [Lock].
func ReadFile(path string, maxSize int64) ([]byte, error) {
	const op = "read"
	if maxSize <= 0 {
		return nil, &Error{Op: op, Path: path, Err: fmt.Errorf("invalid maxSize %d: must be positive", maxSize)}
	}
	if err := checkDir(op, filepath.Dir(path)); err != nil {
		return nil, err
	}
	if exists, err := checkEntry(op, path); err != nil {
		return nil, err
	} else if !exists {
		return nil, newError(op, path, os.ErrNotExist)
	}

	f, err := os.OpenFile(path, os.O_RDONLY|readFlags, 0)
	if err != nil {
		if isSymlinkErr(err) { // swapped for a link after the Lstat
			return nil, symlinkError(op, path)
		}
		return nil, newError(op, path, err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error changes nothing

	fi, err := f.Stat()
	if err != nil {
		return nil, newError(op, path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(op, path, fi.Mode())
	}
	if err := checkFilePerm(op, path, fi); err != nil {
		return nil, err
	}
	if fi.Size() > maxSize {
		return nil, tooLarge(path, fi.Size(), maxSize)
	}
	limit := maxSize
	if limit < math.MaxInt64 {
		limit++ // one byte more than allowed tells a file at the limit from a larger one
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, newError(op, path, err)
	}
	if int64(len(data)) > maxSize {
		return nil, tooLarge(path, -1, maxSize)
	}
	return data, nil
}

// tooLarge is the refusal of a file of size bytes (-1 when unknown) over
// maxSize.
func tooLarge(path string, size, maxSize int64) *Error {
	rule := fmt.Sprintf("the limit is %d bytes: the file is corrupt or not ours, remove it", maxSize)
	if size >= 0 {
		rule = fmt.Sprintf("%d bytes, ", size) + rule
	}
	return refuse("read", path, ErrTooLarge, rule)
}
