package cache

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// How a Cache works with the SDK's aws.CredentialsCache, which
// config.LoadDefaultConfig(ctx, config.WithCredentialsProvider(c)) puts in
// front of every provider that is not itself an *aws.CredentialsCache.
//
// That wrapper calls Cache.Retrieve only once the Expires of the
// credentials it holds has passed, so Retrieve hands out the moment it next
// wants to be asked (see entry.handout). The wrapper looks for two optional
// interfaces on the provider:
//
//   - aws.AdjustExpiresByCredentialsCacheStrategy: implemented. With an
//     ExpiryWindow set (config.WithCredentialsCacheOptions), the wrapper
//     would move our Expires earlier still, into the past for credentials
//     already in their advisory window, and then call Retrieve on every SDK
//     call. Our Expires already is the refresh moment, so AdjustExpiresBy
//     keeps it; the windows are configured in Options.
//
//   - aws.HandleFailRefreshCredentialsCacheStrategy: deliberately not
//     implemented. The wrapper calls it when Retrieve fails, with the
//     credentials it held before. But Retrieve already serves still-valid
//     credentials through failures (static stability), and fails only when
//     it holds none that are valid; the wrapper's credentials came from the
//     Cache, so they are expired (or were invalidated) too. The SDK's
//     default, returning the error, is the only right answer, and
//     implementing the interface would only add a way to hand out expired
//     credentials. sdk_test.go checks both decisions through
//     config.LoadDefaultConfig.

var _ aws.AdjustExpiresByCredentialsCacheStrategy = (*Cache)(nil)

// AdjustExpiresBy implements aws.AdjustExpiresByCredentialsCacheStrategy for
// the SDK's aws.CredentialsCache: it returns creds unchanged, because the
// Expires a Cache hands out already is the moment it wants to be asked
// again, advisory window and jitter included. An ExpiryWindow set on the
// SDK's cache would only make it call the Cache more often.
func (c *Cache) AdjustExpiresBy(creds aws.Credentials, _ time.Duration) (aws.Credentials, error) {
	return creds, nil
}
