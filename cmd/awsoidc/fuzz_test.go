package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

// FuzzCredentialProcessOutput renders credentials as credential-process
// prints them and parses them back with the SDK's own response type: every
// field must survive, and Expiration must be the same second.
func FuzzCredentialProcessOutput(f *testing.F) {
	f.Add("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEA==", "123456789012", int64(1767225600))
	f.Add("", "", "", "", int64(0))
	f.Add(`"quoted"`, "back\\slash", "new\nline\t<>&'", "", int64(-62135596800))
	f.Add("ünïcödé", "\u2028\u2029", "\x7f", "0", int64(253402300799))
	f.Fuzz(func(t *testing.T, akid, secret, session, account string, unix int64) {
		for _, s := range []string{akid, secret, session, account} {
			if !utf8.ValidString(s) {
				t.Skip("STS credentials are ASCII; JSON cannot carry invalid UTF-8")
			}
		}
		exp := time.Unix(unix, 0)
		if exp.Year() < 1 || exp.Year() > 9999 {
			t.Skip("RFC 3339 has four-digit years")
		}
		creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: session, AccountID: account, CanExpire: true, Expires: exp}
		b, err := json.Marshal(newProcessOutput(creds, exp))
		if err != nil {
			t.Fatal(err)
		}
		var got processcreds.CredentialProcessResponse
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("the SDK cannot parse %s: %v", b, err)
		}
		if got.Version != 1 || got.AccessKeyID != akid || got.SecretAccessKey != secret || got.SessionToken != session || got.AccountID != account {
			t.Errorf("round trip of %s lost a field: %+v", b, got)
		}
		if got.Expiration == nil || !got.Expiration.Equal(exp) {
			t.Errorf("Expiration %v, want %v", got.Expiration, exp)
		}
	})
}

// unquoteSh parses a word made only of '...' parts and "'" parts, the two
// forms shQuote writes, as a POSIX shell does.
func unquoteSh(s string) (string, bool) {
	var b strings.Builder
	for s != "" {
		switch {
		case strings.HasPrefix(s, `"'"`):
			b.WriteByte('\'')
			s = s[3:]
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(s[1 : 1+end])
			s = s[2+end:]
		default:
			return "", false
		}
	}
	return b.String(), true
}

// FuzzShellQuoting checks that every format's quoting reads back as the
// value, by the rules of its shell.
func FuzzShellQuoting(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsRune(v, 0) {
			t.Skip("no environment variable holds a NUL byte")
		}
		if got, ok := unquoteSh(shQuote(v)); !ok || got != v {
			t.Errorf("sh: %q quoted as %s reads back as %q", v, shQuote(v), got)
		}
		if got, ok := unquoteFish(fishQuote(v)); !ok || got != v {
			t.Errorf("fish: %q quoted as %s reads back as %q", v, fishQuote(v), got)
		}
		if got, ok := unquotePS(psQuote(v)); !ok || got != v {
			t.Errorf("powershell: %q quoted as %s reads back as %q", v, psQuote(v), got)
		}
	})
}
