// Command sdkconfig is the drop-in case: one option to
// config.LoadDefaultConfig gives every AWS client of a program refreshing
// credentials for a role, from a web identity token in a file.
//
//	go run ./examples/sdkconfig -role-arn arn:aws:iam::123456789012:role/app -token-file /path/to/token
//
// It calls STS GetCallerIdentity with the credentials and prints who it is.
// Against real AWS the role must trust the token's issuer; the region comes
// from AWS_REGION or the shared configuration.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/tokensource"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sdkconfig:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sdkconfig", flag.ContinueOnError)
	roleARN := fs.String("role-arn", os.Getenv("AWS_ROLE_ARN"), "ARN of the role to assume")
	tokenFile := fs.String("token-file", os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), "file holding the web identity token")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg, err := config.LoadDefaultConfig(ctx,
		awsoidc.WithWebIdentity(*roleARN, tokensource.File(*tokenFile)))
	if err != nil {
		return err
	}

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "account %s, identity %s\n", aws.ToString(id.Account), aws.ToString(id.Arn))
	return nil
}
