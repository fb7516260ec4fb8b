package securefile

import "io/fs"

// readFlags are added to the flags of the open in [ReadFile]. Windows has no
// O_NOFOLLOW: the Lstat check before the open is all there is.
const readFlags = 0

// lockFlags are added to the flags of the lock file's open in [Lock].
const lockFlags = 0

// isSymlinkErr reports whether err comes from opening a symbolic link with
// O_NOFOLLOW; never on Windows.
func isSymlinkErr(error) bool { return false }

// checkDirPerm accepts every directory: Windows mode bits only reflect the
// read-only attribute, and access is governed by ACLs inherited from the
// user's profile directory.
func checkDirPerm(string, string, fs.FileInfo) error { return nil }

// checkFilePerm accepts every file, for the reasons given at [checkDirPerm].
func checkFilePerm(string, string, fs.FileInfo) error { return nil }

// syncDir does nothing: Windows cannot open a directory for fsync through
// the os package, and NTFS journals the rename itself.
func syncDir(string) error { return nil }
