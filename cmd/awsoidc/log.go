package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// newLogger returns the logger of the run: text on stderr, at debug level
// with --verbose, errors only with --quiet, warnings otherwise. Every
// record passes through the scrubber, a second line of defence behind the
// libraries' own redaction: a value the command knows to be secret (a
// token it read, credentials it printed) is replaced wherever it appears.
func (a *app) newLogger() *slog.Logger {
	level := slog.LevelWarn
	switch {
	case a.verbose:
		level = slog.LevelDebug
	case a.quiet:
		level = slog.LevelError
	}
	h := slog.NewTextHandler(a.stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, attr slog.Attr) slog.Attr {
			var s string
			switch attr.Value.Kind() {
			case slog.KindString:
				s = attr.Value.String()
			case slog.KindAny:
				s = fmt.Sprint(attr.Value.Any())
			default:
				return attr
			}
			if clean := a.secrets.scrub(s); clean != s {
				attr.Value = slog.StringValue(clean)
			}
			return attr
		},
	})
	return slog.New(&scrubHandler{Handler: h, s: a.secrets}).With("cmd", "awsoidc")
}

// scrubber holds the secret values of a run and removes them from text.
// It is safe for concurrent use.
type scrubber struct {
	mu      sync.Mutex // guards secrets
	secrets []string
}

// add registers values as secret. Short values are ignored: replacing them
// would garble unrelated text, and real secrets are long.
func (s *scrubber) add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) >= 8 {
			s.secrets = append(s.secrets, v)
		}
	}
}

// scrub replaces every registered secret in text with [redact.Placeholder],
// in the forms a remote server or a formatter quotes it (see
// [redact.Scrub]).
func (s *scrubber) scrub(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return redact.Scrub(text, s.secrets...)
}

// scrubHandler scrubs the message of each record; attributes are scrubbed
// by the text handler's ReplaceAttr.
type scrubHandler struct {
	slog.Handler
	s *scrubber
}

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	if msg := h.s.scrub(r.Message); msg != r.Message {
		r2 := slog.NewRecord(r.Time, r.Level, msg, r.PC)
		r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(a); return true })
		r = r2
	}
	return h.Handler.Handle(ctx, r)
}

func (h *scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &scrubHandler{Handler: h.Handler.WithAttrs(attrs), s: h.s}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{Handler: h.Handler.WithGroup(name), s: h.s}
}

// debugLog is the run's logger with --verbose, else a logger that
// discards: for libraries whose records repeat what the command reports.
func (a *app) debugLog() *slog.Logger {
	if a.verbose {
		return a.log
	}
	return slog.New(slog.DiscardHandler)
}
