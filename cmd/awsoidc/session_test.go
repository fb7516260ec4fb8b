package main

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"3600": time.Hour, "1h": time.Hour, "90m": 90 * time.Minute, "900": 15 * time.Minute} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-1", "99999999999"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) succeeded", in)
		}
	}
}

func TestLoopbackAddr(t *testing.T) {
	ok := map[string]string{
		"127.0.0.1:0":    "127.0.0.1:0",
		"127.0.0.2:8080": "127.0.0.2:8080",
		"[::1]:0":        "[::1]:0",
		"localhost:9911": "127.0.0.1:9911",
	}
	for in, want := range ok {
		if got, err := loopbackAddr(in); err != nil || got != want {
			t.Errorf("loopbackAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{":0", "0.0.0.0:0", "[::]:0", "192.168.1.10:0", "example.com:80", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "localhost.example.com:1"} {
		if _, err := loopbackAddr(in); err == nil {
			t.Errorf("loopbackAddr(%q) accepted", in)
		}
	}
}

func TestScrubber(t *testing.T) {
	var s scrubber
	s.add("short", "a-long-secret-value")
	if got := s.scrub("x a-long-secret-value y short"); got != "x [REDACTED] y short" {
		t.Errorf("scrub = %q", got)
	}
}
