package main

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

// processOutput is the JSON a credential_process prints, as the AWS CLI and
// the SDKs read it (aws-sdk-go-v2 credentials/processcreds).
type processOutput struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// newProcessOutput renders creds with the Expiration the one-shot policy
// chose.
func newProcessOutput(creds aws.Credentials, expiration time.Time) processOutput {
	return processOutput{
		Version:         1,
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		SessionToken:    creds.SessionToken,
		Expiration:      expiration.UTC().Format(time.RFC3339),
		AccountID:       creds.AccountID,
	}
}

func (a *app) credentialProcessCommand() *cobra.Command {
	var f credFlags
	cmd := &cobra.Command{
		Use:   "credential-process",
		Short: "Print credentials as the JSON of the AWS CLI's and SDKs' credential_process",
		Long: `credential-process prints AWS credentials on stdout as the JSON of a
credential_process (Version 1), errors on stderr. Credentials are shared on disk
with the other commands and processes, kept for the role, the session flags and
the token's identity. With --issuer it never prompts unless --allow-prompt is
given: run "awsoidc login" first.`,
		Example: `  # ~/.aws/config
  [profile ci]
  credential_process = awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/ci --token-file /var/run/secrets/eks.amazonaws.com/serviceaccount/token

  [profile dev]
  credential_process = awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/dev --issuer https://idp.example.com --client-id awscli

  # A GitHub Actions job (permissions: id-token: write), a Buildkite step:
  credential_process = awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/ci --token-source github-actions
  credential_process = awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/ci --token-exec 'buildkite-agent oidc request-token --audience sts.amazonaws.com'

  # Try it by hand:
  awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/ci --token-env CI_JOB_JWT_V2`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			creds, s, err := a.oneShot(cmd, &f)
			if err != nil {
				return err
			}
			out := newProcessOutput(creds, policyFor(s.cfg.opts.Duration).expiration(creds, a.now()))
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(append(b, '\n'))
			return err
		},
	}
	f.register(cmd.Flags())
	return cmd
}
