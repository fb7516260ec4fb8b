// Package redact keeps secrets out of logs, errors and formatted values.
//
// Tokens, secret keys, session tokens and refresh tokens are held in a
// [Secret], which prints as "[REDACTED]" through every fmt verb (%v, %+v, %#v,
// %s, %q, %x), through slog and through encoding/json. When a log line needs
// to tell two tokens apart it prints a [Fingerprint], a short hash that
// reveals nothing usable.
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
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
