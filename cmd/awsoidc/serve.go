package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/awsoidc/awsoidc/internal/securefile"
)

// The variables the SDKs read to use a container-credentials endpoint.
const (
	envContainerFullURI       = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envContainerAuthToken     = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	envContainerAuthTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	envServePID               = "AWSOIDC_SERVE_PID" // with --background: the server to stop
)

const (
	defaultServeAddr = "127.0.0.1:0"
	shutdownTimeout  = 10 * time.Second
	authTokenBytes   = 32
)

// serveFlags are the flags of serve besides the credential flags.
type serveFlags struct {
	addr, format  string
	tokenFile     string // --auth-token-file
	printToken    bool   // --print-token
	background    bool   // --background
	backgroundRun bool   // the server process that --background starts (hidden flag)
}

func (a *app) serveCommand() *cobra.Command {
	var f credFlags
	var sf serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve credentials to other processes from a loopback container-credentials endpoint",
		Long: `serve runs a container-credentials endpoint on 127.0.0.1, as ECS and EKS do, with
credentials refreshed in the background and their real expiry. It prints
AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE for
the AWS CLI and the SDKs; --background detaches it, as ssh-agent does, and adds
AWSOIDC_SERVE_PID. Unset AWS_ACCESS_KEY_ID and AWS_PROFILE where it is used.`,
		Example: `  # In a script or a shell: no race, no secret on stdout.
  eval "$(awsoidc serve --background --role-arn arn:aws:iam::123456789012:role/ci --token-file ./token)"
  aws sts get-caller-identity
  kill "$AWSOIDC_SERVE_PID"

  # In the foreground of one terminal; paste the export lines into another.
  awsoidc serve --role-arn arn:aws:iam::123456789012:role/dev --issuer https://idp.example.com --client-id awscli`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(sf.format); err != nil {
				return err
			}
			listenAddr, err := loopbackAddr(sf.addr)
			if err != nil {
				return err
			}
			cfg, err := f.resolve(cmd.Flags(), a.getenv)
			if err != nil {
				return err
			}
			if sf.background && !sf.backgroundRun {
				return a.startBackground(cmd.Context(), cfg)
			}
			sctx, cancel := context.WithTimeout(cmd.Context(), cfg.timeout)
			s, err := a.newSession(sctx, cfg)
			cancel()
			if err != nil {
				return err
			}
			defer s.close()
			return a.serve(cmd.Context(), s, listenAddr, sf)
		},
	}
	f.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&sf.addr, "addr", defaultServeAddr, "loopback address to listen on, HOST:PORT (port 0: a random free port)")
	fs.StringVar(&sf.format, "format", "sh", "format of the printed variables: "+strings.Join(formats, ", "))
	fs.StringVar(&sf.tokenFile, "auth-token-file", "", "write the authorization token to this file, mode 0600, removed when serve stops (default: a new file in the cache directory)")
	fs.BoolVar(&sf.printToken, "print-token", false, "also print AWS_CONTAINER_AUTHORIZATION_TOKEN itself, for SDKs older than AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (2023); keep the output private")
	fs.BoolVar(&sf.background, "background", false, "run the server detached and exit once it listens, printing its variables and AWSOIDC_SERVE_PID (for eval); the server keeps this stderr for its warnings: redirect it (2>/dev/null or a file) when a caller waits for stderr to close")
	fs.BoolVar(&sf.backgroundRun, "background-server", false, "")
	_ = fs.MarkHidden("background-server")
	return cmd
}

// serve runs the endpoint until ctx is done.
func (a *app) serve(ctx context.Context, s *session, addr string, sf serveFlags) error {
	// Credentials before announcing the endpoint, so that a bad
	// configuration (or a login to do) shows now, not in a client.
	c, real, err := a.endpointCache(ctx, s)
	if err != nil {
		return err
	}
	defer c.Close()
	c.Start(ctx)

	token, err := newAuthToken()
	if err != nil {
		return err
	}
	a.secrets.add(token) // never logged; printed only with --print-token
	tokenFile, err := a.writeAuthToken(s.cfg.cacheDir, sf.tokenFile, token)
	if err != nil {
		return err
	}
	defer func() {
		if err := securefile.Remove(tokenFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.warn("removing the authorization token file %s: %v", tokenFile, err)
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on --addr %s: %w", addr, err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		_ = ln.Close()
		return &flagError{Flag: "--addr", Value: addr, Rule: "resolved to " + ln.Addr().String() + ", which is not a loopback address"}
	}
	h := newCredentialsHandler(c, real, token, a.log, a.secrets, a.now)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	uri := "http://" + ln.Addr().String() + "/"
	vars := []envVar{{envContainerFullURI, uri}, {envContainerAuthTokenFile, tokenFile}}
	if sf.printToken {
		vars = append(vars, envVar{envContainerAuthToken, token})
	}
	if sf.backgroundRun {
		vars = append(vars, envVar{envServePID, strconv.Itoa(os.Getpid())})
	}
	err = writeEnv(a.stdout, sf.format, vars)
	if c, ok := a.stdout.(io.Closer); ok && sf.backgroundRun && err == nil {
		err = c.Close() // the end of the variables, for the process that waits for them
	}
	if err != nil {
		_ = srv.Close()
		if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			return errors.Join(err, serr)
		}
		return err
	}
	a.info("awsoidc: serving credentials for %s at %s; stop with Ctrl-C", s.cfg.roleARN, uri)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	a.info("awsoidc: stopped serving credentials")
	return nil
}

