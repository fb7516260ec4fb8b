//go:build unix

package tokensource

import "syscall"

// openFlags are added to the flags of the token file's open. O_NONBLOCK
// keeps a FIFO swapped in at the path after the check from blocking the
// open until a writer comes (the open of a regular file ignores it), as
// internal/securefile does; the opened file is then checked again.
const openFlags = syscall.O_NONBLOCK
