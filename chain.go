package awsoidc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
)

// withChain returns the credentials of p's web identity session followed
// by the hops of o.Chain: p behind its cache (newCache), then each hop
// behind its own cache, whose base is the cache before it. Every hop is
// validated before any cache is built or any call made; an error names the
// hop's index, its role and the field.
//
// Each cache gets the options of o.Cache: the same refresh windows,
// backoff, clock and hooks. With a persistent store, a hop's credentials
// are stored under the hop's key ([provider.AssumeRole.CacheKey]) followed
// by the key of its base at that refresh, so that a hop reached from
// another identity (another token's subject, another chain) never loads
// this one's credentials; an explicit Options.StoreKey names the web
// identity session only.
func withChain(p *provider.Provider, client provider.AssumeRoleClient, o Options) (*cache.Cache, error) {
	var errs []error
	hops := make([]*provider.AssumeRole, len(o.Chain))
	bases := make([]*chainBase, len(o.Chain))
	for i, hop := range o.Chain {
		bases[i] = &chainBase{}
		a, err := provider.NewAssumeRole(client, bases[i], hop)
		if err != nil {
			errs = append(errs, renameHopFields(err, i))
		}
		hops[i] = a
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("awsoidc: %w", errors.Join(errs...))
	}
	last, baseKey := newCache(p, o), storeKeyOf(p, o)
	for i, a := range hops {
		bases[i].c = last
		key := hopStoreKey(a.CacheKey(), baseKey)
		last = cache.New(a, cacheOptions(o, func(co *cache.Options) {
			co.StoreKey, co.StoreKeyFunc = "", nil
			if co.Store != nil {
				co.StoreKeyFunc = key
			}
		})...)
		baseKey = key
	}
	return last, nil
}

// chainBase is a hop's base: the cache before it, set once that cache is
// built (after every hop has been validated), before any Retrieve.
type chainBase struct{ c *cache.Cache }

// Retrieve implements aws.CredentialsProvider.
func (b *chainBase) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return b.c.Retrieve(ctx)
}

// hopStoreKey keys a hop's stored credentials by the hop and by its base's
// key at each refresh.
func hopStoreKey(hopKey string, baseKey func(context.Context) (string, error)) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		k, err := baseKey(ctx)
		if err != nil {
			return "", err
		}
		return "chain " + hopKey + " <- " + k, nil
	}
}

// renameHopFields names the hop's index in its ValidationErrors:
// "Hop.Duration" becomes "Chain[2].Duration".
func renameHopFields(err error, i int) error {
	var walk func(error)
	walk = func(e error) {
		if ve, ok := e.(*provider.ValidationError); ok {
			ve.Field = strings.Replace(ve.Field, "Hop.", fmt.Sprintf("Chain[%d].", i), 1)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return err
}

// storeKeyOf returns how the web identity cache keys its store: o.Cache's
// StoreKeyFunc or StoreKey when set, else the provider's StoreKey.
func storeKeyOf(p *provider.Provider, o Options) func(context.Context) (string, error) {
	var co cache.Options
	for _, fn := range o.Cache {
		fn(&co)
	}
	switch {
	case co.StoreKeyFunc != nil:
		return co.StoreKeyFunc
	case co.StoreKey != "":
		return func(context.Context) (string, error) { return co.StoreKey, nil }
	}
	return p.StoreKey
}
