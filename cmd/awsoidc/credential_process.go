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
		Long: `credential-process prints AWS credentials as the JSON that the AWS CLI and every
AWS SDK read from a credential_process (Version 1, AccessKeyId, SecretAccessKey,
SessionToken, Expiration), on stdout. Errors go to stderr, with exit status 1.

Credentials are kept in the cache directory, shared with the other commands and
processes: a later call is served from disk without calling STS, and processes
started at once make one STS call between them. They are kept for the role, the
session flags and the identity of the token (the iss, sub and aud claims of a
JWT, else the whole token), not for the --token-file path or the --token-env
name: another identity's token there is never served them, while a token
rotated in place (the kubelet's, every hour) keeps them.

Expiration is not the credentials' real expiry but the moment this command wants
to be asked again: 5 minutes before it (a tenth of the lifetime for shorter
sessions), so that an SDK without a refresh window of its own never signs with
credentials about to expire. Stored credentials are reused only while more than
21 minutes remain (half the lifetime for shorter sessions), so that the AWS CLI,
which asks again 15 minutes before Expiration, gets new ones when it does.

With --issuer, the command never prompts unless --allow-prompt is given: run
"awsoidc login" first.`,
		Example: `  # ~/.aws/config
  [profile ci]
  credential_process = awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/ci --token-file /var/run/secrets/eks.amazonaws.com/serviceaccount/token

  [profile dev]
  credential_process = awsoidc credential-process --role-arn arn:aws:iam::123456789012:role/dev --issuer https://idp.example.com --client-id awscli

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
