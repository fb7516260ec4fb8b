package awsoidc

import (
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
)

// Options configures the credentials that [WithIRSA], [WithWebIdentity] and
// [NewCredentials] wire together.
type Options struct {
	// Provider holds options for [provider.New]: session name, duration,
	// session policies, retries, clock, logger.
	Provider []func(*provider.Options)

	// Cache holds options for [cache.New]: refresh windows, backoff, a
	// persistent store, hooks. When a store is set without a key, it is
	// keyed at each refresh by [provider.Provider.StoreKey]: the session and
	// the identity of the token sent.
	Cache []func(*cache.Options)

	// STSClient, when set, is the client that calls AssumeRoleWithWebIdentity,
	// in place of the client argument of [NewCredentials] too. When nil,
	// [WithIRSA] and [WithWebIdentity] build an anonymous STS client from the
	// configuration being loaded, on first use.
	STSClient provider.STSClient
}
