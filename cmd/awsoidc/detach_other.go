//go:build !unix

package main

import "syscall"

// detached returns nil: a child process outlives its parent as it is.
func detached() *syscall.SysProcAttr { return nil }
