// Command quickstart shows the whole awsoidc flow on one machine, with no AWS
// account: it starts ststest (an in-process STS and OpenID Connect identity
// provider), writes a signed web identity token to a file as the kubelet
// would, trades it for credentials through STS AssumeRoleWithWebIdentity,
// hands them to aws-sdk-go-v2 with config.LoadDefaultConfig, and signs a
// GetCallerIdentity call with them that ststest verifies.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	step := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }

	// 1. A local STS and identity provider.
	srv := ststest.NewServer()
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{
		Name:    "quickstart",
		Subject: "system:serviceaccount:default:quickstart",
	})
	step("started ststest: STS at %s, OIDC issuer %s", srv.URL(), srv.Issuer())
	step("role %s trusts sub=system:serviceaccount:default:quickstart", roleARN)

	// 2. A projected service account token, as the kubelet writes it.
	dir, err := os.MkdirTemp("", "awsoidc-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	token := srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:default:quickstart"})
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		return err
	}
	step("wrote a signed web identity token to %s (%d bytes, not shown)", tokenFile, len(token))

	// 3. token source → provider → cache.
	p, err := provider.New(srv.STSClient(), roleARN, tokensource.File(tokenFile),
		func(o *provider.Options) { o.SourceID = tokenFile })
	if err != nil {
		return err
	}
	creds := cache.New(p)

	// 4. The SDK's own configuration, with our credentials. A shared config
	// file and profile of its own keep the developer's ~/.aws files and
	// AWS_PROFILE out of the demo.
	configFile := filepath.Join(dir, "config")
	if err := os.WriteFile(configFile, []byte("[profile quickstart]\n"), 0o600); err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(ststest.DefaultRegion),
		config.WithSharedConfigFiles([]string{configFile}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithSharedConfigProfile("quickstart"),
		config.WithCredentialsProvider(creds),
	)
	if err != nil {
		return err
	}
	got, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	step("AssumeRoleWithWebIdentity gave access key %s, secret key and session token [REDACTED]",
		maskKeyID(got.AccessKeyID))
	if md, ok := p.LastMetadata(); ok {
		step("assumed role %s (subject %s, audience %s), valid until %s",
			md.AssumedRoleARN, md.SubjectFromWebIdentityToken, md.Audience, md.Expires.UTC().Format(time.RFC3339))
	}
	step("the SDK asks again at %s; awsoidc refreshes in the background before then, so no call waits on STS",
		got.Expires.UTC().Format(time.RFC3339))

	// 5. A signed call with those credentials, verified by ststest.
	client := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL()) })
	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	step("GetCallerIdentity (SigV4 verified by ststest): %s", aws.ToString(id.Arn))
	step("STS calls: AssumeRoleWithWebIdentity=%d GetCallerIdentity=%d",
		srv.Calls("AssumeRoleWithWebIdentity"), srv.Calls("GetCallerIdentity"))
	fmt.Fprintln(out, "OK")
	return nil
}

// maskKeyID shows the first four and last four characters of an access key
// ID: enough to match it in CloudTrail, too little to be a secret.
func maskKeyID(id string) string {
	if len(id) < 12 {
		return "[REDACTED]"
	}
	return id[:4] + "…" + id[len(id)-4:]
}
