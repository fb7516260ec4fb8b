package tokensource_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/internal/redact"
	"github.com/awsoidc/awsoidc/tokensource"
)

// script writes a shell script into a fresh directory and returns the argv
// that runs it with sh, followed by args. Running "sh path" rather than the
// file itself avoids ETXTBSY when a parallel test forks while the file is
// still open for writing.
func script(t *testing.T, body string, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh:", err)
	}
	path := filepath.Join(t.TempDir(), "token.sh")
	writeFile(t, path, body)
	return append([]string{"sh", path}, args...)
}

// noSecret fails the test when text holds any of the secrets.
func noSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("%q holds a secret", text)
		}
	}
}

func TestExecOutput(t *testing.T) {
	exp := t0.Add(time.Hour)
	jwt := jwtExp(exp)
	earlier := t0.Add(10 * time.Minute).Format(time.RFC3339)
	later := t0.Add(2 * time.Hour).Format(time.RFC3339)
	tests := []struct {
		name       string
		stdout     string
		wantValue  string
		wantExpiry time.Time
	}{
		{"raw JWT", jwt + "\n", jwt, exp},
		{"raw opaque token", "  opaque-access-token-1234\n\n", "opaque-access-token-1234", time.Time{}},
		{"JSON without expiration", `{"token":"` + jwt + `"}`, jwt, exp},
		{"JSON expiration earlier than exp", `{"token":"` + jwt + `","expiration":"` + earlier + `"}`, jwt, t0.Add(10 * time.Minute)},
		{"JSON expiration later than exp", `{"token":"` + jwt + `","expiration":"` + later + `"}`, jwt, exp},
		{"JSON opaque token with expiration", `{"token":"opaque-1234","expiration":"` + later + `","other":1}`, "opaque-1234", t0.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			writeFile(t, out, tt.stdout)
			tok, err := tokensource.Exec(script(t, `cat "$1"`, out)).Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok.Value != tt.wantValue || !tok.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("got %q expiring %v, want %q expiring %v", tok.Value, tok.Expiry, tt.wantValue, tt.wantExpiry)
			}
		})
	}
}

func TestExecBadOutput(t *testing.T) {
	jwt := jwtExp(t0.Add(time.Hour))
	tests := []struct {
		name   string
		stdout string
		want   error
		text   string
	}{
		{"empty", "", tokensource.ErrEmpty, "printed nothing"},
		{"only whitespace", " \n\t\n", tokensource.ErrEmpty, "printed nothing"},
		{"two lines", jwt + "\n" + jwt + "\n", tokensource.ErrMalformed, "byte offset"},
		{"control character", "abc\x00def", tokensource.ErrMalformed, "U+0000"},
		{"not UTF-8", "abc\xffdef", tokensource.ErrMalformed, "not UTF-8"},
		{"JSON not an object", `{"token":` + jwt, tokensource.ErrMalformed, "not the JSON object"},
		{"JSON token not a string", `{"token":12345678}`, tokensource.ErrMalformed, "not the JSON object"},
		{"JSON without token", `{"id_token":"` + jwt + `"}`, tokensource.ErrEmpty, `no "token"`},
		{"JSON bad expiration", `{"token":"` + jwt + `","expiration":"tomorrow"}`, tokensource.ErrMalformed, "RFC 3339"},
		{"JSON token with a newline", `{"token":"abcd\nefgh"}`, tokensource.ErrMalformed, "byte offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			writeFile(t, out, tt.stdout)
			_, err := tokensource.Exec(script(t, `cat "$1"`, out)).Token(context.Background())
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("got %v, want %v saying %q", err, tt.want, tt.text)
			}
			var te *tokensource.Error
			if !errors.As(err, &te) || te.Source != "exec" || te.Name != "sh" {
				t.Errorf("got %#v, want an *Error of source exec naming sh", err)
			}
			noSecret(t, err.Error(), jwt, "abcd", "efgh")
		})
	}
}

