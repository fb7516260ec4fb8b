package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) loginCommand() *cobra.Command {
	var d deviceFlags
	var cacheDir string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in with the OAuth 2.0 device flow, once",
		Long: `login signs you in with the OAuth 2.0 device flow (RFC 8628): it shows a URL and
a code (and a QR code on a terminal), waits for your approval in a browser and
stores the tokens, the refresh token included, in the cache directory. The other
commands with the same --issuer, --client-id, --scope and --use-access-token then
renew them silently. login also removes the AWS credentials of earlier logins.`,
		Example: `  awsoidc login --issuer https://idp.example.com --client-id awscli

  # An identity provider that issues JWT access tokens for an API:
  awsoidc login --issuer https://tenant.auth0.example --client-id awscli --use-access-token`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := newResolver(cmd.Flags(), a.getenv)
			checkDevice(r, &d)
			dir := resolveCacheDir(r, cacheDir)
			if err := r.err(); err != nil {
				return err
			}
			src, err := a.deviceSource(d, dir, true, a.stderr)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := src.Login(ctx); err != nil {
				return err
			}
			tok, err := src.Token(ctx)
			if err != nil {
				return err
			}
			a.secrets.add(tok.Value)
			// Stored credentials are keyed by issuer and client, not by
			// who logged in: drop those of the previous login.
			creds, temps, err := removeStoreFiles(ctx, credentialsDir(dir))
			if err != nil {
				return fmt.Errorf("login: removing the credentials of the previous login (run \"awsoidc logout\" before using them): %w", err)
			}
			msg := "awsoidc: logged in to %s as client %s; tokens stored in %s"
			args := []any{d.issuer, d.clientID, tokensDir(dir)}
			if !tok.Expiry.IsZero() {
				msg += "; the token is valid until %s and is renewed silently"
				args = append(args, tok.Expiry.Local().Format(time.RFC1123))
			}
			if creds > 0 {
				msg += "; removed %d stored credential set(s) of earlier logins"
				args = append(args, creds)
			}
			if temps > 0 {
				msg += "; removed %d leftover temporary file(s) of interrupted writes"
				args = append(args, temps)
			}
			a.info(msg, args...)
			return nil
		},
	}
	d.register(cmd.Flags())
	d.registerBrowser(cmd.Flags())
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "directory of stored credentials and tokens (default: the user cache directory + /awsoidc)")
	return cmd
}
