package deviceflow

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

var samplePrompt = Prompt{
	VerificationURI:         "https://idp.example.com/device",
	VerificationURIComplete: "https://idp.example.com/device?user_code=WDJB-MJHT",
	UserCode:                "WDJB-MJHT",
	Expiry:                  t0.Add(10 * time.Minute),
}

func TestWritePrompt(t *testing.T) {
	var plain bytes.Buffer
	writePrompt(&plain, samplePrompt, t0, false)
	out := plain.String()
	for _, want := range []string{samplePrompt.VerificationURI, samplePrompt.UserCode, samplePrompt.VerificationURIComplete, "expires in 10m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("prompt lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "█▀▄") {
		t.Error("QR code drawn without a terminal")
	}

	var tty bytes.Buffer
	writePrompt(&tty, samplePrompt, t0, true)
	if !strings.ContainsAny(tty.String(), "█▀▄") {
		t.Errorf("no QR code on a terminal:\n%s", tty.String())
	}

	long := samplePrompt
	long.VerificationURIComplete = "https://idp.example.com/" + strings.Repeat("x", maxQRLength)
	var big bytes.Buffer
	writePrompt(&big, long, t0, true)
	if strings.ContainsAny(big.String(), "█▀▄") {
		t.Error("QR code drawn for an over-long URI")
	}
}

func TestTextPrompterNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	tp := &TextPrompter{Writer: &buf, Clock: clock.NewFake(t0)}
	if err := tp.Prompt(context.Background(), samplePrompt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), samplePrompt.UserCode) || !strings.Contains(buf.String(), "Waiting for approval") {
		t.Errorf("output:\n%s", buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
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

func TestCountdown(t *testing.T) {
	clk := clock.NewFake(t0)
	var buf syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		countdown(ctx, &buf, clk, t0.Add(10*time.Minute))
	}()
	fire(t, clk)
	waitTimer(t, clk)
	cancel()
	<-done
	out := buf.String()
	for _, want := range []string{"| Waiting for approval (10m0s left)", "/ Waiting for approval (9m59s left)"} {
		if !strings.Contains(out, want) {
			t.Errorf("countdown lacks %q: %q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("countdown did not clear its line: %q", out)
	}
}

func TestPromptFunc(t *testing.T) {
	var got Prompt
	var p Prompter = PromptFunc(func(_ context.Context, pr Prompt) error { got = pr; return nil })
	if err := p.Prompt(context.Background(), samplePrompt); err != nil || got != samplePrompt {
		t.Fatal(got, err)
	}
}
