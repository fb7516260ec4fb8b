//go:build unix

package securefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// readFlags are added to the flags of the open in [ReadFile]. O_NOFOLLOW
// makes the kernel refuse a symbolic link in the last path component, which
// closes the window between the Lstat check and the open; O_NONBLOCK keeps a
// FIFO planted at the path from blocking the open.
const readFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// lockFlags are added to the flags of the lock file's open in [Lock].
const lockFlags = syscall.O_NOFOLLOW

// isSymlinkErr reports whether err is the error of an O_NOFOLLOW open of a
// symbolic link: ELOOP on Linux and macOS, EMLINK on FreeBSD and NetBSD.
func isSymlinkErr(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}

// checkDirPerm refuses a directory that group or others may write, or that
// another user owns.
func checkDirPerm(op, dir string, fi fs.FileInfo) error {
	if mode := fi.Mode(); mode.Perm()&0o022 != 0 {
		return refuse(op, dir, ErrInsecureMode,
			fmt.Sprintf("mode %v lets group or others write: run chmod 700 %s", mode, dir))
	}
	return checkOwner(op, dir, fi)
}

// checkFilePerm refuses a file that group or others may access in any way
// (like OpenSSH with a private key), or that another user owns. Files made by
// [WriteFile] are always 0600, so a looser file was changed by someone else
// and its secret may have been read.
func checkFilePerm(op, path string, fi fs.FileInfo) error {
	if mode := fi.Mode(); mode.Perm()&0o077 != 0 {
		return refuse(op, path, ErrInsecureMode,
			fmt.Sprintf("mode %v lets group or others access it, the file must be 0600: remove it (its content may have been read) or run chmod 600 %s", mode, path))
	}
	return checkOwner(op, path, fi)
}

// checkOwner refuses fi unless the effective user owns it.
func checkOwner(op, path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int64(st.Uid) != int64(uid) {
		return refuse(op, path, ErrNotOwner,
			fmt.Sprintf("owned by uid %d, the current uid is %d: remove it or change its owner", st.Uid, uid))
	}
	return nil
}

// syncDir fsyncs dir, so that a rename or removal in it survives a crash.
// File systems that cannot fsync a directory (EINVAL, ENOTSUP) are tolerated.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
