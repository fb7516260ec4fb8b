package securefile

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// Sentinel errors carried in [Error.Err] when securefile refuses a path.
// Match them with [errors.Is].
var (
	// ErrSymlink means a symbolic link sits where a file or lock file was
	// expected, as a planted link would. It is never followed.
	ErrSymlink = errors.New("is a symbolic link")
	// ErrNotRegular means something other than a regular file (a directory,
	// a FIFO, a device) sits where a file was expected.
	ErrNotRegular = errors.New("is not a regular file")
	// ErrNotDir means the path of a directory is something else.
	ErrNotDir = errors.New("is not a directory")
	// ErrInsecureMode means a directory is writable by group or others, or a
	// file may be accessed by group or others.
	ErrInsecureMode = errors.New("has insecure permissions")
	// ErrNotOwner means a directory or file is owned by another user (Unix
	// only).
	ErrNotOwner = errors.New("is not owned by the current user")
	// ErrTooLarge means a file is larger than the limit given to [ReadFile].
	ErrTooLarge = errors.New("is larger than the size limit")
)

// Error is the error of every securefile operation. It names the operation
// and the path, never the content of a file.
//
// For a refusal, Err is one of the sentinels ([ErrSymlink], ...) and Rule
// says what was expected and what to do. For an I/O failure, Err is the
// operating system's error (so errors.Is(err, os.ErrNotExist) and the like
// work) and Rule is usually empty.
type Error struct {
	// Op is the operation: "read", "write", "lock", "unlock", "remove",
	// "create directory" or "use directory".
	Op string
	// Path is the file, lock file or directory concerned.
	Path string
	// Rule explains, in words, the rule that was broken and how to fix it.
	// It is empty for plain I/O errors.
	Rule string
	// Err is the cause: a sentinel of this package, a context error or an
	// operating-system error.
	Err error
}

// Error returns "securefile: <op> <path>: <err>[; <rule>]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("securefile: ")
	b.WriteString(e.Op)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Rule != "" {
		b.WriteString("; ")
		b.WriteString(e.Rule)
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// newError returns an *Error for an I/O failure. The path an *fs.PathError
// or *os.LinkError carries is dropped, since Error prints its own, but its
// cause is kept, so errors.Is still finds os.ErrNotExist and friends.
func newError(op, path string, err error) *Error {
	return &Error{Op: op, Path: path, Err: unwrapPath(err)}
}

// unwrapPath returns the cause of an *fs.PathError or *os.LinkError, whose
// path would repeat (or, for a temporary file, obscure) the one an [Error]
// names, and any other error unchanged.
func unwrapPath(err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		return e.Err
	case *os.LinkError:
		return e.Err
	}
	return err
}

// refuse returns an *Error for a broken rule.
func refuse(op, path string, sentinel error, rule string) *Error {
	return &Error{Op: op, Path: path, Rule: rule, Err: sentinel}
}

// symlinkError is the refusal of a symbolic link at path.
func symlinkError(op, path string) *Error {
	return refuse(op, path, ErrSymlink, "refusing to follow it: the file must be a regular file, remove the link")
}
