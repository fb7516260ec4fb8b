package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Exit statuses of exec besides the child's own, as a shell reports them.
const (
	exitCannotExecute = 126 // the command was found but could not be started
	exitNotFound      = 127 // the command was not found
	exitSignalBase    = 128 // the child died of signal N: 128+N
)

// childHiddenVars are the variables removed from the child's environment:
// every one of them would make an SDK prefer another source to exec's
// endpoint (static keys, a profile, web identity, another container
// endpoint), or describes credentials the child does not have.
var childHiddenVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SECURITY_TOKEN", // older spellings the SDKs still read
	"AWS_CREDENTIAL_EXPIRATION", "AWS_ACCOUNT_ID",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	envTokenFile, envRoleARN, envRoleSessionName,
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", // preferred to the full URI by every SDK
	envContainerFullURI, envContainerAuthToken, envContainerAuthTokenFile,
}

func (a *app) execCommand() *cobra.Command {
	var f credFlags
	var plainEnv bool
	cmd := &cobra.Command{
		Use:   "exec [flags] -- COMMAND [ARGS...]",
		Short: "Run a command with credentials that keep refreshing while it runs",
		Long: `exec runs COMMAND with a private container-credentials endpoint on 127.0.0.1
(random port and token, written nowhere) that refreshes as serve's does, and
without AWS_ACCESS_KEY_ID, AWS_PROFILE and the like in its environment. Signals
are forwarded; exec exits with its status. --env sets plain AWS_ACCESS_KEY_ID
variables instead, for tools without endpoint support: they are not refreshed.`,
		Example: `  awsoidc exec --role-arn arn:aws:iam::123456789012:role/ci --token-file ./token -- terraform apply
  awsoidc exec --env --role-arn arn:aws:iam::123456789012:role/dev --issuer https://idp.example.com --client-id awscli -- ./legacy-tool`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{fmt.Errorf("%s needs a command to run: %s [flags] -- COMMAND [ARGS...]", cmd.CommandPath(), cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := exec.LookPath(args[0])
			if err != nil {
				// As a shell reports it, before any credentials are got.
				code := exitNotFound
				if errors.Is(err, fs.ErrPermission) {
					code = exitCannotExecute
				}
				fmt.Fprintln(a.stderr, a.secrets.scrub("awsoidc: exec: "+err.Error()))
				return &exitStatus{code}
			}
			var code int
			if plainEnv {
				code, err = a.execWithEnv(cmd, &f, path, args)
			} else {
				code, err = a.execWithEndpoint(cmd, &f, path, args)
			}
			if err != nil {
				return err
			}
			if code != exitOK {
				return &exitStatus{code} // the child's, which run returns as it is
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false) // the first argument that is not a flag is the command
	f.register(fs)
	fs.BoolVar(&plainEnv, "env", false, "set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION, as env prints them, instead of an endpoint: they are not refreshed while the command runs")
	return cmd
}

// execWithEnv runs the command with the credentials in plain variables.
func (a *app) execWithEnv(cmd *cobra.Command, f *credFlags, path string, args []string) (int, error) {
	creds, _, err := a.oneShot(cmd, f)
	if err != nil {
		return 0, err
	}
	vars := credentialVars(creds)
	for _, v := range vars {
		if strings.ContainsRune(v.value, 0) {
			return 0, errors.New("exec: a credential value contains a NUL byte, which no environment variable can hold")
		}
	}
	return a.runChild(cmd.Context(), path, args, childEnv(os.Environ(), vars))
}

// execWithEndpoint runs the command with a private container-credentials
// endpoint: serve's session, cache with shifted expiry and handler, on a
// random loopback port with a new random token.
//
// The token goes into the child's environment as
// AWS_CONTAINER_AUTHORIZATION_TOKEN rather than a file: it is written
// nowhere, so nothing is left behind when awsoidc is killed, and the
// environment of a process is readable only by its user (as a 0600 file
// would be). Every SDK with container-credentials support reads it.
func (a *app) execWithEndpoint(cmd *cobra.Command, f *credFlags, path string, args []string) (int, error) {
	cfg, err := f.resolve(cmd.Flags(), a.getenv)
	if err != nil {
		return 0, err
	}
	sctx, cancel := context.WithTimeout(cmd.Context(), cfg.timeout)
	s, err := a.newSession(sctx, cfg)
	cancel()
	if err != nil {
		return 0, err
	}
	defer s.close()

	// Credentials before the command starts: a bad configuration (or a
	// login to do) is awsoidc's error, not one in the middle of the run.
	c, real, err := a.endpointCache(cmd.Context(), s)
	if err != nil {
		return 0, err
	}
	defer c.Close()

	// From here the endpoint lives as long as the child: SIGINT and SIGTERM,
	// which end the command's context, are the child's to act on.
	ctx, stop := context.WithCancel(context.WithoutCancel(cmd.Context()))
	defer stop()
	c.Start(ctx)
	token, err := newAuthToken()
	if err != nil {
		return 0, err
	}
	a.secrets.add(token)
	ln, err := net.Listen("tcp", defaultServeAddr)
	if err != nil {
		return 0, fmt.Errorf("exec: listen on %s: %w", defaultServeAddr, err)
	}
	srv := &http.Server{
		Handler:           newCredentialsHandler(c, real, token, a.log, a.secrets, a.now),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer func() {
		// The child is gone; a request still waiting for a refresh is cut.
		_ = srv.Close()
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.warn("exec: credentials endpoint: %v", err)
		}
	}()

	uri := "http://" + ln.Addr().String() + "/"
	a.log.Debug("exec: serving credentials", "role", s.cfg.roleARN, "uri", uri)
	env := childEnv(os.Environ(), []envVar{{envContainerFullURI, uri}, {envContainerAuthToken, token}})
	return a.runChild(cmd.Context(), path, args, env)
}

// childEnv returns environ without the variables of childHiddenVars, plus
// vars.
func childEnv(environ []string, vars []envVar) []string {
	out := make([]string, 0, len(environ)+len(vars))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !isHiddenVar(name) {
			out = append(out, kv)
		}
	}
	for _, v := range vars {
		out = append(out, v.name+"="+v.value)
	}
	return out
}

func isHiddenVar(name string) bool {
	for _, h := range childHiddenVars {
		if name == h || (runtime.GOOS == "windows" && strings.EqualFold(name, h)) {
			return true
		}
	}
	return false
}

// runChild starts the command, forwards SIGINT, SIGTERM and SIGHUP to it
// until it exits and returns its exit status: 128+N when signal N killed
// it. An error means the child did not start.
func (a *app) runChild(ctx context.Context, path string, args []string, env []string) (int, error) {
	child := exec.Command(path, args[1:]...) //nolint:gosec // G204: the command the user asked to run
	child.Args[0] = args[0]                  // argv[0] as given, as a shell passes it
	child.Env = env
	child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stdout, a.stderr

	// A signal the caller ignores (nohup's SIGHUP, the SIGINT of a
	// script's background job) is left ignored, so that the child inherits
	// that: catching it would hand the child the default action.
	var forward []os.Signal
	for _, sig := range forwardedSignals {
		if !signal.Ignored(sig) {
			forward = append(forward, sig)
		}
	}
	sigc := make(chan os.Signal, 8)
	if len(forward) > 0 {
		signal.Notify(sigc, forward...)
		defer signal.Stop(sigc)
	}
	// A signal from here on is the child's: it waits in sigc until the
	// child runs. One that came before ended ctx.
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := child.Start(); err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	a.log.Debug("exec: started", "command", args[0], "pid", child.Process.Pid)
	// A signal that came before the child existed did not reach it, even
	// from the terminal: pass it on now.
	for early := true; early; {
		select {
		case sig := <-sigc:
			a.log.Debug("exec: forwarding a signal that came before the start", "signal", sig)
			if err := child.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				a.warn("exec: forwarding %v: %v", sig, err)
			}
		default:
			early = false
		}
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	for {
		select {
		case sig := <-sigc:
			if fromTerminal(sig) {
				a.log.Debug("exec: signal from the terminal, which the child got too", "signal", sig)
				continue
			}
			a.log.Debug("exec: forwarding signal", "signal", sig)
			if err := child.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				a.warn("exec: forwarding %v: %v", sig, err)
			}
		case err := <-done:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				return 0, fmt.Errorf("exec: %w", err)
			}
			return childStatus(child.ProcessState), nil
		}
	}
}

// childStatus is the status a shell reports for ps: the exit code, or
// 128+N for a death by signal N.
func childStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return exitSignalBase + int(ws.Signal())
	}
	return ps.ExitCode()
}
