//go:build !unix

package tokensource

import "os/exec"

// setProcessGroup leaves the command's process handling to os/exec, which
// kills the command itself when its context ends.
func setProcessGroup(*exec.Cmd) {}

// killGroup does nothing: without Unix process groups there is no group to
// kill.
func killGroup(*exec.Cmd) {}
