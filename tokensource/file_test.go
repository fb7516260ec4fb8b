package tokensource_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/tokensource"
)

func TestFileContent(t *testing.T) {
	exp := t0.Add(time.Hour)
	jwt := jwtExp(exp)
	tests := []struct {
		name      string
		content   string
		maxSize   int64
		want      string
		wantExp   time.Time
		wantErr   error
		errSubstr []string
	}{
		{name: "JWT with trailing newline", content: jwt + "\n", want: jwt, wantExp: exp},
		{name: "surrounding whitespace", content: " \t\r\n opaque-token \r\n", want: "opaque-token"},
		{name: "exactly MaxSize", content: strings.Repeat("x", 16), maxSize: 16, want: strings.Repeat("x", 16)},
		{name: "over MaxSize", content: strings.Repeat("x", 17), maxSize: 16, wantErr: tokensource.ErrMalformed,
			errSubstr: []string{"16 bytes"}},
		{name: "over the default MaxSize", content: strings.Repeat("x", tokensource.DefaultMaxFileSize+1),
			wantErr: tokensource.ErrMalformed, errSubstr: []string{"65536 bytes"}},
		{name: "whitespace over MaxSize", content: "tok" + strings.Repeat(" ", 20), maxSize: 16, wantErr: tokensource.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "token")
			writeFile(t, path, tt.content)
			fake := clock.NewFake(t0)
			src := fileOn(fake, path)
			if tt.maxSize > 0 {
				src = tokensource.WithMaxFileSize(src, tt.maxSize)
			}
			tok, err := tokenNoWait(t, src, fake)
			if tt.wantErr != nil {
				checkFileErr(t, err, path, tt.wantErr)
				for _, s := range tt.errSubstr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "xxxx") {
					t.Errorf("error %q contains the file content", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if tok.Value != tt.want || !tok.Expiry.Equal(tt.wantExp) {
				t.Fatalf("Token() = %q, %v; want %q, %v", tok.Value, tok.Expiry, tt.want, tt.wantExp)
			}
		})
	}
}

// checkFileErr checks that err is an *Error of the file source that names
// path and wraps want.
func checkFileErr(t *testing.T, err error, path string, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
	var te *tokensource.Error
	if !errors.As(err, &te) || te.Source != "file" || te.Name != path {
		t.Fatalf("error = %#v, want *tokensource.Error{Source: file, Name: %q}", err, path)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "tokensource: file") || strings.Count(msg, path) != 1 {
		t.Fatalf("error %q: want the prefix and the path exactly once", msg)
	}
}

func TestFileRereadsEveryCall(t *testing.T) {
	path := tempPath(t, "token")
	src := tokensource.File(path)
	for _, v := range []string{"first", "second", "third"} {
		writeFile(t, path, v+"\n")
		tok, err := src.Token(context.Background())
		if err != nil || tok.Value != v {
			t.Fatalf("Token() = %q, %v; want %q", tok.Value, err, v)
		}
	}
}

func TestFileAppearsDuringRetry(t *testing.T) {
	for _, tt := range []struct {
		name   string
		before func(t *testing.T, path string) // state when Token is called
	}{
		{"missing", func(*testing.T, string) {}},
		{"empty", func(t *testing.T, path string) { writeFile(t, path, "") }},
		{"only whitespace", func(t *testing.T, path string) { writeFile(t, path, " \n") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "token")
			tt.before(t, path)
			fake := clock.NewFake(t0)
			src := fileOn(fake, path)
			done := tokenAsync(context.Background(), src)
			for range 3 { // let it fail three times
				if err := fake.WaitForTimers(context.Background(), 1); err != nil {
					t.Fatal(err)
				}
				next, _ := fake.NextDeadline()
				fake.Set(next)
			}
			if err := fake.WaitForTimers(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, "token-value\n")
			next, _ := fake.NextDeadline()
			fake.Set(next)
			r := <-done
			if r.err != nil || r.tok.Value != "token-value" {
				t.Fatalf("Token() = %q, %v", r.tok.Value, r.err)
			}
			// Retries after 10, 20, 40 and 80 ms: a fixed schedule, no jitter.
			if got, want := fake.Now().Sub(t0), 150*time.Millisecond; got != want {
				t.Fatalf("waited %v on the clock, want %v", got, want)
			}
		})
	}
}

