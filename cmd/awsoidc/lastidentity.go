package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/internal/securefile"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

// A fetched source (--token-source github-actions, gcp, azure, spiffe, exec,
// auto) must give a token before its stored credentials can be found: they
// are keyed by the token's identity (tokenid.Of). So that a token endpoint
// that hangs or fails does not hold a one-shot command past staleBudget
// while valid stored credentials exist, each token fetched records, beside
// the store, the identity this source configuration produced. The next
// one-shot command looks up the credentials stored under that identity;
// when they have not expired, it fetches the token within staleBudget only,
// and when no token comes by then it prints them with a warning, as it does
// when STS fails.
//
// A token that does come is always used: its identity keys the credentials,
// so a source that now gives another identity is never served the recorded
// one's. The record is keyed by the whole configuration: the role and the
// options of the provider's cache key, the source, --audience, the
// --token-exec command and the variables that locate the token endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL differs per workflow run), so that the next
// job of a shared runner, another repository or another command finds no
// record and waits for its own token.

// identityRecordVersion is the format of an identity record.
const identityRecordVersion = 1

// endpointVars are the variables that locate a fetched source's endpoint;
// their values (never the request tokens) key the identity record.
var endpointVars = []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "GCE_METADATA_HOST", "IDENTITY_ENDPOINT", envSPIFFESocket}

// identityRecord is the identity a fetched source last produced.
type identityRecord struct {
	Version  int    `json:"version"`
	SourceID string `json:"source_id"` // the provider's SourceID: tokenid.Of plus the endpoint scope
}

// storedFallback is what a one-shot command with a fetched source can print
// when no token comes: the credentials stored under the identity the same
// configuration last produced.
type storedFallback struct {
	recPath  string          // the identity record; "" without a store
	sourceID string          // the recorded identity, "" for none
	creds    aws.Credentials // stored under sourceID; zero for none
}

// configID names a fetched source's configuration, without any token or
// request token.
func (a *app) configID(cfg *credConfig) string {
	h := sha256.New()
	field := func(s string) { _, _ = io.WriteString(h, s+"\x00") }
	field(cfg.fetch)
	field(cfg.audience)
	field(cfg.endpoint)
	for _, w := range cfg.execArgv {
		field(w)
	}
	field("\x01")
	for _, name := range endpointVars {
		field(a.getenv(name))
	}
	return "fetched-config sha256:" + hex.EncodeToString(h.Sum(nil))
}

// cacheKeyFor is the key of the credentials cfg obtains with a token of
// sourceID.
func cacheKeyFor(cfg *credConfig, sourceID string) (string, error) {
	opts := cfg.opts
	opts.SourceID = sourceID
	none := tokensource.Func(func(context.Context) (tokensource.Token, error) {
		return tokensource.Token{}, errors.New("no token: this provider only names a cache key")
	})
	p, err := provider.New(newSTSClient(cfg, nil), cfg.roleARN, none, func(o *provider.Options) { *o = opts })
	if err != nil {
		return "", err
	}
	return p.CacheKey(), nil
}

// loadFallback returns the stored credentials that cfg, a fetched source,
// may print when no token comes. Any problem (no store, no record, a
// corrupt one) is no fallback: the command then waits for its token as
// before.
func (a *app) loadFallback(ctx context.Context, cfg *credConfig) storedFallback {
	if cfg.kind != sourceFetch || cfg.noCache {
		return storedFallback{}
	}
	st, err := cache.NewFileStore(credentialsDir(cfg.cacheDir))
	if err != nil {
		return storedFallback{}
	}
	key, err := cacheKeyFor(cfg, a.configID(cfg))
	if err != nil {
		return storedFallback{}
	}
	fb := storedFallback{recPath: strings.TrimSuffix(st.Path(key), ".json") + ".identity.json"}
	fb.sourceID = loadIdentityRecord(fb.recPath)
	if fb.sourceID == "" {
		return fb
	}
	if key, err = cacheKeyFor(cfg, fb.sourceID); err != nil {
		return fb
	}
	creds, ok, err := st.Load(ctx, key)
	if err != nil || !ok || !creds.HasKeys() || !creds.CanExpire || !creds.Expires.After(a.now()) {
		return fb
	}
	a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
	fb.creds = creds
	return fb
}

// valid reports whether the fallback's credentials can be printed.
func (fb storedFallback) valid(a *app) bool {
	return fb.creds.HasKeys() && fb.creds.Expires.After(a.now())
}

// record notes sourceID, the identity the source just produced, when it is
// not the one recorded.
func (a *app) recordIdentity(fb storedFallback, sourceID string) {
	if fb.recPath == "" || sourceID == fb.sourceID {
		return
	}
	data, err := json.Marshal(identityRecord{Version: identityRecordVersion, SourceID: sourceID})
	if err == nil {
		err = securefile.WriteFile(fb.recPath, append(data, '\n'))
	}
	if err != nil {
		a.warn("cannot record the token's identity in the credentials store: %v", err)
	}
}

// loadIdentityRecord returns the identity recorded at path, or "" when
// there is none or it is unreadable, corrupt or of another version.
func loadIdentityRecord(path string) string {
	data, err := securefile.ReadFile(path, 4<<10)
	if err != nil {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r identityRecord
	if err := dec.Decode(&r); err != nil || r.Version != identityRecordVersion {
		return ""
	}
	if _, err := dec.Token(); err != io.EOF {
		return ""
	}
	if !strings.HasPrefix(r.SourceID, "jwt-identity sha256:") && !strings.HasPrefix(r.SourceID, "token sha256:") {
		return ""
	}
	return r.SourceID
}
