// Package redact keeps secrets out of logs, errors and formatted values.
//
// Tokens, secret keys, session tokens and refresh tokens are held in a
// [Secret], which prints as "[REDACTED]" through every fmt verb (%v, %+v, %#v,
// %s, %q, %x), through slog and through encoding/json. When a log line needs
// to tell two tokens apart it prints a [Fingerprint], a short hash that
// reveals nothing usable. Text that comes from a remote server (an error
// message, a response body, a URL), which may quote a secret the server was
// sent or issued, goes through [Scrub] before it reaches an error or a log.
package redact

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Placeholder is what a redacted value prints as.
const Placeholder = "[REDACTED]"

// Secret is a string that never prints its value. Call Reveal only at the
// point where the value must go on the wire or to its owner.
//
// The value sits behind a pointer on purpose: fmt cannot call methods on an
// unexported struct field and prints such fields by reflection, so a plain
// string type would leak from inside another struct. Behind a pointer, the
// worst fmt can show is an address. The zero Secret is empty.
type Secret struct{ v *string }

// New returns a Secret holding s.
func New(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the secret value.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// String implements [fmt.Stringer].
func (s Secret) String() string { return mark(s.Reveal()) }

// GoString implements [fmt.GoStringer], so %#v stays redacted.
func (s Secret) GoString() string { return `"` + mark(s.Reveal()) + `"` }

// Format implements [fmt.Formatter]: every verb prints the placeholder.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(mark(s.Reveal())))
}

// LogValue implements [slog.LogValuer].
func (s Secret) LogValue() slog.Value { return slog.StringValue(mark(s.Reveal())) }

// MarshalText implements [encoding.TextMarshaler], so JSON and text encoders
// print the placeholder too.
func (s Secret) MarshalText() ([]byte, error) { return []byte(mark(s.Reveal())), nil }

func mark(s string) string {
	if s == "" {
		return ""
	}
	return Placeholder
}

// Fingerprint returns "sha256:" and the first 8 hex digits of the SHA-256 of
// s, or "" for an empty s. It identifies a secret in logs without revealing
// it.
func Fingerprint(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:4])
}

// MinScrubLen is the length, in bytes, below which [Scrub] leaves a value
// alone: so short a value is guessed in seconds, so it cannot be a secret,
// and replacing it would garble unrelated text.
const MinScrubLen = 4

// Scrub returns text with every occurrence of each secret replaced by
// [Placeholder]. Use it on any text that comes from a remote server (an
// error code or description, a response body, an error that quotes a URL)
// before the text goes into an error or a log: a server may echo what it
// was sent, or a token it issued.
//
// Besides the value itself, Scrub replaces the forms a value takes when it
// is quoted: percent-encoded as in a URL query or path, escaped as in a JSON
// string and as by strconv.Quote (%q). Longer values are replaced first, so
// a secret that contains another is replaced whole. Values shorter than
// [MinScrubLen] are ignored.
func Scrub(text string, secrets ...string) string {
	var forms []string
	for _, s := range secrets {
		if len(s) < MinScrubLen {
			continue
		}
		forms = append(forms, s, url.QueryEscape(s), url.PathEscape(s), quoted(strconv.Quote(s)))
		if b, err := json.Marshal(s); err == nil {
			forms = append(forms, quoted(string(b)))
		}
	}
	if len(forms) == 0 {
		return text
	}
	slices.SortFunc(forms, func(a, b string) int { // longest first, equal ones together
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	for _, f := range slices.Compact(forms) {
		if strings.Contains(text, f) {
			text = strings.ReplaceAll(text, f, Placeholder)
		}
	}
	return text
}

// quoted strips the quotes around a quoted string.
func quoted(q string) string { return q[1 : len(q)-1] }
