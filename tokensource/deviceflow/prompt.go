package deviceflow

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mdp/qrterminal/v3"
	"golang.org/x/term"

	"github.com/awsoidc/awsoidc/clock"
)

// Prompt is what the user needs to approve a device login: the end-user
// verification URI and the user code of the device authorization response
// (RFC 8628 §3.2), shown as RFC 8628 §3.3 describes.
type Prompt struct {
	// VerificationURI is the page where the user enters UserCode.
	VerificationURI string
	// VerificationURIComplete, when not empty, is VerificationURI with the
	// user code included, for a QR code or a link (RFC 8628 §3.3.1).
	VerificationURIComplete string
	// UserCode is the code the user enters.
	UserCode string
	// Expiry is when the code expires, on the [Source]'s clock.
	Expiry time.Time
}

// Prompter shows a [Prompt] to the user.
//
// A [Source] calls Prompt once per device login, in a goroutine of its own,
// while it polls the token endpoint. Prompt may return at once, or keep
// showing progress (a spinner, a countdown) until ctx is done, which happens
// when the login ends (approved, denied, expired or cancelled); the login
// waits for Prompt to return, so Prompt must return soon after ctx is done.
// An error from Prompt ends the login with that error.
type Prompter interface {
	Prompt(ctx context.Context, p Prompt) error
}

// PromptFunc adapts a function to a [Prompter].
type PromptFunc func(ctx context.Context, p Prompt) error

// Prompt calls f(ctx, p).
func (f PromptFunc) Prompt(ctx context.Context, p Prompt) error { return f(ctx, p) }

// TextPrompter is the default [Prompter]: it writes the verification URI and
// the user code to Writer. When Writer is a terminal it also draws a QR code
// of VerificationURIComplete (github.com/mdp/qrterminal/v3) and a countdown
// that runs until the login ends.
type TextPrompter struct {
	// Writer receives the prompt. Nil means os.Stderr.
	Writer io.Writer
	// Clock times the countdown. Nil means the wall clock.
	Clock clock.Clock
}

// maxQRLength caps the URI drawn as a QR code: a longer one would not fit a
// terminal nor scan.
const maxQRLength = 512

// Prompt implements [Prompter].
func (tp *TextPrompter) Prompt(ctx context.Context, p Prompt) error {
	w := tp.Writer
	if w == nil {
		w = os.Stderr
	}
	clk := clock.OrReal(tp.Clock)
	tty := isTerminal(w)
	writePrompt(w, p, clk.Now(), tty)
	if !tty {
		_, _ = fmt.Fprintln(w, "Waiting for approval...")
		return nil
	}
	countdown(ctx, w, clk, p.Expiry)
	return nil
}

// writePrompt writes the text of p, and a QR code when qr is set.
func writePrompt(w io.Writer, p Prompt, now time.Time, qr bool) {
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
func countdown(ctx context.Context, w io.Writer, clk clock.Clock, expiry time.Time) {
	for i := 0; ; i++ {
		left := ""
		if !expiry.IsZero() {
			left = fmt.Sprintf(" (%s left)", max(expiry.Sub(clk.Now()), 0).Round(time.Second))
		}
		_, _ = fmt.Fprintf(w, "\r%s Waiting for approval%s \033[K", spinnerFrames[i%len(spinnerFrames)], left)
		if clock.Sleep(ctx, clk, time.Second) != nil {
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
