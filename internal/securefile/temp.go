package securefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The temporary files of [WriteFile] are named "." + the target's base name
// + "." + random decimal digits + ".tmp" (the pattern of os.CreateTemp), in
// the target's directory. A writer holds an exclusive flock(2) on its
// temporary file from the moment it creates it until after the rename.
//
// A temporary file that no process holds that way was left by a writer
// killed before its rename: it holds the secret it was to install, and
// nothing else would ever remove it. [removeAbandoned] removes such a file
// only while it holds the file's flock itself, and only after checking that
// the name still names the file it locked. So the temporary file of a live
// writer is never removed, whatever the process and whatever other lock
// ([Lock]) the writer or the remover hold. A writer checks the same way,
// once it holds the flock, that its file was not removed between its
// creation and the flock (the one moment it is unlocked), and starts over
// with a new file if it was.

// tempSuffix ends the name of every temporary file.
const tempSuffix = ".tmp"

// createAttempts bounds how often [createTemp] starts over with a new file
// because its file was removed before it could lock it.
const createAttempts = 10

// writing is the set of the temporary files that writers of this process
// hold, by path. [removeStale] skips them without touching them: where
// flock is emulated with POSIX record locks (NFS), the locks of one process
// do not exclude each other, and closing any descriptor of a file drops
// them all.
var writing = struct {
	mu sync.Mutex // guards m
	m  map[string]struct{}
}{m: make(map[string]struct{})}

// writingKey is the key of path in [writing]: absolute and clean, so that
// two spellings of a directory find the same file.
func writingKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// createTemp creates and locks the temporary file of the target base in
// dir, and registers it in [writing]. done unregisters it; the caller
// calls it once the file is renamed or removed.
func createTemp(dir, base string) (f *os.File, done func(), err error) {
	for range createAttempts {
		f, err := os.CreateTemp(dir, "."+base+".*"+tempSuffix)
		if err != nil {
			return nil, nil, err
		}
		name, key := f.Name(), writingKey(f.Name())
		writing.mu.Lock()
		writing.m[key] = struct{}{}
		writing.mu.Unlock()
		done := func() {
			writing.mu.Lock()
			delete(writing.m, key)
			writing.mu.Unlock()
		}
		// Where the file system cannot lock, nobody can: removeAbandoned
		// then leaves every temporary file alone.
		_ = lockTemp(f)
		if sameFile(f, name) {
			return f, done, nil
		}
		// Removed as abandoned before the flock: start over.
		_ = f.Close()
		done()
	}
	return nil, nil, errors.New("the temporary file was removed before it could be locked, again and again")
}

// sameFile reports whether name still names the open file f.
func sameFile(f *os.File, name string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	li, err := os.Lstat(name)
	return err == nil && os.SameFile(fi, li)
}

// tempTarget returns the base name of the file whose temporary file name
// is, and whether name is a temporary file name at all.
func tempTarget(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, tempSuffix)
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return "", false
	}
	for _, c := range rest[i+1:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return rest[:i], true
}

// RemoveStaleTemps removes from dir the temporary files that writers of
// [WriteFile] killed between their write and their rename left behind,
// whatever file they were writing, and returns how many it removed. It
// never removes the temporary file of a writer that is still running, in
// this process or another (see [WriteFile]); it needs no [Lock]. Logout
// uses it to leave no secret behind; [WriteFile] does the same for the
// file it writes.
//
// Anything that is not a regular file is left alone, as is a temporary
// file whose state cannot be told (a file system without locks).
func RemoveStaleTemps(dir string) (int, error) {
	const op = "remove temporary files"
	if err := checkDir(op, dir); err != nil {
		return 0, err
	}
	n, err := removeStale(dir, func(name string) bool {
		_, ok := tempTarget(name)
		return ok
	})
	if err != nil {
		return n, newError(op, dir, err)
	}
	if n > 0 {
		if err := syncDir(dir); err != nil {
			return n, newError(op, dir, err)
		}
	}
	return n, nil
}

// removeStaleTemps removes the abandoned temporary files of path, for
// [WriteFile]: the directory sync of its rename makes the removals durable.
func removeStaleTemps(path string) {
	base := filepath.Base(path)
	_, _ = removeStale(filepath.Dir(path), func(name string) bool {
		target, ok := tempTarget(name)
		return ok && target == base
	})
}

// removeStale removes the abandoned temporary files of dir whose names
// match, and returns how many it removed.
func removeStale(dir string, match func(name string) bool) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, unwrapPath(err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !match(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		writing.mu.Lock()
		_, live := writing.m[writingKey(path)]
		writing.mu.Unlock()
		if live {
			continue
		}
		removed, err := removeAbandoned(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name(), unwrapPath(err)))
		}
		if removed {
			n++
		}
	}
	return n, errors.Join(errs...)
}
