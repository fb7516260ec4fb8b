package deviceflow

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// maxHeld bounds the secret values a [Source] remembers for scrubbing: the
// tokens of a few logins and refreshes and a device code. Older values were
// replaced long ago; no identity provider is sent them any more.
const maxHeld = 16

// hold records secret values the Source holds or sends (tokens it loaded or
// obtained, a device code), so that [Source.remote] scrubs them from what
// the identity provider answers. The client secret is always scrubbed.
func (s *Source) hold(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if v != "" && !slices.ContainsFunc(s.held, func(h redact.Secret) bool { return h.Reveal() == v }) {
			s.held = append(s.held, redact.New(v))
		}
	}
	if n := len(s.held) - maxHeld; n > 0 {
		s.held = slices.Delete(s.held, 0, n)
	}
}

// holdTokens records the tokens of t (nil is allowed).
func (s *Source) holdTokens(t *Tokens) {
	if t != nil {
		s.hold(t.RefreshToken, t.AccessToken, t.IDToken)
	}
}

// secrets returns the client secret and the values recorded by
// [Source.hold].
func (s *Source) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, 1+len(s.held))
	out = append(out, s.secret.Reveal())
	for _, h := range s.held {
		out = append(out, h.Reveal())
	}
	return out
}

// scrubText returns text, which came from the identity provider, with every
// secret of the Source replaced by [redact.Placeholder] and without control
// or bidirectional formatting characters. It scrubs before and after it
// drops those characters, so that a secret split by one is caught too. The
// caller truncates, once the secrets are gone.
func (s *Source) scrubText(text string) string {
	return scrubWith(text, s.secrets())
}

func scrubWith(text string, secrets []string) string {
	text = redact.Scrub(text, secrets...)
	return redact.Scrub(sanitize(text, len(text)), secrets...)
}

// remote returns err, an error of a request to the identity provider, with
// the secrets of the Source scrubbed from everything in it that the
// identity provider or its discovery document wrote (RFC 6749 §5.2 error
// fields, a response body or status line, a URL): an identity provider may
// echo the refresh token, the device code or the client secret it was sent.
//
// An [*oauth2.RetrieveError] becomes a scrubbed copy (its Response keeps
// the status only, not the request with its Authorization header) and a
// [*url.Error] a copy with a scrubbed URL, so that [errors.As] still finds
// them. Any other error whose message holds a secret is hidden behind a
// [*cleanError] that [errors.Is] sees through but [errors.As] does not.
func (s *Source) remote(err error) error {
	if err == nil {
		return nil
	}
	return scrubError(err, s.secrets())
}

func scrubError(err error, secrets []string) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *oauth2.RetrieveError:
		c := &oauth2.RetrieveError{
			Response:         &http.Response{Status: "", Body: http.NoBody},
			Body:             []byte(scrubWith(string(e.Body), secrets)),
			ErrorCode:        scrubWith(e.ErrorCode, secrets),
			ErrorDescription: scrubWith(e.ErrorDescription, secrets),
			ErrorURI:         scrubWith(e.ErrorURI, secrets),
		}
		if r := e.Response; r != nil {
			c.Response.Status = scrubWith(r.Status, secrets) // the reason phrase is the server's
			c.Response.StatusCode = r.StatusCode
			c.Response.Proto, c.Response.ProtoMajor, c.Response.ProtoMinor = r.Proto, r.ProtoMajor, r.ProtoMinor
		}
		return c
	case *url.Error:
		return &url.Error{Op: e.Op, URL: scrubWith(e.URL, secrets), Err: scrubError(e.Err, secrets)}
	}
	msg := err.Error()
	if clean := scrubWith(msg, secrets); clean != sanitize(msg, len(msg)) {
		return &cleanError{msg: clean, err: err}
	}
	return err
}

// clean returns err, from a library that may quote a response body (go-oidc
// does, for a failed discovery), scrubbed by [Source.remote], with its
// message stripped of control characters and truncated to max runes.
func (s *Source) clean(err error, max int) error {
	err = s.remote(err)
	return &cleanError{msg: sanitize(s.scrubText(err.Error()), max), err: err, unwrap: true}
}

// cleanError is an error whose message quotes a remote server, made safe to
// print when it was built: scrubbed of secrets, without control characters,
// perhaps truncated. Every fmt verb prints that message.
//
// errors.Is sees through it to the original error (a context error, a
// sentinel). Unwrap returns the original error only when unwrap is set, that
// is when the original's own message holds no secret: otherwise [errors.As]
// would hand out the unscrubbed error.
type cleanError struct {
	msg    string
	err    error
	unwrap bool
}

func (e *cleanError) Error() string { return e.msg }

func (e *cleanError) Unwrap() error {
	if e.unwrap {
		return e.err
	}
	return nil
}

func (e *cleanError) Is(target error) bool { return !e.unwrap && errors.Is(e.err, target) }

// Format implements [fmt.Formatter]: every verb, %#v included, prints the
// message, never the original error's fields.
func (e *cleanError) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.msg)) }
