// Command chain is a program in a Kubernetes pod (IRSA) that works in
// another AWS account: it assumes the pod's role with its service account
// token, then a role in the other account with those credentials (a role
// chain of one hop). Both steps are refreshed in the background, each
// ahead of its own expiry.
//
//	go run ./examples/chain -role arn:aws:iam::444455556666:role/deploy -external-id partner-7
//
// The target role's trust policy must allow sts:AssumeRole for the pod's
// role (and require the external ID, if it uses one). A chained session
// lasts at most one hour (docs/chains.md). It prints the caller identity
// once a minute until it is interrupted (-once prints it once).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/provider"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chain:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chain", flag.ContinueOnError)
	role := fs.String("role", "", "ARN of the cross-account role to assume after the pod's role (required)")
	externalID := fs.String("external-id", "", "the sts:ExternalId the role's trust policy requires, if any")
	duration := fs.Duration("duration", 0, "session duration of the cross-account role: 0 (1h) or 15m to 1h")
	once := fs.Bool("once", false, "print the identity once and exit")
	every := fs.Duration("every", time.Minute, "how often to print the identity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *role == "" {
		return errors.New("-role is required")
	}
	if *every <= 0 {
		return fmt.Errorf("-every must be positive, not %s", *every)
	}

	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithIRSA(func(o *awsoidc.Options) {
		o.Chain = []provider.Hop{{
			RoleARN:         *role,
			RoleSessionName: "chain-example",
			ExternalID:      *externalID,
			Duration:        *duration,
		}}
	}))
	if err != nil {
		return err
	}
	client := sts.NewFromConfig(cfg)

	ticker := time.NewTicker(*every)
	defer ticker.Stop()
	for {
		id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s identity %s\n", time.Now().UTC().Format(time.RFC3339), aws.ToString(id.Arn))
		if *once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
