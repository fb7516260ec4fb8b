package securefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Remove deletes the file at path, for logout and for dropping a corrupt
// entry, and fsyncs its directory. A missing file is not an error, so
// Remove can be repeated. A symbolic link at path is removed itself, never
// followed; a directory is refused with [ErrNotRegular]. The lock file
// path+".lock" is left in place (see [Lock]); hold the lock around Remove
// when other processes may be writing path.
func Remove(path string) error {
	const op = "remove"
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return notRegular(op, path, fi.Mode())
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return newError(op, path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return newError(op, path, err)
	}
	return nil
}
