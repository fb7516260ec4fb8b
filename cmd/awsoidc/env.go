package main

import (
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

// credentialVars returns the environment variables the SDKs read
// credentials from. AWS_CREDENTIAL_EXPIRATION is the real expiry: the
// shell keeps the values until it ends, nothing asks again.
func credentialVars(creds aws.Credentials) []envVar {
	vars := []envVar{
		{"AWS_ACCESS_KEY_ID", creds.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey},
		{"AWS_SESSION_TOKEN", creds.SessionToken},
	}
	if creds.CanExpire {
		vars = append(vars, envVar{"AWS_CREDENTIAL_EXPIRATION", creds.Expires.UTC().Format(time.RFC3339)})
	}
	if creds.AccountID != "" {
		vars = append(vars, envVar{"AWS_ACCOUNT_ID", creds.AccountID})
	}
	return vars
}

func (a *app) envCommand() *cobra.Command {
	var f credFlags
	var format string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print credentials as shell export lines",
		Long: `env prints AWS credentials as environment variables for a shell to evaluate
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_CREDENTIAL_EXPIRATION and, when known, AWS_ACCOUNT_ID), quoted for --format
sh, fish or powershell, or as a JSON object with --format json. Credentials are
shared on disk with credential-process.`,
		Example: `  # bash, zsh
  eval "$(awsoidc env --role-arn arn:aws:iam::123456789012:role/dev --token-file ./token)"

  # fish
  awsoidc env --format fish --role-arn arn:aws:iam::123456789012:role/dev --token-file ./token | source

  # PowerShell
  awsoidc env --format powershell --role-arn arn:aws:iam::123456789012:role/dev --token-file ./token | Invoke-Expression`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			creds, _, err := a.oneShot(cmd, &f)
			if err != nil {
				return err
			}
			vars := credentialVars(creds)
			for _, v := range vars {
				if strings.ContainsRune(v.value, 0) {
					return errors.New("env: a credential value contains a NUL byte, which no environment variable can hold")
				}
			}
			return writeEnv(a.stdout, format, vars)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "sh", "output format: "+strings.Join(formats, ", "))
	return cmd
}
