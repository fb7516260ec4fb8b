package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/awsoidc/awsoidc/internal/tokenid"
)

// Exit statuses of the command.
const (
	exitOK    = 0
	exitError = 1 // the command failed: bad flag values, STS or identity provider errors, ...
	exitUsage = 2 // the command line could not be parsed: unknown command or flag
)

// app is one run of the command: its streams, its environment and the state
// the global flags set. Nothing is global, so tests can run the command
// in-process as often as they like.
type app struct {
	args           []string // the command line, without the program name
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time

	quiet, verbose bool
	secrets        *scrubber    // values that must never reach stderr
	log            *slog.Logger // stderr, redacted; set by the root's PersistentPreRunE
	started        bool         // a subcommand's RunE was reached: errors are no longer usage errors
}

// run runs the command with args (without the program name) and returns the
// exit status: 0 on success, 1 when the command fails, 2 when the command
// line cannot be parsed. Errors go to stderr, one line each, redacted.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{
		args:    args,
		stdin:   stdin,
		stdout:  stdout,
		stderr:  stderr,
		now:     time.Now,
		secrets: &scrubber{},
	}
	// A token pasted where a name or a path belongs (--token-env "$TOKEN",
	// AWS_WEB_IDENTITY_TOKEN_FILE="$TOKEN") is a secret all the same: it
	// must never be printed back, in any message.
	for _, arg := range args {
		if name, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(name, "-") {
			arg = value
		}
		a.secrets.add(tokenid.Find(arg)...)
	}
	a.getenv = func(name string) string {
		v := getenv(name)
		a.secrets.add(tokenid.Find(v)...)
		return v
	}
	a.log = a.newLogger()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var status *exitStatus
	if errors.As(err, &status) {
		return status.code // reported already, or the exit status of exec's command
	}
	for _, line := range strings.Split(a.secrets.scrub(err.Error()), "\n") {
		if !strings.HasPrefix(line, "awsoidc: ") {
			line = "awsoidc: " + line
		}
		fmt.Fprintln(stderr, line)
	}
	var ue *usageError
	if !a.started || errors.As(err, &ue) {
		fmt.Fprintln(stderr, `Run "awsoidc --help" for usage.`)
		return exitUsage
	}
	return exitError
}

// exitStatus ends the run with code and prints nothing more: the exit
// status of the command exec ran, or a failure exec reported itself.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a command line that cobra parsed but that makes no sense,
// such as an unexpected argument.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func (a *app) rootCommand() *cobra.Command {
	var showVersion bool
	root := &cobra.Command{
		Use:   "awsoidc",
		Short: "AWS credentials from OpenID Connect tokens, for the AWS CLI, SDKs and shells",
		Long: `awsoidc trades an OpenID Connect token for AWS credentials (STS
AssumeRoleWithWebIdentity), keeps them in a cache on disk and hands them to the
AWS CLI, the SDKs and shells. The token comes from a file (--token-file), an
environment variable (--token-env) or a device-flow login (--issuer and
--client-id). Flags take precedence over the AWS_* variables the SDKs read.`,
		Example: `  # In ~/.aws/config:
  #   [profile ci]
  #   credential_process = awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/ci --token-file /var/run/secrets/token
  aws sts get-caller-identity --profile ci

  # Sign in once, then use the login from a shell.
  awsoidc login --issuer https://idp.example.com --client-id awscli
  eval "$(awsoidc env --role-arn arn:aws:iam::123456789012:role/dev --issuer https://idp.example.com --client-id awscli)"`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.quiet && a.verbose {
				return &usageError{errors.New("--quiet and --verbose cannot be used together")}
			}
			a.log = a.newLogger()
			a.started = true
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !showVersion {
				return cmd.Help()
			}
			a.printVersion()
			return nil
		},
	}
	root.Flags().BoolVar(&showVersion, "version", false, "print the version of awsoidc (with --verbose, also the modules built in)")
	pf := root.PersistentFlags()
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print nothing on stderr but errors")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log what happens on stderr (tokens and secrets are never logged)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		a.credentialProcessCommand(),
		a.envCommand(),
		a.serveCommand(),
		a.execCommand(),
		a.loginCommand(),
		a.logoutCommand(),
		a.doctorCommand(),
	)
	return root
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])}
	}
	return nil
}

// info prints a message for people on stderr, unless --quiet.
func (a *app) info(format string, args ...any) {
	if a.quiet {
		return
	}
	fmt.Fprintln(a.stderr, a.secrets.scrub(fmt.Sprintf(format, args...)))
}

// warn prints a warning for people on stderr, unless --quiet: one line,
// redacted, that says what happened and what the command did instead.
func (a *app) warn(format string, args ...any) {
	a.info("awsoidc: warning: "+format, args...)
}