// writeAuthToken writes the authorization token to path, or to a new file
// in the cache directory, mode 0600 in a 0700 directory, and returns its
// absolute path. The SDKs read it again on every request
// (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), so the token never goes
// through a shell, an environment or a file the umask made readable.
func (a *app) writeAuthToken(cacheDir, path, token string) (string, error) {
	if path == "" {
		dir := filepath.Join(cacheDir, "serve")
		if err := securefile.EnsureDir(dir); err != nil {
			return "", fmt.Errorf("serve: authorization token file in --cache-dir %s: %w", cacheDir, err)
		}
		path = filepath.Join(dir, strconv.Itoa(os.Getpid())+".token")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", &flagError{Flag: "--auth-token-file", Value: path, Rule: err.Error()}
	}
	if err := securefile.WriteFile(abs, []byte(token)); err != nil {
		return "", fmt.Errorf("serve: --auth-token-file %s: %w", abs, err)
	}
	return abs, nil
}

// loopbackAddr checks --addr and returns the address to listen on:
// HOST:PORT where HOST is a loopback IP address or "localhost" (which
// becomes 127.0.0.1, whatever the resolver says).
func loopbackAddr(addr string) (string, error) {
	bad := func(rule string) error { return &flagError{Flag: "--addr", Value: addr, Rule: rule} }
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", bad("must be HOST:PORT, e.g. 127.0.0.1:0")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (port != "0" && n == 0) {
		return "", bad("the port must be a number from 0 (any free port) to 65535")
	}
	if !isLoopbackHost(host) {
		return "", bad("must be a loopback address (127.0.0.1, [::1] or localhost): the endpoint must not be reachable from other machines")
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP
// literal.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newAuthToken returns authTokenBytes random bytes, base64url-encoded.
func newAuthToken() (string, error) {
	b := make([]byte, authTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("serve: authorization token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// credentialsHandler answers the container-credentials requests of the
// SDKs' endpoint credential providers (aws-sdk-go-v2
// credentials/endpointcreds, botocore's ContainerProvider, the JS SDK's
// fromHttp): GET with the token in the Authorization header, answered with
// AccessKeyId, SecretAccessKey, Token, Expiration (the real expiry) and
// AccountId, or an error object {"Code", "Message"} as the ECS endpoint
// sends.
type credentialsHandler struct {
	creds     aws.CredentialsProvider
	real      *realExpiry
	tokenHash [sha256.Size]byte // the token's hash: compared in constant time, whatever the length
	log       *slog.Logger
	secrets   *scrubber
	now       func() time.Time

	mu   sync.Mutex      // guards last
	last aws.Credentials // the last credentials handed out, real expiry
}

func newCredentialsHandler(creds aws.CredentialsProvider, real *realExpiry, token string, log *slog.Logger, secrets *scrubber, now func() time.Time) *credentialsHandler {
	return &credentialsHandler{creds: creds, real: real, tokenHash: sha256.Sum256([]byte(token)), log: log, secrets: secrets, now: now}
}

// endpointResponse is the JSON of a successful answer.
type endpointResponse struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

func (h *credentialsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := h.serve(w, r)
	h.log.Debug("credentials request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "status", status)
}

func (h *credentialsHandler) serve(w http.ResponseWriter, r *http.Request) int {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != "/" {
		return writeEndpointError(w, http.StatusNotFound, "NotFound", "the credentials are at /")
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return writeEndpointError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return writeEndpointError(w, http.StatusUnauthorized, "Unauthorized", "missing Authorization header: set "+envContainerAuthTokenFile)
	}
	sum := sha256.Sum256([]byte(auth))
	if subtle.ConstantTimeCompare(sum[:], h.tokenHash[:]) != 1 {
		return writeEndpointError(w, http.StatusForbidden, "AccessDenied", "wrong authorization token: use the "+envContainerAuthTokenFile+" that awsoidc serve printed")
	}
	creds, err := h.retrieve(r.Context())
	if err != nil {
		return writeEndpointError(w, http.StatusServiceUnavailable, "CredentialsUnavailable", h.secrets.scrub(err.Error()))
	}
	resp := endpointResponse{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		Token:           creds.SessionToken,
		AccountID:       creds.AccountID,
	}
	if creds.CanExpire {
		resp.Expiration = creds.Expires.UTC().Format(time.RFC3339)
	}
	return writeJSON(w, http.StatusOK, resp)
}

// retrieve returns the cache's credentials with their real expiry. When the
// cache has none to give (an outage past the earlier expiry it sees), the
// last credentials handed out are served while they are really valid.
func (h *credentialsHandler) retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := h.creds.Retrieve(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		// Credentials about to expire would send the SDKs back at once, on
		// every call: serve the last ones only while a minute remains.
		if last := h.last; last.HasKeys() && last.Expires.Sub(h.now()) > time.Minute {
			h.log.Warn("no new credentials; serving the last ones until they expire", "expires", last.Expires, "err", err)
			return last, nil
		}
		h.log.Warn("no credentials to serve", "err", err)
		return aws.Credentials{}, err
	}
	creds = h.real.unshift(creds)
	h.last = creds
	return creds, nil
}

func writeEndpointError(w http.ResponseWriter, status int, code, msg string) int {
	return writeJSON(w, status, struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	}{code, msg})
}
func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return status
}
