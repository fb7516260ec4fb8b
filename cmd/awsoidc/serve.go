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
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/awsoidc/awsoidc/cache"
)

// The variables the SDKs read to use a container-credentials endpoint.
const (
	envContainerFullURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envContainerAuthToken = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
)

const (
	defaultServeAddr = "127.0.0.1:0"
	shutdownTimeout  = 10 * time.Second
	authTokenBytes   = 32
)

func (a *app) serveCommand() *cobra.Command {
	var f credFlags
	var addr, format string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve credentials to other processes from a loopback container-credentials endpoint",
		Long: `serve runs an HTTP endpoint on the loopback interface that hands out AWS credentials
the way the ECS and EKS container-credentials endpoints do, so that every AWS SDK
and the AWS CLI in the processes you start can use one refreshing source of
credentials. It prints the two variables those processes need:

  AWS_CONTAINER_CREDENTIALS_FULL_URI   the endpoint, http://127.0.0.1:PORT/
  AWS_CONTAINER_AUTHORIZATION_TOKEN    a random token (32 bytes) every request must send

Requests without the token get 401, with a wrong one 403. The endpoint listens on
127.0.0.1 and a random port unless --addr names another loopback address; any
other address is refused. Credentials are refreshed in the background before they
expire, so no request waits on STS while credentials are valid. SIGINT or SIGTERM
stops the server gracefully.

The SDKs prefer AWS_ACCESS_KEY_ID and a profile's credentials to the endpoint:
unset those in the processes that should use it.`,
		Example: `  # Start it in one terminal ...
  awsoidc serve --role-arn arn:aws:iam::123456789012:role/dev --issuer https://idp.example.com --client-id awscli

  # ... paste the two export lines it prints into another, then:
  aws sts get-caller-identity

  # Or in a script:
  awsoidc serve --role-arn arn:aws:iam::123456789012:role/ci --token-file ./token > serve.env &
  . ./serve.env`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			listenAddr, err := loopbackAddr(addr)
			if err != nil {
				return err
			}
			cfg, err := f.resolve(cmd.Flags(), a.getenv)
			if err != nil {
				return err
			}
			s, err := a.newSession(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer s.close()
			return a.serve(cmd.Context(), s, listenAddr, format)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&addr, "addr", defaultServeAddr, "loopback address to listen on, HOST:PORT (port 0: a random free port)")
	cmd.Flags().StringVar(&format, "format", "sh", "format of the printed variables: "+strings.Join(formats, ", "))
	return cmd
}

// serve runs the endpoint until ctx is done.
func (a *app) serve(ctx context.Context, s *session, addr, format string) error {
	c := cache.New(s.prov, func(o *cache.Options) {
		o.Logger = a.log
		o.OnRefresh = func(ev cache.RefreshEvent) { a.log.Debug("credentials refresh", "event", ev) }
		if s.store != nil {
			o.Store = s.store
			o.StoreKey = s.key
		}
	})
	defer c.Close()

	// Get credentials before announcing the endpoint, so that a bad
	// configuration (or a login to do) shows now, not in a client.
	fctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	creds, err := c.Retrieve(fctx)
	cancel()
	if err != nil {
		return err
	}
	a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
	c.Start(ctx)

	token, err := newAuthToken()
	if err != nil {
		return err
	}
	a.secrets.add(token) // printed on stdout, never logged
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on --addr %s: %w", addr, err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		_ = ln.Close()
		return &flagError{Flag: "--addr", Value: addr, Rule: "resolved to " + ln.Addr().String() + ", which is not a loopback address"}
	}
	h := newCredentialsHandler(c, token, a.log, a.secrets)
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
	if err := writeEnv(a.stdout, format, []envVar{
		{envContainerFullURI, uri},
		{envContainerAuthToken, token},
	}); err != nil {
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
// credentials/endpointcreds): GET with the token in the Authorization
// header, answered with AccessKeyId, SecretAccessKey, Token, Expiration and
// AccountId, or an error object {"code", "message"}.
type credentialsHandler struct {
	creds     aws.CredentialsProvider
	tokenHash [sha256.Size]byte // the token's hash: compared in constant time, whatever the length
	log       *slog.Logger
	secrets   *scrubber
}

func newCredentialsHandler(creds aws.CredentialsProvider, token string, log *slog.Logger, secrets *scrubber) *credentialsHandler {
	return &credentialsHandler{creds: creds, tokenHash: sha256.Sum256([]byte(token)), log: log, secrets: secrets}
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
		return writeEndpointError(w, http.StatusUnauthorized, "Unauthorized", "missing Authorization header: set "+envContainerAuthToken)
	}
	sum := sha256.Sum256([]byte(auth))
	if subtle.ConstantTimeCompare(sum[:], h.tokenHash[:]) != 1 {
		return writeEndpointError(w, http.StatusForbidden, "AccessDenied", "wrong authorization token: use the "+envContainerAuthToken+" that awsoidc serve printed")
	}
	creds, err := h.creds.Retrieve(r.Context())
	if err != nil {
		h.log.Warn("no credentials to serve", "err", err)
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

func writeEndpointError(w http.ResponseWriter, status int, code, msg string) int {
	return writeJSON(w, status, struct {
		Code    string `json:"code"`
		Message string `json:"message"`
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
