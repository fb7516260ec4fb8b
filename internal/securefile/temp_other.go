//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package securefile

import (
	"os"
	"time"
)

// holdTempOpen is false where the temporary file is not locked: Windows
// cannot rename a file that is open.
const holdTempOpen = false

// abandonedAfter is how long after its last write a temporary file is
// taken for abandoned where flock(2) is not available. A writer takes
// milliseconds between its write and its rename.
const abandonedAfter = time.Hour

// lockTemp does nothing: see [removeAbandoned].
func lockTemp(*os.File) error { return nil }

// removeAbandoned removes the temporary file at path when it was last
// written more than [abandonedAfter] ago. On Windows a writer that is still
// writing has the file open, and a file open without FILE_SHARE_DELETE
// cannot be deleted: the removal then fails, and the file is left.
func removeAbandoned(path string) (removed bool, err error) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < abandonedAfter {
		return false, nil
	}
	if err := os.Remove(path); err != nil {
		return false, nil // gone meanwhile, or open in a live writer
	}
	return true, nil
}
