package netutil

import (
	"net/url"
	"testing"
)

// TestIsLoopback checks the hosts that may receive plain http and those
// that may not, including look-alikes of a loopback host.
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":               true,
		"LocalHost":               true,
		"127.0.0.1":               true,
		"127.8.9.10":              true,
		"::1":                     true,
		"::ffff:127.0.0.1":        true,
		"":                        false,
		"localhost.":              false, // a fully qualified name: DNS decides
		"localhost.example.com":   false,
		"127.0.0.1.nip.io":        false,
		"128.0.0.1":               false,
		"0.0.0.0":                 false,
		"::":                      false,
		"169.254.169.254":         false,
		"[::1]":                   false, // Hostname strips the brackets
		"example.com":             false,
		"2130706433":              false, // 127.0.0.1 as one decimal number, which net.ParseIP rejects
		"0x7f.0.0.1":              false,
		"localhost\x00.evil.test": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestIsLoopbackOfURLHostname checks the use the callers make: the
// Hostname of a parsed URL, brackets and port removed.
func TestIsLoopbackOfURLHostname(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://[::1]:8080/token":        true,
		"http://localhost:1234/x":        true,
		"http://127.0.0.1/":              true,
		"http://user@127.0.0.1:80/":      true,
		"http://[fe80::1%25lo0]:80/":     false,
		"http://evil.test#@127.0.0.1/":   false,
		"http://127.0.0.1.evil.test:80/": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", raw, err)
		}
		if got := IsLoopback(u.Hostname()); got != want {
			t.Errorf("IsLoopback(Hostname of %q = %q) = %v, want %v", raw, u.Hostname(), got, want)
		}
	}
}