func TestFileGivesUp(t *testing.T) {
	for _, tt := range []struct {
		name     string
		content  *string // nil: no file
		retryFor time.Duration
		want     error
		waited   time.Duration
	}{
		{name: "missing", want: fs.ErrNotExist, waited: time.Second},
		{name: "empty", content: new(""), want: tokensource.ErrEmpty, waited: time.Second},
		{name: "missing, RetryFor 25ms", retryFor: 25 * time.Millisecond, want: fs.ErrNotExist, waited: 25 * time.Millisecond},
		{name: "missing, retry disabled", retryFor: -1, want: fs.ErrNotExist},
		{name: "empty, retry disabled", content: new(""), retryFor: -1, want: tokensource.ErrEmpty},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "token")
			if tt.content != nil {
				writeFile(t, path, *tt.content)
			}
			fake := clock.NewFake(t0)
			src := fileOn(fake, path, func(o *tokensource.FileOptions) { o.RetryFor = tt.retryFor })
			var err error
			if tt.waited == 0 {
				_, err = tokenNoWait(t, src, fake)
			} else {
				autoAdvance(t, fake)
				_, err = src.Token(context.Background())
			}
			checkFileErr(t, err, path, tt.want)
			if got := fake.Now().Sub(t0); got != tt.waited {
				t.Errorf("waited %v on the clock, want %v", got, tt.waited)
			}
			if tt.waited > 0 && !strings.Contains(err.Error(), "after retrying for "+tt.waited.String()) {
				t.Errorf("error %q does not say how long it retried", err)
			}
		})
	}
}