func TestExecRunsAgainEachCall(t *testing.T) {
	count := filepath.Join(t.TempDir(), "count")
	writeFile(t, count, "0")
	src := tokensource.Exec(script(t, `n=$(($(cat "$1") + 1)); echo $n > "$1"; echo "token-number-$n"`, count))
	for want := 1; want <= 3; want++ {
		tok, err := src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok.Value != fmt.Sprintf("token-number-%d", want) {
			t.Fatalf("call %d got %q", want, tok.Value)
		}
	}
}

func TestExecNoShell(t *testing.T) {
	// The argument reaches the script as one word, unexpanded.
	arg := `$HOME; echo "two words" *`
	tok, err := tokensource.Exec(script(t, `printf '%s' "$1" | tr ' ;$*"' 'xxxxx'`, arg)).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := `xHOMExxechoxxtwoxwordsxxx`; tok.Value != want {
		t.Errorf("got %q, want %q", tok.Value, want)
	}
}

func TestExecFailureScrubbed(t *testing.T) {
	jwt := jwtExp(t0.Add(time.Hour))
	other := makeJWT(`{"iss":"https://other.example","sub":"someone-else","exp":1}`)
	opaque := strings.Repeat("OpaqueAccessToken", 6)
	out := filepath.Join(t.TempDir(), "out")
	writeFile(t, out, `{"token":"`+jwt+`"}`)
	argv := script(t, `cat "$1"
echo "request failed for token $(cat "$1") and `+other+`" >&2
echo "bearer `+opaque+`" >&2
echo "permission denied: check the role" >&2
exit 3`, out)
	_, err := tokensource.Exec(argv).Token(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	noSecret(t, msg, jwt, other, opaque, other[:40])
	for _, want := range []string{"exit status 3", "permission denied: check the role", redact.Placeholder} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	noSecret(t, fmt.Sprintf("%v %+v %#v", err, err, err), jwt, other, opaque)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Error("the *exec.ExitError is reachable; its Stderr field could hold a token")
	}
}

func TestExecLongStderr(t *testing.T) {
	jwt := jwtExp(t0.Add(time.Hour))
	// 200 KiB of stderr with a JWT in every line: only the end is quoted,
	// and no JWT is cut in two by the truncation.
	argv := script(t, `i=0; while [ $i -lt 2000 ]; do echo "line $i `+jwt+` padding padding padding" >&2; i=$((i+1)); done; echo "the end" >&2; exit 1`)
	_, err := tokensource.Exec(argv).Token(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "the end") || len(msg) > 2<<10 {
		t.Errorf("got %d bytes, want the end of stderr in about 1 KiB: %q", len(msg), msg)
	}
	// No piece of the JWT longer than its header's first bytes survives.
	for _, part := range strings.Split(jwt, ".") {
		noSecret(t, msg, part[len(part)/2:])
	}
}

func TestExecHugeOutput(t *testing.T) {
	// yes prints forever: the source must stop it at the limit.
	_, err := tokensource.Exec(script(t, `exec yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`)).Token(context.Background())
	if !errors.Is(err, tokensource.ErrMalformed) || !strings.Contains(err.Error(), "more than 65536 bytes") {
		t.Fatalf("got %v, want ErrMalformed for the size", err)
	}
}

func TestExecNoCommand(t *testing.T) {
	for _, argv := range [][]string{nil, {""}} {
		_, err := tokensource.Exec(argv).Token(context.Background())
		if err == nil || !strings.Contains(err.Error(), "no command given") {
			t.Errorf("Exec(%q): got %v", argv, err)
		}
	}
	_, err := tokensource.Exec([]string{"awsoidc-no-such-program-here", "secret-arg"}).Token(context.Background())
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("got %v, want exec.ErrNotFound", err)
	}
	noSecret(t, err.Error(), "secret-arg")
}

func TestExecString(t *testing.T) {
	src := tokensource.Exec([]string{"vault", "read", "-field=token", "-address=https://user:hunter22@vault"})
	for _, s := range []string{fmt.Sprint(src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src)} {
		noSecret(t, s, "hunter22")
	}
	if got, want := fmt.Sprint(src), `tokensource.Exec("vault")`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestExecCanceledBeforeRun(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tokensource.Exec(script(t, `touch "$1"; echo token-value`, marker)).Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the command ran: %v", err)
	}
}
