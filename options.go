package awsoidc

import (
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
)

// Options configures the credentials that [WithIRSA] and [WithWebIdentity]
// wire together.
type Options struct {
	// Provider holds options for [provider.New]: session name, duration,
	// session policies, retries, clock, logger.
	Provider []func(*provider.Options)

	// Cache holds options for [cache.New]: refresh windows, backoff, a
	// persistent store, hooks. When a store is set without a key, it is
	// keyed at each refresh by [provider.Provider.StoreKey]: the session and
	// the identity of the token sent.
	Cache []func(*cache.Options)

	// STSClient, when set, is the client that calls AssumeRoleWithWebIdentity
	// (ststest.Server.STSClient in tests, say). When nil, an anonymous STS
	// client is built from the configuration being loaded, on first use.
	STSClient provider.STSClient

	// Chain is a role chain after web identity: each hop calls AssumeRole
	// with the credentials of the step before it (the web identity session,
	// then the previous hop), and the configuration gets the last hop's
	// credentials. Each hop has its own cache with the options of Cache, so
	// every step is refreshed ahead and none makes a caller wait while it
	// holds valid credentials. Hops are validated with the rest: a bad one
	// fails LoadDefaultConfig with a [provider.ValidationError] whose Field
	// names it ("Chain[1].Duration"). STS caps a chained session at one
	// hour. The hops' AssumeRole calls go through STSClient when it has an
	// AssumeRole method (a *sts.Client has), else through the client built
	// on first use, each call signed with the previous step's credentials.
	Chain []provider.Hop

	// MeterProvider and TracerProvider receive the metrics and traces of
	// the provider and the cache (docs/metrics.md), and those of the STS
	// client built from the configuration being loaded: give them the
	// OpenTelemetry adapter the program gives its SDK clients. Neither
	// aws.Config nor config.LoadOptions carries one (only each client's
	// Options does), hence these fields. A MeterProvider or TracerProvider
	// set in Provider or Cache wins over these. Nil means none.
	MeterProvider  metrics.MeterProvider
	TracerProvider tracing.TracerProvider
}
