package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

var samplePrompt = deviceflow.Prompt{
	VerificationURI:         "https://idp.example.com/device",
	VerificationURIComplete: "https://idp.example.com/device?user_code=WDJB-MJHT",
	UserCode:                "WDJB-MJHT",
	Expiry:                  t0.Add(10 * time.Minute),
	Interval:                5 * time.Second,
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

func TestPrompterNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &prompter{w: &buf, log: slog.New(slog.DiscardHandler)}
	if err := p.Prompt(context.Background(), samplePrompt); err != nil {
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
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			countdown(ctx, &buf, time.Now().Add(10*time.Minute))
		}()
		time.Sleep(time.Second)
		synctest.Wait()
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
	})
}

func TestBrowserCommand(t *testing.T) {
	const u = "https://idp.example.com/device?user_code=ABCD"
	tests := []struct {
		goos, name string
		args       []string
	}{
		{"linux", "xdg-open", []string{u}},
		{"darwin", "open", []string{u}},
		{"windows", "rundll32", []string{"url.dll,FileProtocolHandler", u}},
	}
	for _, tt := range tests {
		name, args, err := browserCommand(tt.goos, u)
		if err != nil || name != tt.name || strings.Join(args, " ") != strings.Join(tt.args, " ") {
			t.Errorf("%s: %s %q %v", tt.goos, name, args, err)
		}
	}
	if _, _, err := browserCommand("linux", "http://127.0.0.1:8080/device"); err != nil {
		t.Errorf("loopback http refused: %v", err)
	}
	for _, bad := range []string{"javascript:alert(1)", "file:///etc/passwd", "http://idp.example.com/device", "-flag"} {
		if _, _, err := browserCommand("linux", bad); err == nil {
			t.Errorf("browserCommand(%q) accepted", bad)
		}
	}
	if _, _, err := browserCommand("plan9", u); err == nil {
		t.Error("unknown OS accepted")
	}
}