func TestFileNotRetried(t *testing.T) {
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		fake := clock.NewFake(t0)
		_, err := tokenNoWait(t, fileOn(fake, dir), fake)
		var te *tokensource.Error
		if err == nil || !errors.As(err, &te) || te.Name != dir || !strings.Contains(err.Error(), "not a regular file (mode d") {
			t.Fatalf("Token() error = %v, want a *tokensource.Error naming %s", err, dir)
		}
	})
	t.Run("not a directory in the path", func(t *testing.T) {
		file := tempPath(t, "file")
		writeFile(t, file, "x")
		path := filepath.Join(file, "token")
		fake := clock.NewFake(t0)
		_, err := tokenNoWait(t, fileOn(fake, path), fake)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Token() error = %v, want ENOTDIR", err)
		}
	})
	t.Run("empty path", func(t *testing.T) {
		fake := clock.NewFake(t0)
		_, err := tokenNoWait(t, fileOn(fake, ""), fake)
		if err == nil || !strings.Contains(err.Error(), "no token file path") {
			t.Fatalf("Token() error = %v, want one saying no path was given", err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		path := tempPath(t, "token")
		writeFile(t, path, "secret-token")
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadFile(path); err == nil {
			// Root (CAP_DAC_OVERRIDE) reads a mode 000 file: there is no
			// permission error to provoke.
			t.Skip("running as root or with CAP_DAC_OVERRIDE: mode 000 does not block reads")
		}
		fake := clock.NewFake(t0)
		_, err := tokenNoWait(t, fileOn(fake, path), fake)
		checkFileErr(t, err, path, fs.ErrPermission)
	})
}

func TestFileCancellation(t *testing.T) {
	path := tempPath(t, "token")
	fake := clock.NewFake(t0)
	src := fileOn(fake, path)

	ctx, cancel := context.WithCancel(context.Background())
	done := tokenAsync(ctx, src)
	if err := fake.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	r := <-done
	checkFileErr(t, r.err, path, context.Canceled)
	if !errors.Is(r.err, fs.ErrNotExist) {
		t.Errorf("error %v does not keep the last read error", r.err)
	}
	if fake.Timers() != 0 {
		t.Errorf("%d timers left running", fake.Timers())
	}

	// A context that is already done stops the source before any read.
	writeFile(t, path, "tok")
	_, err := src.Token(ctx)
	checkFileErr(t, err, path, context.Canceled)
}

// TestFileKubeletSwap rotates the token the way the kubelet's atomic writer
// does (a new timestamped directory, a "..data_tmp" symlink renamed over
// "..data", the old directory removed) while readers call Token through the
// "token" -> "..data/token" symlink. Every read must return a whole token
// that was written, never an error, an empty or a torn value.
//
// The "gap" case replaces "..data" non-atomically (remove, then create), so
// that readers do find the file missing; they wait on the fake clock, which
// the writer advances only once the new token is in place.
func TestFileKubeletSwap(t *testing.T) {
	for _, tt := range []struct {
		name string
		gap  bool
	}{{"atomic rename", false}, {"missing for a moment", true}} {
		t.Run(tt.name, func(t *testing.T) { testSwap(t, tt.gap) })
	}
}

func testSwap(t *testing.T, gap bool) {
	const swaps, readers = 50, 4
	dir := t.TempDir()
	tokens := make([]string, swaps+1)
	valid := make(map[string]bool)
	for i := range tokens {
		tokens[i] = jwtExp(t0.Add(time.Duration(i+1) * time.Hour))
		valid[tokens[i]] = true
	}
	data := filepath.Join(dir, "..data")
	tsDir := func(i int) string { return filepath.Join(dir, fmt.Sprintf("..2026_01_02_03_04_05.%06d", i)) }
	publish := func(i int) error {
		if err := os.Mkdir(tsDir(i), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tsDir(i), "token"), []byte(tokens[i]+"\n"), 0o644); err != nil {
			return err
		}
		if gap && i > 0 {
			if err := os.Remove(data); err != nil {
				return err
			}
			runtime.Gosched()
			if err := os.Symlink(filepath.Base(tsDir(i)), data); err != nil {
				return err
			}
		} else {
			tmp := filepath.Join(dir, "..data_tmp")
			if err := os.Symlink(filepath.Base(tsDir(i)), tmp); err != nil {
				return err
			}
			if err := os.Rename(tmp, data); err != nil {
				return err
			}
		}
		if i > 0 {
			return os.RemoveAll(tsDir(i - 1))
		}
		return nil
	}
	if err := publish(0); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "token")
	if err := os.Symlink(filepath.Join("..data", "token"), path); err != nil {
		t.Fatal(err)
	}

	fake := clock.NewFake(t0)
	src := fileOn(fake, path, func(o *tokensource.FileOptions) {
		o.RetryFor = time.Hour // the writer, not the budget, decides when a reader wakes
	})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := src.Token(context.Background())
				if err != nil {
					errs <- err
					return
				}
				if !valid[tok.Value] || tok.Expiry.IsZero() {
					errs <- fmt.Errorf("read a token that was never written (len %d)", len(tok.Value))
					return
				}
			}
		})
	}
	for i := 1; i <= swaps; i++ {
		if err := publish(i); err != nil {
			t.Fatal(err)
		}
		// Wake the readers that found the file missing: every retry delay
		// is at most 250ms.
		fake.Advance(250 * time.Millisecond)
	}
	close(stop)
	autoAdvance(t, fake)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil || tok.Value != tokens[swaps] || !tok.Expiry.Equal(t0.Add((swaps+1)*time.Hour)) {
		t.Fatalf("after the last swap Token() = %v, %v; want the last token", tok, err)
	}
}

