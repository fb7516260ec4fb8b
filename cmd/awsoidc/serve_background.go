package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"time"
)

// startBackground runs serve as a detached process, as ssh-agent does: it
// starts the server with the same arguments, waits until the server has
// printed its variables (it prints them once it listens, then closes its
// stdout), prints them and returns, leaving the server running. So
//
//	eval "$(awsoidc serve --background ...)"
//
// sets the variables only once the endpoint answers: no race, and no file
// for the umask to make readable. The server's stderr stays the caller's.
func (a *app) startBackground(ctx context.Context, cfg *credConfig) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("serve --background: %w", err)
	}
	// The last --background wins: the server never starts another one.
	args := append(slices.Clone(a.args), "--background=false", "--background-server")
	cmd := exec.Command(exe, args...) //nolint:gosec // G204: this very program, with the caller's own arguments
	cmd.Stdin = nil
	cmd.Stderr = a.stderr
	cmd.SysProcAttr = detached()
	var out bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("serve --background: %w", err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return fmt.Errorf("serve --background: %w", err)
	}
	_ = pw.Close()

	// The server first gets credentials, within --timeout.
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(&out, io.LimitReader(pr, 64<<10))
		read <- err
	}()
	timer := time.NewTimer(cfg.timeout + 10*time.Second)
	defer timer.Stop()
	select {
	case err = <-read:
	case <-timer.C:
		err = fmt.Errorf("the server printed nothing within %s", cfg.timeout+10*time.Second)
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = pr.Close()
	if err == nil && out.Len() > 0 {
		if _, err := a.stdout.Write(out.Bytes()); err != nil {
			return err
		}
		return cmd.Process.Release()
	}
	_ = cmd.Process.Kill()
	werr := cmd.Wait()
	if err == nil {
		err = werr
	}
	if err == nil {
		err = errors.New("the server exited without printing its variables")
	}
	return fmt.Errorf("serve --background: %w", err)
}
