//go:build unix

package tokensource

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the command in a process group of its own, and
// makes the cancellation of its context kill that whole group: a shell
// script's children (a sleep, a curl) die with it instead of holding its
// output open.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killGroup kills what is left of the command's process group after the
// command returned, so that no token command leaves orphans behind.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // ESRCH: nothing left
	}
}
