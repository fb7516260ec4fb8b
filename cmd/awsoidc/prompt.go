package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/mdp/qrterminal/v3"
	"golang.org/x/term"

	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// prompter shows the prompt of a device login on w: the verification URI
// and the user code, and the link that includes the code (RFC 8628 §3.3).
// When w is a terminal it also draws a QR code of that link, and a
// countdown that runs until the login ends. With openBrowser it opens the
// link in the user's browser.
type prompter struct {
	w           io.Writer
	openBrowser bool
	log         *slog.Logger
}

// maxQRLength caps the URI drawn as a QR code: a longer one would not fit a
// terminal nor scan.
const maxQRLength = 512

// Prompt implements deviceflow.Prompter.
func (p *prompter) Prompt(ctx context.Context, pr deviceflow.Prompt) error {
	tty := isTerminal(p.w)
	writePrompt(p.w, pr, time.Now(), tty)
	if p.openBrowser {
		uri := pr.VerificationURIComplete
		if uri == "" {
			uri = pr.VerificationURI
		}
		if err := openBrowser(uri); err != nil {
			p.log.Warn("cannot open a browser", "err", err)
		}
	}
	if !tty {
		_, _ = fmt.Fprintln(p.w, "Waiting for approval...")
		return nil
	}
	countdown(ctx, p.w, pr.Expiry)
	return nil
}

// writePrompt writes the text of p, and a QR code when qr is set.
func writePrompt(w io.Writer, p deviceflow.Prompt, now time.Time, qr bool) {
	_, _ = fmt.Fprintf(w, "\nTo sign in, open this page in a browser:\n\n    %s\n\nand enter the code:\n\n    %s\n\n", p.VerificationURI, p.UserCode)
	if p.VerificationURIComplete != "" {
		_, _ = fmt.Fprintf(w, "Or open this link, which includes the code:\n\n    %s\n\n", p.VerificationURIComplete)
		if qr && len(p.VerificationURIComplete) <= maxQRLength {
			_, _ = fmt.Fprintln(w, "or scan it:")
			qrterminal.GenerateHalfBlock(p.VerificationURIComplete, qrterminal.L, w)
			_, _ = fmt.Fprintln(w)
		}
	}
	if !p.Expiry.IsZero() {
		_, _ = fmt.Fprintf(w, "The code expires in %s.\n", p.Expiry.Sub(now).Round(time.Second))
	}
}

// spinnerFrames are the frames of the countdown's spinner.
var spinnerFrames = [...]string{"|", "/", "-", `\`}

// countdown redraws one line every second until ctx is done, then clears it.
func countdown(ctx context.Context, w io.Writer, expiry time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		left := ""
		if !expiry.IsZero() {
			left = fmt.Sprintf(" (%s left)", max(time.Until(expiry), 0).Round(time.Second))
		}
		_, _ = fmt.Fprintf(w, "\r%s Waiting for approval%s \033[K", spinnerFrames[i%len(spinnerFrames)], left)
		select {
		case <-tick.C:
		case <-ctx.Done():
			_, _ = fmt.Fprint(w, "\r\033[K")
			return
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// openBrowser starts the user's browser on uri. It does not wait for the
// browser, and takes no ctx on purpose: the opener must outlive the login
// (exec.CommandContext would kill it when the login ends, and some openers,
// such as xdg-open's fallbacks, run the browser itself in the foreground).
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

// browserCommand returns the command that opens uri on goos. uri must be
// an absolute https URL, or http on a loopback host.
func browserCommand(goos, uri string) (name string, args []string, err error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
		return "", nil, fmt.Errorf("refusing to open %q: not an https URL", uri)
	}
	switch goos {
	case "darwin":
		return "open", []string{uri}, nil
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", uri}, nil
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly", "solaris", "illumos":
		return "xdg-open", []string{uri}, nil
	}
	return "", nil, errors.New("no known way to open a browser on " + goos)
}
