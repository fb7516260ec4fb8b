// Command devicelogin is what a command-line tool does to call AWS as the
// person at the terminal: it signs them in once with the OAuth 2.0 device
// flow of their OpenID Connect identity provider, trades the ID token for
// credentials of an IAM role through STS AssumeRoleWithWebIdentity, and uses
// them with aws-sdk-go-v2 through config.LoadDefaultConfig.
//
//	go run ./examples/devicelogin -issuer https://idp.example.com -client-id mycli \
//	    -role-arn arn:aws:iam::123456789012:role/developer
//
// The first run shows a URL and a code on stderr and waits for the approval
// in a browser. The tokens, the refresh token included, are stored in a 0600
// file under the user's cache directory, and so are the AWS credentials: the
// next runs need no login and, while the credentials are fresh, no STS call
// either.
//
// The flow, one stage per package:
//
//	deviceflow.Source ──► provider.Provider ──► cache.Cache ──► config.LoadDefaultConfig
//	 device login, silent    AssumeRoleWithWebIdentity   refresh-ahead,
//	 renewal with the        with typed errors           shared on disk
//	 refresh token
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// options are the program's settings.
type options struct {
	issuer, clientID string // the identity provider and this tool's OAuth 2.0 client
	roleARN          string // the role whose trust policy accepts the issuer's ID tokens
	region           string // "" = the shared configuration's, else us-east-1
	cacheDir         string // "" = os.UserCacheDir()/awsoidc-devicelogin
	stsEndpoint      string // "" = AWS's (AWS_ENDPOINT_URL_STS is honoured)

	// loadOptions are extra options of config.LoadDefaultConfig (tests use
	// them to keep the user's ~/.aws files out).
	loadOptions []func(*config.LoadOptions) error
}

func main() {
	var o options
	flag.StringVar(&o.issuer, "issuer", "", "OpenID Connect issuer URL")
	flag.StringVar(&o.clientID, "client-id", "", "OAuth 2.0 client ID of this tool at the issuer")
	flag.StringVar(&o.roleARN, "role-arn", "", "ARN of the IAM role to assume")
	flag.StringVar(&o.region, "region", "", "AWS region (default: the shared configuration's, else us-east-1)")
	flag.StringVar(&o.cacheDir, "cache-dir", "", "where tokens and credentials are stored (default: the user cache directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, o, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devicelogin:", err)
		os.Exit(1)
	}
}

// run signs in (or reuses the stored login), gets credentials for the role
// and prints who AWS says the caller is.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if o.issuer == "" || o.clientID == "" || o.roleARN == "" {
		return errors.New("-issuer, -client-id and -role-arn are required")
	}
	if o.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		o.cacheDir = filepath.Join(dir, "awsoidc-devicelogin")
	}

	// 1. The token source: a device login, stored and renewed silently.
	// Interactive lets it prompt, with Prompt, when no usable login is
	// stored.
	tokens, err := deviceflow.NewFileStore(filepath.Join(o.cacheDir, "tokens"))
	if err != nil {
		return err
	}
	src, err := deviceflow.New(o.issuer, o.clientID, func(do *deviceflow.Options) {
		do.Interactive = true
		do.Store = tokens
		do.Prompt = deviceflow.PromptFunc(func(_ context.Context, p deviceflow.Prompt) error {
			_, err := fmt.Fprintf(stderr, "To sign in, open %s and enter the code %s\n", p.VerificationURI, p.UserCode)
			return err
		})
	})
	if err != nil {
		return err
	}

	// 2. The provider: an anonymous STS client built from the shared
	// configuration, and the role.
	loadOpts := append([]func(*config.LoadOptions) error{}, o.loadOptions...)
	if o.region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.region))
	}
	base, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return err
	}
	client := provider.NewSTSClient(base, func(so *sts.Options) {
		if o.stsEndpoint != "" {
			so.BaseEndpoint = aws.String(o.stsEndpoint)
		}
	})
	p, err := provider.New(client, o.roleARN, src, func(po *provider.Options) {
		po.SourceID = deviceflow.StoreKey(o.issuer, o.clientID)
	})
	if err != nil {
		return err
	}

	// 3. The cache: refresh-ahead, and a store on disk so that the next
	// run starts with the credentials this one got.
	store, err := cache.NewFileStore(filepath.Join(o.cacheDir, "credentials"))
	if err != nil {
		return err
	}
	creds := cache.New(p, func(co *cache.Options) {
		co.Store = store
		co.StoreKey = p.CacheKey()
	})
	defer creds.Close()

	// 4. The SDK's configuration with these credentials, for every client.
	cfg, err := config.LoadDefaultConfig(ctx, append(loadOpts, config.WithCredentialsProvider(creds))...)
	if err != nil {
		return err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	var callerOpts []func(*sts.Options)
	if o.stsEndpoint != "" {
		callerOpts = append(callerOpts, func(so *sts.Options) { so.BaseEndpoint = aws.String(o.stsEndpoint) })
	}
	id, err := sts.NewFromConfig(cfg, callerOpts...).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "You are %s in account %s.\n", aws.ToString(id.Arn), aws.ToString(id.Account))
	return nil
}
