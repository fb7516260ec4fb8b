package securefile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteOptions tunes [WriteFile]. The zero value is what production code
// wants; the fields exist for tests.
type WriteOptions struct {
	// WrapWriter, when set, wraps the writer of the temporary file. Tests
	// use it to simulate a full disk or an I/O error in the middle of a
	// write, in this package and in the stores built on it.
	WrapWriter func(w io.Writer) io.Writer
}

// WriteFile replaces the file at path with data, atomically: it writes a
// temporary file (mode 0600) in the same directory, fsyncs and closes it,
// renames it over path and fsyncs the directory. A concurrent reader sees the
// old content or the new one, never a partial file. On any failure the old
// file is left as it was and the temporary file is removed.
//
// The directory must already exist and pass the checks of [EnsureDir]. A
// symbolic link, or anything but a regular file, at path is refused with
// [ErrSymlink] or [ErrNotRegular] rather than replaced: something planted it.
//
// WriteFile does not take [Lock]. Callers that read, change and write a
// file, or that may write it from several processes, hold [Lock] around the
// whole sequence; on Windows, where a file open in another process cannot
// be replaced, readers hold it too.
//
// A writer killed between its write and its rename leaves its
// temporary file, "." + the base name of path + "." + digits + ".tmp", and
// the secret in it. So before it writes, WriteFile removes the temporary
// files of path that writers left that way; [RemoveStaleTemps] removes
// those of a whole directory. The rule that keeps a live writer's file safe
// does not depend on [Lock], which some callers cannot get: each writer
// holds an exclusive flock(2) on its own temporary file from its creation
// until after its rename, and a temporary file is removed only by a caller
// that holds that flock itself (without waiting for it) and has checked
// that the name still names the file it locked. The operating system drops
// the flock of a killed writer, so its file is removed by the next write;
// the file of a writer that is still running, in this process or another,
// is never removed. A writer whose new temporary file was removed in the
// instant between its creation and its flock sees it and starts over.
// Where flock(2) is not available (Windows), a temporary file is taken for
// abandoned an hour after its last write, and Windows refuses to delete one
// that a writer still has open.
func WriteFile(path string, data []byte, optFns ...func(*WriteOptions)) (err error) {
	const op = "write"
	var o WriteOptions
	for _, fn := range optFns {
		fn(&o)
	}
	dir := filepath.Dir(path)
	if err := checkDir(op, dir); err != nil {
		return err
	}
	if _, err := checkEntry(op, path); err != nil {
		return err
	}

	removeStaleTemps(path) // best effort: the write is what the caller asked for

	f, done, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return newError(op, path, fmt.Errorf("create temporary file: %w", unwrapPath(err)))
	}
	defer done()
	tmp, renamed, closed := f.Name(), false, false
	defer func() {
		if !closed {
			_ = f.Close() // drops the flock: after the rename or the removal
		}
		if !renamed {
			_ = os.Remove(tmp)
		}
	}()

	if err := f.Chmod(0o600); err != nil {
		return newError(op, path, fmt.Errorf("chmod temporary file: %w", unwrapPath(err)))
	}
	var w io.Writer = f
	if o.WrapWriter != nil {
		w = o.WrapWriter(f)
	}
	n, err := w.Write(data)
	if err == nil && n < len(data) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return newError(op, path, fmt.Errorf("write temporary file: %w", unwrapPath(err)))
	}
	if err := f.Sync(); err != nil {
		return newError(op, path, fmt.Errorf("sync temporary file: %w", unwrapPath(err)))
	}
	if !holdTempOpen {
		closed = true
		if err := f.Close(); err != nil {
			return newError(op, path, fmt.Errorf("close temporary file: %w", unwrapPath(err)))
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return newError(op, path, fmt.Errorf("rename temporary file: %w", unwrapPath(err)))
	}
	renamed = true
	if !closed {
		closed = true
		if err := f.Close(); err != nil { // synced already: the data is safe
			return newError(op, path, fmt.Errorf("close temporary file (the file is written): %w", unwrapPath(err)))
		}
	}
	if err := syncDir(dir); err != nil {
		return newError(op, path, fmt.Errorf("sync directory (the file is written, but may not survive a crash): %w", unwrapPath(err)))
	}
	return nil
}
