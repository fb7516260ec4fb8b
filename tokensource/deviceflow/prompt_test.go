package deviceflow

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

var samplePrompt = Prompt{
	VerificationURI:         "https://idp.example.com/device",
	VerificationURIComplete: "https://idp.example.com/device?user_code=WDJB-MJHT",
	UserCode:                "WDJB-MJHT",
	Expiry:                  t0.Add(10 * time.Minute),
	Interval:                5 * time.Second,
}

// TestTextPrompter checks the default prompt: plain text, no terminal
// control sequence.
func TestTextPrompter(t *testing.T) {
	var buf bytes.Buffer
	tp := textPrompter{w: &buf, now: func() time.Time { return t0 }}
	if err := tp.Prompt(context.Background(), samplePrompt); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{samplePrompt.VerificationURI, samplePrompt.UserCode, samplePrompt.VerificationURIComplete, "expires in 10m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("prompt lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\r\033█▀▄") {
		t.Errorf("prompt has terminal control or QR characters: %q", out)
	}
}

func TestPromptFunc(t *testing.T) {
	var got Prompt
	var p Prompter = PromptFunc(func(_ context.Context, pr Prompt) error { got = pr; return nil })
	if err := p.Prompt(context.Background(), samplePrompt); err != nil || got != samplePrompt {
		t.Fatal(got, err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
