//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// forwardedSignals is empty: on Windows a console's Ctrl-C and Ctrl-Break
// reach every process attached to it, the child included, and no signal
// can be sent to another process.
var forwardedSignals []os.Signal

func fromTerminal(os.Signal) bool { return false }
