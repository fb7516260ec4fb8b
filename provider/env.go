package provider

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc/internal/partition"
	"github.com/awsoidc/awsoidc/tokensource"
)

// The IRSA environment variables, set in a pod by the EKS pod identity
// webhook and read by every AWS SDK.
const (
	envRoleARN         = "AWS_ROLE_ARN"
	envTokenFile       = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envRoleSessionName = "AWS_ROLE_SESSION_NAME"
)

// MissingEnvError reports the required environment variables that
// [FromEnvironment] found unset or empty, all of them at once.
type MissingEnvError struct {
	// Names are the missing variables, in a fixed order.
	Names []string
}

// Error lists the missing variables.
func (e *MissingEnvError) Error() string {
	return fmt.Sprintf("provider: environment variable%s %s not set (IRSA sets %s and %s in the pod; set them by hand elsewhere)",
		plural(len(e.Names), "", "s"), strings.Join(e.Names, ", "), envRoleARN, envTokenFile)
}

// FromEnvironment returns a Provider configured from the environment the
// way the SDK configures web identity (IRSA): the role from AWS_ROLE_ARN,
// tokens read again on every call from the file AWS_WEB_IDENTITY_TOKEN_FILE
// (with [tokensource.File]), and the session name from
// AWS_ROLE_SESSION_NAME when set. Options.SourceID is the token file's
// path, and [Provider.ProviderSources] reports web identity from
// environment variables, as the SDK does. optFns run after these, so they
// may override any of them, and once each, as in [New].
//
// A nil client means an anonymous client built now by [NewSTSClient] from
// the shared configuration and environment (config.LoadDefaultConfig),
// whose region, when none is configured, is the usual STS region of the
// role's partition: us-east-1, cn-north-1 for aws-cn, us-gov-west-1 for
// aws-us-gov.
//
// When AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE is unset or empty, the
// error is a [MissingEnvError] naming every missing variable.
func FromEnvironment(client STSClient, optFns ...func(*Options)) (*Provider, error) {
	roleARN := strings.TrimSpace(os.Getenv(envRoleARN))
	path := strings.TrimSpace(os.Getenv(envTokenFile))
	var missing []string
	if roleARN == "" {
		missing = append(missing, envRoleARN)
	}
	if path == "" {
		missing = append(missing, envTokenFile)
	}
	if len(missing) > 0 {
		return nil, &MissingEnvError{Names: missing}
	}
	if client == nil {
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithCredentialsProvider(aws.AnonymousCredentials{}))
		if err != nil {
			return nil, fmt.Errorf("provider: loading the configuration of the STS client: %w", err)
		}
		client = newSTSClient(cfg, partition.Region(roleARN))
	}
	sessionName := strings.TrimSpace(os.Getenv(envRoleSessionName))
	fns := make([]func(*Options), 0, len(optFns)+1)
	fns = append(fns, func(o *Options) {
		o.RoleSessionName = sessionName
		o.SourceID = path
	})
	fns = append(fns, optFns...)
	p, err := New(client, roleARN, tokensource.File(path), fns...)
	if err != nil {
		renameFields(err, map[string]string{
			"roleARN":                 "roleARN (" + envRoleARN + ")",
			"Options.RoleSessionName": "Options.RoleSessionName (" + envRoleSessionName + ")",
		}, sessionName != "")
		return nil, err
	}
	p.sources = []aws.CredentialSource{aws.CredentialSourceEnvVarsSTSWebIDToken, aws.CredentialSourceSTSAssumeRoleWebID}
	return p, nil
}

// renameFields points the ValidationErrors of err at the environment
// variables their values came from. The session name came from the
// environment only when AWS_ROLE_SESSION_NAME was set (optFns may still
// have overridden it; the message then names both).
func renameFields(err error, names map[string]string, sessionFromEnv bool) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		ve, ok := e.(*ValidationError)
		if !ok {
			continue
		}
		if ve.Field == "Options.RoleSessionName" && !sessionFromEnv {
			continue
		}
		if n, ok := names[ve.Field]; ok {
			ve.Field = n
		}
	}
}
