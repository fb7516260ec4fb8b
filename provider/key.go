package provider

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"time"
)

// cacheKeyVersion changes whenever the key's layout does, so that stores
// never mix keys of two layouts.
const cacheKeyVersion = "awsoidc/provider/cachekey/v1"

// CacheKey returns a stable key for credentials of this provider, for a
// persistent store shared by processes: the hex SHA-256 of the role ARN, the
// configured session name, the policy, the policy ARNs, the duration, the
// provider ID, the minimum session token size and Options.SourceID. Two
// providers get the same key exactly when they ask STS for the same session
// with tokens from the same source: set SourceID whenever providers with
// different token sources may share a store.
//
// Each field is length-prefixed, so no two different sets of fields hash the
// same bytes. The key holds nothing secret and reveals none of its fields.
func (p *Provider) CacheKey() string {
	h := sha256.New()
	field := func(s string) {
		writeLen(h, len(s))
		h.Write([]byte(s))
	}
	field(cacheKeyVersion)
	field(p.roleARN)
	field(p.opts.RoleSessionName)
	field(p.opts.Policy)
	writeLen(h, len(p.opts.PolicyARNs))
	for _, a := range p.opts.PolicyARNs {
		field(a)
	}
	field(strconv.FormatInt(int64(p.opts.Duration/time.Second), 10))
	field(p.opts.ProviderID)
	field(strconv.FormatInt(int64(p.opts.MinimumSessionTokenSize), 10))
	field(p.opts.SourceID)
	return hex.EncodeToString(h.Sum(nil))
}

func writeLen(h hash.Hash, n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(max(n, 0))) //nolint:gosec // G115: a length, never negative (and clamped)
	h.Write(b[:])
}
