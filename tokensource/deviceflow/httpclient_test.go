package deviceflow

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// closeCounter is a response body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closes int
}

func (c *closeCounter) Close() error { c.closes++; return nil }

// A body read to its end is closed at once, so that a caller that forgets
// Close (x/oauth2's DeviceAuth) leaves no connection or goroutine behind.
func TestLimitedBodyClosesAtEOF(t *testing.T) {
	under := &closeCounter{Reader: strings.NewReader(`{"device_code":"x"}`)}
	b := &limitedBody{rc: under, n: maxResponseSize}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != `{"device_code":"x"}` {
		t.Fatalf("ReadAll() = %q, %v", got, err)
	}
	if under.closes != 1 {
		t.Fatalf("underlying body closed %d times after EOF, want 1", under.closes)
	}
	if err := b.Close(); err != nil || under.closes != 1 {
		t.Fatalf("Close() after EOF = %v, closes = %d, want nil and 1", err, under.closes)
	}
	if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read() after close = %d, %v, want 0, EOF", n, err)
	}
}

func TestLimitedBodyTooLarge(t *testing.T) {
	under := &closeCounter{Reader: strings.NewReader("0123456789")}
	b := &limitedBody{rc: under, n: 4}
	_, err := io.ReadAll(b)
	if !errors.Is(err, errResponseTooLarge) {
		t.Fatalf("ReadAll() = %v, want errResponseTooLarge", err)
	}
	if under.closes != 1 {
		t.Fatalf("underlying body closed %d times, want 1", under.closes)
	}
}
