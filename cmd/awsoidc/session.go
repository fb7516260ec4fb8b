package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/internal/tokenid"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// session is what a credential command works with: the provider built from
// the flags, and the store of credentials shared with the other commands
// and processes.
type session struct {
	cfg   *credConfig
	prov  *provider.Provider
	store *cache.FileStore // nil with --no-cache
	key   string           // the provider's CacheKey
	// sourceID is the identity of the first token of a file or fetched
	// source (the provider's SourceID), "" for the other sources.
	sourceID string
	close    func() // releases what the session opened (a terminal)
}

// newSession builds the provider and the stores from cfg. It makes no
// network call; a bad value becomes a flagError naming its flag. With
// --token-file it reads the token, within ctx: its identity keys the stored
// credentials (see tokenid.Of), and the provider's first STS call sends
// that very token.
//
// The provider's token source is pinned to one identity (tokenid.Pin): a
// token of another identity read later (the next CI job's token in the same
// file, a login as someone else while serve runs) is refused, so credentials
// stored under one identity are never obtained with another one's token.
func (a *app) newSession(ctx context.Context, cfg *credConfig) (*session, error) {
	s := &session{cfg: cfg, close: func() {}}
	src, err := a.tokenSource(ctx, cfg, s)
	if err != nil {
		s.close()
		if cfg.kind == sourceFetch {
			return nil, &noTokenError{err: err} // --token-source auto found no source
		}
		return nil, err
	}
	opts := cfg.opts
	var pinned *tokenid.Pinned
	if cfg.kind == sourceFile || cfg.kind == sourceFetch {
		tok, err := src.Token(ctx)
		if err != nil {
			s.close()
			return nil, &noTokenError{err: fmt.Errorf("web identity token of %s: %w", cfg.tokenOrigin(), err)}
		}
		a.secrets.add(tok.Value)
		opts.SourceID = tokenid.Of(tok.Value) + endpointScope(cfg.endpoint)
		s.sourceID = opts.SourceID
		pinned = tokenid.PinTo(src, tok)
	} else {
		pinned = tokenid.Pin(src)
	}
	client := newSTSClient(cfg, nil)
	p, err := provider.New(client, cfg.roleARN, pinned, func(o *provider.Options) {
		*o = opts
		// The command reports the outcome itself, once: the provider's
		// records (a Warn repeating the final error) only with --verbose.
		o.Logger = a.debugLog()
	})
	if err != nil {
		s.close()
		return nil, flagErrors(err, cfg.origin)
	}
	s.prov = p
	s.key = p.CacheKey()
	if !cfg.noCache {
		st, err := cache.NewFileStore(credentialsDir(cfg.cacheDir))
		if err != nil {
			s.close()
			return nil, fmt.Errorf("credentials store in --cache-dir %s (fix it, choose another --cache-dir, or use --no-cache): %w", cfg.cacheDir, err)
		}
		s.store = st
	}
	return s, nil
}

// noTokenError is a session that could not be built because its source
// gave no token: a one-shot command may then print stored credentials
// (see storedFallback).
type noTokenError struct{ err error }

func (e *noTokenError) Error() string { return e.err.Error() }
func (e *noTokenError) Unwrap() error { return e.err }

// tokenSource builds the token source cfg names. With --token-source auto
// it detects the source, within ctx.
func (a *app) tokenSource(ctx context.Context, cfg *credConfig, s *session) (tokensource.Source, error) {
	switch cfg.kind {
	case sourceFetch:
		src, picked, err := a.fetchedSource(ctx, cfg)
		if err != nil {
			return nil, err
		}
		a.log.Debug("token source", "source", picked)
		return remembered{src: src, secrets: a.secrets}, nil
	case sourceEnv:
		a.secrets.add(cfg.tokenValue)
		return tokensource.Static(cfg.tokenValue), nil
	case sourceDevice:
		// The prompt goes to the terminal: the AWS CLI captures the stderr
		// of a credential_process and shows it only after the process ends.
		// Without a terminal nobody can act on a prompt, so the command
		// fails at once with the login to run.
		var prompt io.Writer = a.stderr
		interactive := false
		if cfg.prompt {
			if tty := openTTY(); tty != nil {
				prompt, interactive = tty, true
				s.close = func() { _ = tty.Close() }
			}
		}
		src, err := a.deviceSource(cfg.device, cfg.cacheDir, interactive, prompt)
		if err != nil {
			return nil, err
		}
		// The hint names --cache-dir only when the command was given one:
		// the default applies to login too.
		hintDir := ""
		if cfg.cacheDirGiven {
			hintDir = cfg.cacheDir
		}
		return withLoginHint(src, `run "`+cfg.device.loginCommand(hintDir)+`"`), nil
	default:
		return tokensource.File(cfg.tokenPath), nil
	}
}

// deviceSource returns the device-flow source of d, with its tokens stored
// under cacheDir. interactive lets Token start a login, prompting on w.
func (a *app) deviceSource(d deviceFlags, cacheDir string, interactive bool, w io.Writer) (*deviceflow.Source, error) {
	store, err := deviceflow.NewFileStore(tokensDir(cacheDir))
	if err != nil {
		return nil, fmt.Errorf("token store in --cache-dir %s: %w", cacheDir, err)
	}
	src, err := deviceflow.New(d.issuer, d.clientID, d.options, func(o *deviceflow.Options) {
		o.Interactive = interactive
		o.Store = store
		o.Prompt = &prompter{w: w, openBrowser: d.openBrowser, log: a.log}
		o.Logger = a.log
	})
	if err != nil {
		var ve *deviceflow.ValidationError
		if errors.As(err, &ve) {
			flag := map[string]string{"issuer": "--issuer", "clientID": "--client-id", "Scopes": "--scope"}[ve.Field]
			if flag != "" {
				return nil, &flagError{Flag: flag, Value: ve.Value, Rule: ve.Rule}
			}
		}
		return nil, err
	}
	return src, nil
}

// withLoginHint returns src, whose login-required errors end with hint:
// the login to run.
func withLoginHint(src tokensource.Source, hint string) tokensource.Source {
	return tokensource.Func(func(ctx context.Context) (tokensource.Token, error) {
		tok, err := src.Token(ctx)
		if errors.Is(err, deviceflow.ErrLoginRequired) {
			err = fmt.Errorf("%w; %s", err, hint)
		}
		return tok, err
	})
}

// openTTY opens the controlling terminal for writing, or returns nil. The
// AWS CLI captures the stderr of a credential_process, so a login prompt
// goes to the terminal itself when there is one.
func openTTY() *os.File {
	name := "/dev/tty"
	if runtime.GOOS == "windows" {
		name = "CONOUT$"
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return f
}
