//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"
	"syscall"
	"unsafe"
)

// forwardedSignals are the signals exec passes on to the child.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// fromTerminal reports whether sig most likely came from the terminal: a
// SIGINT while exec's process group is the terminal's foreground group.
// The terminal sent it to that whole group, the child included (it stays
// in exec's group), so forwarding it would deliver it twice, which tools
// such as Terraform read as a second Ctrl-C: stop at once.
func fromTerminal(sig os.Signal) bool {
	if sig != syscall.SIGINT {
		return false
	}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal: someone sent it to exec alone
	}
	defer tty.Close()
	var pgrp int32
	// tcgetpgrp(3): the ioctl writes the foreground process group into pgrp.
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, tty.Fd(), uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&pgrp))) //nolint:gosec // G103: a pointer to a local int32 for the kernel to fill, as tcgetpgrp does
	if errno != 0 {
		return false
	}
	return int(pgrp) == syscall.Getpgrp()
}
