package tokensource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// Limits of [Exec].
const (
	defaultExecTimeout = 30 * time.Second
	maxExecStdout      = 64 << 10 // like a token file
	maxExecStderr      = 64 << 10 // the end of stderr that is kept and scrubbed
	maxExecQuote       = 1 << 10  // the end of the scrubbed stderr that an error quotes
	execWaitDelay      = time.Second
)

// ExecOptions configures [Exec].
type ExecOptions struct {
	// Timeout bounds one run of the command, within the caller's ctx. When
	// it passes, the command and every process it started in its process
	// group are killed. Zero means 30 seconds, half of the minute that
	// aws-sdk-go-v2 gives a credential_process.
	Timeout time.Duration
}

// Exec returns a [Source] that runs a command and reads the token it prints,
// as the web_identity_token_process of other tools does. Use it for any
// workload whose token comes from a command: Buildkite (buildkite-agent oidc
// request-token --audience sts.amazonaws.com), CircleCI with a custom
// audience (circleci run oidc get --claims '{"aud":"sts.amazonaws.com"}'),
// Kubernetes outside a pod (kubectl create token SA --audience
// sts.amazonaws.com), Vault (vault read -field=token
// identity/oidc/token/ROLE).
//
// argv[0] is the program, found through PATH, and argv[1:] its arguments,
// passed as they are: there is no shell, so nothing is expanded or split.
// The command inherits the environment and the working directory. Every
// Token call runs it again, so each call gets a fresh token.
//
// The command prints the token on stdout, either alone (surrounding
// whitespace is removed; the expiry is the JWT "exp" claim, zero when the
// token is not a JWT) or as one JSON object:
//
//	{"token": "eyJ...", "expiration": "2026-12-04T13:00:00Z"}
//
// where "expiration", optional, is an RFC 3339 time; when the token is a JWT
// too, the earlier of the two is its expiry. Other fields are ignored.
// Stdout is limited to 64 KiB.
//
// A run that fails (a non-zero exit, a timeout, an output over the limit or
// without a token) returns an [*Error] with Source "exec" and Name the
// program, never its arguments (which may hold secrets). A non-zero exit's
// error quotes the end of stderr, with the token the command printed and
// anything that looks like a JWT replaced by [redact.Placeholder]. When ctx
// ends or [ExecOptions].Timeout passes, the command's whole process group is
// killed (on Unix; elsewhere the command itself).
//
// Exec is safe for concurrent use: concurrent calls run the command
// concurrently.
func Exec(argv []string, optFns ...func(*ExecOptions)) Source {
	var o ExecOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultExecTimeout
	}
	return &execSource{argv: append([]string(nil), argv...), opts: o}
}

type execSource struct {
	argv []string    // copied by Exec; read-only
	opts ExecOptions // normalized by Exec; read-only
}

// name is the program, the Name of the errors: the arguments may hold a
// secret (a Vault token, a password).
func (s *execSource) name() string {
	if len(s.argv) == 0 {
		return ""
	}
	return s.argv[0]
}

func (s *execSource) fail(err error) error { return &Error{Source: "exec", Name: s.name(), Err: err} }

// errNoCommand is the error of Exec(nil).
var errNoCommand = errors.New("no command given")

// errTooMuchOutput is the cause of a run killed for printing more than
// maxExecStdout bytes.
var errTooMuchOutput = fmt.Errorf("%w: the command printed more than %d bytes on stdout", ErrMalformed, maxExecStdout)

// Token runs the command once and returns the token it printed.
func (s *execSource) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, s.fail(err)
	}
	if len(s.argv) == 0 || s.argv[0] == "" {
		return Token{}, s.fail(errNoCommand)
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, s.opts.Timeout, errExecTimeout{s.opts.Timeout})
	defer cancel()
	killCtx, kill := context.WithCancelCause(runCtx)
	defer kill(nil)

	cmd := exec.CommandContext(killCtx, s.argv[0], s.argv[1:]...) //nolint:gosec // G204: running the caller's command is the point
	stdout := &capped{max: maxExecStdout, overflow: func() { kill(errTooMuchOutput) }}
	stderr := &capped{max: maxExecStderr, tail: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = execWaitDelay
	setProcessGroup(cmd)
	err := cmd.Run()
	killGroup(cmd) // what the command left running in its group
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The command exited 0, but a process it left in the background
		// held its stdout open past execWaitDelay: what it printed before
		// exiting is its answer, and killGroup ended the rest.
		err = nil
	}
	out := stdout.String()
	if cerr := context.Cause(killCtx); cerr != nil {
		// Killed: for too much output, the timeout or the caller's ctx.
		return Token{}, s.fail(cerr)
	}
	if err != nil {
		return Token{}, s.fail(s.runError(err, out, stderr.String()))
	}
	tok, err := parseExecOutput(out)
	if err != nil {
		return Token{}, s.fail(err)
	}
	return tok, nil
}

// errExecTimeout is the cause of a run that outlived [ExecOptions].Timeout.
type errExecTimeout struct{ d time.Duration }

func (e errExecTimeout) Error() string { return "the command did not finish within " + e.d.String() }

