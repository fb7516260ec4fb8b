// Command irsa is a program in a Kubernetes pod that uses IAM roles for
// service accounts (IRSA). The EKS pod identity webhook sets AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE and projects the service account token into
// the pod; one option to config.LoadDefaultConfig does the rest, and the
// credentials are refreshed in the background as the kubelet rotates the
// token.
//
//	go run ./examples/irsa
//
// It prints the caller identity once a minute until it is interrupted
// (-once prints it once).
package main

import (
	"context"
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "irsa:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("irsa", flag.ContinueOnError)
	once := fs.Bool("once", false, "print the identity once and exit")
	every := fs.Duration("every", time.Minute, "how often to print the identity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *every <= 0 {
		return fmt.Errorf("-every must be positive, not %s", *every)
	}

	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithIRSA())
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
