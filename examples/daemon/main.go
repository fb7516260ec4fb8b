// Command daemon is a long-running service that keeps AWS credentials fresh
// for months: the cache refreshes them in the background before they expire
// (even while no AWS call comes), keeps serving valid credentials while STS
// or the identity provider is down, logs every refresh as JSON, and stops
// cleanly on SIGINT or SIGTERM.
//
//	go run ./examples/daemon -role-arn arn:aws:iam::123456789012:role/app -token-file /path/to/token
//
// Its work is a GetCallerIdentity call every -every (default 1 minute). The
// OnRefresh hook is where a real service feeds its metrics: refresh
// duration, outcome, error class and the next refresh time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	roleARN := fs.String("role-arn", os.Getenv("AWS_ROLE_ARN"), "ARN of the role to assume")
	tokenFile := fs.String("token-file", os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), "file holding the web identity token, re-read at each refresh")
	every := fs.Duration("every", time.Minute, "how often to do the work (an AWS call)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *every <= 0 {
		return fmt.Errorf("invalid -every %v: must be positive", *every)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))

	// STS client: anonymous (AssumeRoleWithWebIdentity is unsigned), from the
	// shared configuration and environment (region, AWS_ENDPOINT_URL_STS).
	base, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	p, err := provider.New(provider.NewSTSClient(base), *roleARN, tokensource.File(*tokenFile),
		func(o *provider.Options) {
			o.SourceID = *tokenFile
			o.Logger = logger
		})
	if err != nil {
		return err
	}

	creds := cache.New(p, func(o *cache.Options) {
		o.Logger = logger
		o.OnRefresh = func(ev cache.RefreshEvent) {
			// Feed your metrics here. The event holds no secret.
			logger.Info("credentials refresh",
				"outcome", ev.Outcome.String(),
				"duration", ev.Duration,
				"error_class", ev.ErrorClass,
				"serving_stale", ev.Stale,
				"expires", ev.Expires,
				"next_refresh", ev.NextRefresh)
		}
	})
	// Background mode: refresh ahead of expiry even when no call comes. Close
	// stops it and waits for any refresh in flight.
	creds.Start(ctx)
	defer creds.Close()

	cfg, err := config.LoadDefaultConfig(ctx, config.WithCredentialsProvider(creds))
	if err != nil {
		return err
	}
	client := sts.NewFromConfig(cfg)

	ticker := time.NewTicker(*every)
	defer ticker.Stop()
	for {
		id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		switch {
		case errors.Is(err, context.Canceled):
			logger.Info("shutting down")
			return nil
		case err != nil:
			// A daemon keeps going: the cache keeps serving valid
			// credentials and retries STS on its own schedule.
			logger.Error("work failed", "err", err)
		default:
			fmt.Fprintf(stdout, "%s identity %s\n", time.Now().UTC().Format(time.RFC3339), aws.ToString(id.Arn))
		}
		select {
		case <-ctx.Done():
			logger.Info("shutting down")
			return nil
		case <-ticker.C:
		}
	}
}
