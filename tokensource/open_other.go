//go:build !unix

package tokensource

// openFlags are added to the flags of the token file's open. Without Unix
// FIFOs there is no open that blocks; the opened file is still checked.
const openFlags = 0
