package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"time"
)

// hopKeyVersion changes whenever the layout of [AssumeRole.CacheKey] does.
const hopKeyVersion = "awsoidc/provider/hopkey/v1"

// CacheKey returns a stable key for the hop's credentials in a persistent
// store: the hex SHA-256 of every [Hop] field, each length-prefixed. It
// does not name the base credentials: a store key for the hop must add the
// base's own key (awsoidc does), so that a hop reached from another
// identity never shares an entry. It holds nothing secret and reveals none
// of its fields, the external ID included.
func (a *AssumeRole) CacheKey() string {
	h := sha256.New()
	field := func(s string) {
		writeLen(h, len(s))
		h.Write([]byte(s))
	}
	list := func(l []string) {
		writeLen(h, len(l))
		for _, s := range l {
			field(s)
		}
	}
	hop := a.hop
	field(hopKeyVersion)
	field(hop.RoleARN)
	field(hop.RoleSessionName)
	field(hop.ExternalID)
	field(strconv.FormatInt(int64(hop.Duration/time.Second), 10))
	field(hop.Policy)
	list(hop.PolicyARNs)
	keys := slices.Sorted(maps.Keys(hop.Tags))
	writeLen(h, len(keys))
	for _, k := range keys {
		field(k)
		field(hop.Tags[k])
	}
	list(hop.TransitiveTagKeys)
	field(hop.SourceIdentity)
	return hex.EncodeToString(h.Sum(nil))
}
