package deviceflow

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Prompt is what the user needs to approve a device login, from the device
// authorization response (RFC 8628 §3.2), to be shown as RFC 8628 §3.3
// describes.
type Prompt struct {
	// VerificationURI is the page where the user enters UserCode.
	VerificationURI string
	// VerificationURIComplete, when not empty, is VerificationURI with the
	// user code included, for a QR code or a link (RFC 8628 §3.3.1).
	VerificationURIComplete string
	// UserCode is the code the user enters.
	UserCode string
	// Expiry is when the code expires.
	Expiry time.Time
	// Interval is how long the [Source] waits between two polls of the
	// token endpoint.
	Interval time.Duration
}

// Prompter shows a [Prompt] to the user.
//
// A [Source] calls Prompt once per device login, in a goroutine of its own,
// while it polls the token endpoint. Prompt may return at once, or keep
// showing progress (a countdown) until ctx is done, which happens when the
// login ends (approved, denied, expired or cancelled); the login waits for
// Prompt to return, so Prompt must return soon after ctx is done. An error
// from Prompt ends the login with that error.
//
// The URIs have been checked to be https (or http on a loopback host), and
// every field is free of control characters.
type Prompter interface {
	Prompt(ctx context.Context, p Prompt) error
}

// PromptFunc adapts a function to a [Prompter].
type PromptFunc func(ctx context.Context, p Prompt) error

// Prompt calls f(ctx, p).
func (f PromptFunc) Prompt(ctx context.Context, p Prompt) error { return f(ctx, p) }

// textPrompter is the default [Prompter]: plain text on w.
type textPrompter struct {
	w   io.Writer
	now func() time.Time
}

func (tp textPrompter) Prompt(_ context.Context, p Prompt) error {
	_, err := io.WriteString(tp.w, promptText(p, tp.now()))
	return err
}

// promptText is the text of p at now.
func promptText(p Prompt, now time.Time) string {
	s := fmt.Sprintf("To sign in, open %s in a browser and enter the code %s\n", p.VerificationURI, p.UserCode)
	if p.VerificationURIComplete != "" {
		s += fmt.Sprintf("(or open %s, which includes the code).\n", p.VerificationURIComplete)
	}
	if !p.Expiry.IsZero() {
		s += fmt.Sprintf("The code expires in %s.\n", p.Expiry.Sub(now).Round(time.Second))
	}
	return s
}