// Is makes a timeout match context.DeadlineExceeded, as a ctx deadline does.
func (e errExecTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// runError describes a failed run (a non-zero exit, a program not found)
// with the end of its stderr, scrubbed of the tokens in stdout and stderr.
func (s *execSource) runError(err error, stdout, stderr string) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err // not started: exec.ErrNotFound, a permission error; they name argv[0] only
	}
	msg := strings.TrimSpace(redact.Scrub(stderr, execSecrets(stdout, stderr)...))
	if len(msg) > maxExecQuote {
		// Cut after scrubbing, so that no token is cut in two halves that
		// the scrub would no longer recognise.
		msg = "..." + strings.ToValidUTF8(msg[len(msg)-maxExecQuote:], "")
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, msg)
	if msg == "" {
		return fmt.Errorf("the command failed (%s) with nothing on stderr", ee.ProcessState)
	}
	return fmt.Errorf("the command failed (%s): %s", ee.ProcessState, msg)
}

// jwtLike finds a JWS or JWE in compact form (a base64url JSON header, "eyJ"
// being `{"`, then a dot and the other parts), as internal/tokenid.Find does;
// that package imports this one, so the pattern is repeated here.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_.-]*`)

// execSecrets returns what must not appear in an error: the token printed on
// stdout (raw or as JSON), each word of 20 characters or more on stdout, every
// JWT in stdout and stderr, and each word of stderr that may be an opaque
// token (80 characters or more without a path separator, as
// internal/tokenid.Find).
func execSecrets(stdout, stderr string) []string {
	secrets := jwtLike.FindAllString(stdout+"\n"+stderr, -1)
	if v := strings.TrimSpace(stdout); v != "" {
		secrets = append(secrets, v)
		var j execJSON
		if json.Unmarshal([]byte(v), &j) == nil && j.Token != "" {
			secrets = append(secrets, j.Token)
		}
	}
	for _, w := range strings.Fields(stdout) {
		if len(w) >= 20 {
			secrets = append(secrets, w)
		}
	}
	for _, w := range strings.Fields(stderr) {
		if len(w) >= 80 && !strings.ContainsAny(w, "/\\") {
			secrets = append(secrets, w)
		}
	}
	return secrets
}

// execJSON is the JSON form of a command's output.
type execJSON struct {
	Token      string `json:"token"`
	Expiration string `json:"expiration"`
}

// parseExecOutput returns the token of a command's stdout, raw or JSON.
func parseExecOutput(out string) (Token, error) {
	v := strings.TrimSpace(out)
	if v == "" {
		return Token{}, fmt.Errorf("%w: the command printed nothing on stdout", ErrEmpty)
	}
	if !utf8.ValidString(v) {
		return Token{}, fmt.Errorf("%w: the command's output is not UTF-8 text", ErrMalformed)
	}
	if v[0] != '{' {
		if err := checkTokenChars(v); err != nil {
			return Token{}, err
		}
		return newToken(v), nil
	}
	var j execJSON
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		// The error of encoding/json quotes no input, only offsets and types.
		return Token{}, fmt.Errorf(`%w: the command's output starts with "{" but is not the JSON object {"token": "...", "expiration": "RFC 3339 time"}: %w`, ErrMalformed, err)
	}
	j.Token = strings.TrimSpace(j.Token)
	if j.Token == "" {
		return Token{}, fmt.Errorf(`%w: the command's JSON output has no "token"`, ErrEmpty)
	}
	if err := checkTokenChars(j.Token); err != nil {
		return Token{}, err
	}
	tok := newToken(j.Token)
	if j.Expiration != "" {
		exp, err := time.Parse(time.RFC3339, j.Expiration)
		if err != nil {
			return Token{}, fmt.Errorf(`%w: the "expiration" of the command's JSON output is not an RFC 3339 time such as 2026-12-04T13:00:00Z`, ErrMalformed)
		}
		if tok.Expiry.IsZero() || exp.Before(tok.Expiry) {
			tok.Expiry = exp.UTC()
		}
	}
	return tok, nil
}

// checkTokenChars refuses a token that holds whitespace or a control
// character: several lines of output, say. The error gives the byte offset,
// never the content.
func checkTokenChars(v string) error {
	for i, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %U at byte offset %d; the command must print one token, or one JSON object", ErrMalformed, r, i)
		}
	}
	return nil
}

// capped is an io.Writer that keeps at most max bytes: the first ones, or
// with tail the last ones. Past max, it calls overflow (once), if set.
type capped struct {
	max      int
	tail     bool
	overflow func()

	mu   sync.Mutex // guards buf and over: os/exec may write from its copying goroutine
	buf  bytes.Buffer
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.tail {
		c.buf.Write(p)
		if extra := c.buf.Len() - c.max; extra > 0 {
			c.buf.Next(extra)
			c.over = true
		}
		return n, nil
	}
	if room := c.max - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		if !c.over && c.overflow != nil {
			c.over = true
			c.overflow()
		}
		return n, nil
	}
	c.buf.Write(p)
	return n, nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tail && c.over {
		return "..." + strings.ToValidUTF8(c.buf.String(), "")
	}
	return c.buf.String()
}

func (s *execSource) describe() string { return "tokensource.Exec(" + strconv.Quote(s.name()) + ")" }

// String describes the source by its program, without its arguments.
func (s *execSource) String() string { return s.describe() }

// Format prints String in every verb, %#v included, so that no verb reaches
// the arguments, which may hold a secret.
func (s *execSource) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.describe())) }
