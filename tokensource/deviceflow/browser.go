package deviceflow

import (
	"errors"
	"os/exec"
	"runtime"
)

// openBrowser starts the user's browser on uri, which the caller has
// checked with [checkURL]. It does not wait for the browser, and takes no
// ctx on purpose: the opener must outlive the login (exec.CommandContext
// would kill it when the login ends, and some openers, such as xdg-open's
// fallbacks, run the browser itself in the foreground).
func openBrowser(uri string) error {
	name, args, err := browserCommand(runtime.GOOS, uri)
	if err != nil {
		return err
	}
	// #nosec G204 -- a fixed program; the URL was checked to be https (or
	// loopback http) and is passed as one argument, never through a shell.
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap it; the opener exits at once
	return nil
}

// browserCommand returns the command that opens uri on goos.
func browserCommand(goos, uri string) (name string, args []string, err error) {
	if err := checkURL("verification URI", uri); err != nil {
		return "", nil, err
	}
	switch goos {
	case "darwin":
		return "open", []string{uri}, nil
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", uri}, nil
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly", "solaris", "illumos":
		return "xdg-open", []string{uri}, nil
	}
	return "", nil, errors.New("deviceflow: no known way to open a browser on " + goos)
}
