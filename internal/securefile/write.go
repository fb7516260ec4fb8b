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
// WriteFile does not lock. Callers that read, change and write a file, or
// that may write it from several processes, hold [Lock] around the whole
// sequence; on Windows, where a file open in another process cannot be
// replaced, readers hold it too.
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

	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return newError(op, path, fmt.Errorf("create temporary file: %w", unwrapPath(err)))
	}
	tmp, renamed := f.Name(), false
	defer func() {
		if !renamed {
			_ = f.Close() // already closed on the success path; the error adds nothing
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
	if err := f.Close(); err != nil {
		return newError(op, path, fmt.Errorf("close temporary file: %w", unwrapPath(err)))
	}
	if err := os.Rename(tmp, path); err != nil {
		return newError(op, path, fmt.Errorf("rename temporary file: %w", unwrapPath(err)))
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return newError(op, path, fmt.Errorf("sync directory (the file is written, but may not survive a crash): %w", unwrapPath(err)))
	}
	return nil
}
