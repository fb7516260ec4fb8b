package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/awsoidc/awsoidc/internal/securefile"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

func (a *app) logoutCommand() *cobra.Command {
	var d deviceFlags
	var cacheDir string
	var all bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget a device-flow login and every stored credential",
		Long: `logout deletes the tokens login stored for --issuer and --client-id, whatever
their --scope (every login's with --all), and every set of AWS credentials in the
cache directory. When the identity provider has a revocation endpoint (RFC 7009),
logout also revokes the refresh token there, best effort. Credentials already
handed out stay valid until they expire.`,
		Example: `  awsoidc logout --issuer https://idp.example.com --client-id awscli
  awsoidc logout --all`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := newResolver(cmd.Flags(), a.getenv)
			if all {
				if cmd.Flags().Changed("issuer") || cmd.Flags().Changed("client-id") {
					return errors.New("invalid --all: cannot be used with --issuer or --client-id")
				}
			} else {
				checkDevice(r, &d)
			}
			dir := resolveCacheDir(r, cacheDir)
			if err := r.err(); err != nil {
				return err
			}
			ctx := cmd.Context()
			var tokens, temps int
			if all {
				n, t, err := removeStoreFiles(ctx, tokensDir(dir))
				if err != nil {
					return fmt.Errorf("logout: %w", err)
				}
				tokens, temps = n, t
			} else {
				src, err := a.deviceSource(d, dir, false, a.stderr)
				if err != nil {
					return err
				}
				if err := src.Logout(ctx); err != nil {
					return fmt.Errorf("logout: %w", err)
				}
				// Logins of other --scope or --use-access-token have
				// keys of their own.
				store, err := deviceflow.NewFileStore(tokensDir(dir))
				if err != nil {
					return fmt.Errorf("logout: %w", err)
				}
				if _, err := store.DeleteLogins(ctx, d.issuer, d.clientID); err != nil {
					return fmt.Errorf("logout: %w", err)
				}
				// Leftovers of every login: none is a live writer's.
				t, err := removeLeftovers(tokensDir(dir))
				if err != nil {
					return fmt.Errorf("logout: %w", err)
				}
				temps = t
			}
			creds, t, err := removeStoreFiles(ctx, credentialsDir(dir))
			if err != nil {
				return fmt.Errorf("logout: %w", err)
			}
			temps += t
			var msg string
			if all {
				msg = fmt.Sprintf("awsoidc: removed %d stored login(s) and %d stored credential set(s) from %s", tokens, creds, dir)
			} else {
				msg = fmt.Sprintf("awsoidc: logged out of %s (client %s); removed %d stored credential set(s) from %s", d.issuer, d.clientID, creds, dir)
			}
			if temps > 0 {
				msg += fmt.Sprintf("; removed %d leftover temporary file(s) of interrupted writes", temps)
			}
			a.info("%s", msg)
			return nil
		},
	}
	d.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "forget every stored login, not only --issuer's")
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "directory of stored credentials and tokens (default: the user cache directory + /awsoidc)")
	return cmd
}

// removeStoreFiles removes the entries of a store directory (both stores
// keep one "<hash>.json" file per key), each under its file lock so that no
// process is writing it meanwhile, then the temporary files that killed
// writers left ([removeLeftovers]). A missing directory holds nothing. It
// returns how many entries and how many temporary files it removed.
func removeStoreFiles(ctx context.Context, dir string) (files, temps int, err error) {
	files, err = removeEntries(ctx, dir)
	temps, terr := removeLeftovers(dir)
	return files, temps, errors.Join(err, terr)
}

// removeLeftovers removes the temporary files that writers killed between
// their write and their rename left in a store directory, with the secret
// they were saving; never the file of a writer still running (see
// [securefile.RemoveStaleTemps]). A missing directory holds none.
func removeLeftovers(dir string) (int, error) {
	n, err := securefile.RemoveStaleTemps(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return n, err
}

// removeEntries removes the "<hash>.json" entries of a store directory,
// each under its file lock, and returns how many it removed.
func removeEntries(ctx context.Context, dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		unlock, err := securefile.Lock(ctx, path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = securefile.Remove(path)
		if uerr := unlock(); err == nil {
			err = uerr
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
