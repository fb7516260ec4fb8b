//go:build unix

package main

import "syscall"

// detached returns the attributes of a process that outlives the caller's
// terminal session: a new session, so that the terminal's SIGINT and SIGHUP
// do not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