// TestFileEncoding: what editors and shells put around a token. A leading
// UTF-8 byte order mark (Notepad, PowerShell) is removed and surrounding
// whitespace trimmed, as before; a control character inside the token (a
// NUL, an inner newline, ...) and UTF-16 text are refused with an error
// that names the path and the offset, never the content. STS would answer
// such a token as malformed, which reads as the identity provider's fault.
func TestFileEncoding(t *testing.T) {
	exp := t0.Add(time.Hour)
	jwt := jwtExp(exp)
	const bom = "\xEF\xBB\xBF"
	tests := []struct {
		name      string
		content   string
		want      string
		wantExp   time.Time
		wantErr   error
		errSubstr []string
	}{
		{name: "UTF-8 BOM", content: bom + jwt, want: jwt, wantExp: exp},
		{name: "UTF-8 BOM and CRLF", content: bom + jwt + "\r\n", want: jwt, wantExp: exp},
		{name: "UTF-8 BOM, spaces and newline", content: bom + "  opaque-token\n", want: "opaque-token"},
		{name: "trailing newline trimmed", content: "opaque-token\n", want: "opaque-token"},
		{name: "only a BOM", content: bom + "\n", wantErr: tokensource.ErrEmpty},
		{name: "NUL inside", content: "secret-part\x00other-part\n", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+0000", "byte offset 11"}},
		{name: "NUL at the end", content: "secret-part\x00", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+0000", "byte offset 11"}},
		{name: "inner newline", content: "secret-part\nother-part\n", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+000A", "byte offset 11", "one line"}},
		{name: "inner CR", content: "secret-part\rother-part", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+000D"}},
		{name: "inner tab", content: "secret-part\tother-part", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+0009"}},
		{name: "escape sequence", content: "\x1b[31msecret-part", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+001B", "byte offset 0"}},
		{name: "DEL", content: "secret-part\x7f", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+007F"}},
		{name: "C1 control", content: "secret-part\u0085other-part", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+0085"}},
		{name: "offset counts the BOM and leading space", content: bom + " secret-part\x01", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+0001", "byte offset 15"}},
		{name: "second BOM", content: bom + bom + "secret-part", wantErr: tokensource.ErrMalformed, errSubstr: []string{"U+FEFF", "byte offset 3"}},
		{name: "UTF-16LE", content: "\xFF\xFEs\x00e\x00c\x00r\x00e\x00t\x00-\x00p\x00a\x00r\x00t\x00\r\x00\n\x00", wantErr: tokensource.ErrMalformed, errSubstr: []string{"UTF-16"}},
		{name: "UTF-16BE", content: "\xFE\xFF\x00s\x00e\x00c\x00r\x00e\x00t\x00-\x00p\x00a\x00r\x00t", wantErr: tokensource.ErrMalformed, errSubstr: []string{"UTF-16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "token")
			writeFile(t, path, tt.content)
			fake := clock.NewFake(t0)
			src := fileOn(fake, path, func(o *tokensource.FileOptions) { o.RetryFor = -1 })
			tok, err := tokenNoWait(t, src, fake)
			if tt.wantErr != nil {
				checkFileErr(t, err, path, tt.wantErr)
				for _, s := range tt.errSubstr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				for _, s := range []string{"secret", "other", "s\x00e"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q holds the content", err)
					}
				}
				if errors.Is(tt.wantErr, tokensource.ErrMalformed) && errors.Is(err, tokensource.ErrEmpty) {
					t.Errorf("error %v is also ErrEmpty", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if tok.Value != tt.want || !tok.Expiry.Equal(tt.wantExp) {
				t.Fatalf("Token() = %q, %v; want %q, %v", tok.Value, tok.Expiry, tt.want, tt.wantExp)
			}
		})
	}
}

// TestFileMalformedNotRetried: a malformed file is refused at once, not
// re-read for RetryFor as a missing or empty one is.
func TestFileMalformedNotRetried(t *testing.T) {
	path := tempPath(t, "token")
	writeFile(t, path, "first\nsecond\n")
	fake := clock.NewFake(t0)
	_, err := tokenNoWait(t, fileOn(fake, path), fake)
	checkFileErr(t, err, path, tokensource.ErrMalformed)
}
