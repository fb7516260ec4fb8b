package tokensource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/clockutil"
)

// Defaults of [FileOptions].
const (
	defaultMaxFileSize  = 64 << 10
	defaultFileRetryFor = time.Second
)

// fileRetry is the schedule of the re-reads of a missing or empty file:
// 10 ms, 20 ms, 40 ms, ... up to 250 ms apart. It has no jitter: the
// contention is with the kubelet on one machine, not across a fleet.
var fileRetry = backoff.Policy{Min: 10 * time.Millisecond, Max: 250 * time.Millisecond}

// FileOptions configures [File].
type FileOptions struct {
	// RetryFor is how long a missing or empty file is re-read, with a short
	// backoff, before Token gives up. The kubelet replaces a projected token
	// by swapping a symlink, and a reader can catch the moment when the file
	// is briefly missing (aws/amazon-eks-pod-identity-webhook#34). The
	// caller's ctx can end the wait sooner. Zero means one second; a
	// negative value disables the retry.
	RetryFor time.Duration
}

// File returns a [Source] that reads a token file, such as the projected
// service account token of IRSA (AWS_WEB_IDENTITY_TOKEN_FILE).
//
// Every call reads the file again, through any symlink, because the kubelet
// rotates the token in place (it writes a new "..data" directory and renames
// a symlink over the old one). A leading UTF-8 byte order mark (written by
// Notepad and PowerShell) and surrounding whitespace are removed, and the
// expiry comes from the JWT "exp" claim (zero when the content is not a JWT).
//
// A missing or empty file is re-read for up to [FileOptions].RetryFor within
// ctx; other failures, such as an empty path, a permission error, a path
// that is not a regular file (a directory, a FIFO, even one swapped in
// between the check and the open, which never blocks), a file over 64 KiB
// (far above any real token: a Kubernetes service account token is about
// 1 KiB), a file in UTF-16 or a token holding a control
// character (a NUL, an inner newline, ...), the last three wrapping
// [ErrMalformed], are returned at once. Errors are [*Error] values that name the path and never the
// content; errors.Is(err, os.ErrNotExist) reports a missing file.
//
// File is safe for concurrent use.
func File(path string, optFns ...func(*FileOptions)) Source {
	var o FileOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.RetryFor == 0 {
		o.RetryFor = defaultFileRetryFor
	}
	return &fileSource{path: path, opts: o, maxSize: defaultMaxFileSize, clock: clockutil.Real(), stat: os.Stat}
}

type fileSource struct {
	path    string
	opts    FileOptions                            // normalized by File; read-only
	maxSize int64                                  // the largest file read; tests lower it
	clock   clock.Clock                            // times the retries; tests set it through internal/testhook
	stat    func(name string) (fs.FileInfo, error) // os.Stat; tests replace it to swap the path after the check
}

// Token reads the file, re-reading a missing or empty one as described in
// [File].
func (s *fileSource) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, s.fail(err)
	}
	if s.path == "" {
		// Not worth RetryFor: no kubelet swap ever makes "" appear.
		return Token{}, s.fail(errNoPath)
	}
	clk := s.clock
	deadline := clk.Now().Add(s.opts.RetryFor)
	for attempt := 0; ; attempt++ {
		v, err := s.read()
		if err == nil {
			return newToken(v), nil
		}
		if !retryable(err) || s.opts.RetryFor < 0 {
			return Token{}, s.fail(err)
		}
		left := deadline.Sub(clk.Now())
		if left <= 0 {
			return Token{}, s.fail(fmt.Errorf("%w (after retrying for %s)", err, s.opts.RetryFor))
		}
		if serr := clockutil.Sleep(ctx, clk, min(fileRetry.Ceiling(attempt), left)); serr != nil {
			return Token{}, s.fail(fmt.Errorf("%w while waiting for the token file: %w", serr, err))
		}
	}
}

// read reads the file once, through symlinks, with a size limit.
func (s *fileSource) read() (string, error) {
	// Refuse a FIFO, a device or a directory before opening it: opening a
	// FIFO blocks until a writer appears, beyond the reach of ctx, and
	// opening a device may act on it.
	fi, err := s.stat(s.path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", notRegular(fi)
	}
	// The path may have been swapped since: open without blocking on a
	// FIFO (openFlags), then check the file actually opened.
	f, err := os.OpenFile(s.path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", notRegular(fi)
	}
	b, err := io.ReadAll(io.LimitReader(f, s.maxSize+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > s.maxSize {
		return "", fmt.Errorf("%w: the file is larger than %d bytes", ErrMalformed, s.maxSize)
	}
	return fileToken(b)
}

func notRegular(fi fs.FileInfo) error {
	return fmt.Errorf("not a regular file (mode %s)", fi.Mode().Type())
}

// utf8BOM is the byte order mark that Windows editors (Notepad) and
// PowerShell (Set-Content -Encoding UTF8, Out-File in PowerShell 5) write
// at the start of a UTF-8 file.
const utf8BOM = "\uFEFF"

// fileToken returns the token that the content b of a token file holds,
// without a leading UTF-8 byte order mark and surrounding whitespace (a
// trailing newline above all). No token holds a control character (a NUL,
// an inner newline, ...) or a second byte order mark, and none is UTF-16
// text: such content is refused with an error wrapping [ErrMalformed] that
// gives the byte offset, never the content. Sent as is, STS would call the
// token malformed, which reads as the identity provider's fault.
func fileToken(b []byte) (string, error) {
	if len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		return "", fmt.Errorf("%w: the file is UTF-16 text (as Windows PowerShell 5's > and Out-File write it); write the token as ASCII or UTF-8", ErrMalformed)
	}
	s := string(b)
	start := 0
	if strings.HasPrefix(s, utf8BOM) {
		start = len(utf8BOM)
	}
	rest := s[start:]
	v := strings.TrimLeftFunc(rest, unicode.IsSpace)
	start += len(rest) - len(v) // the offset of v in b, for the error
	v = strings.TrimRightFunc(v, unicode.IsSpace)
	if v == "" {
		return "", ErrEmpty
	}
	for i, r := range v {
		if unicode.IsControl(r) || r == '\uFEFF' {
			return "", fmt.Errorf("%w: %U at byte offset %d; the file must hold one token on one line, without control characters", ErrMalformed, r, start+i)
		}
	}
	return v, nil
}

// errNoPath is the error of File(""), an unset variable's value, say.
var errNoPath = errors.New("no token file path given")

// retryable reports whether a read failure may be the kubelet's symlink swap
// in progress.
func retryable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrEmpty)
}

func (s *fileSource) fail(err error) error { return &Error{Source: "file", Name: s.path, Err: err} }

func (s *fileSource) describe() string { return "tokensource.File(" + strconv.Quote(s.path) + ")" }

// String describes the source by its path.
func (s *fileSource) String() string { return s.describe() }
