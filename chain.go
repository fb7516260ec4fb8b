package awsoidc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
)

// withChain puts each hop of o.Chain behind its own cache, whose base is the
// cache before it (first is the web identity session's), and returns the
// last cache, or first when there is no hop. Every hop is validated before
// any call; an error names the hop's index, its role and the field.
//
// Each cache gets the options of o.Cache: the same refresh windows,
// backoff, clock and hooks. With a persistent store, a hop's credentials
// are stored under the hop's key ([provider.AssumeRole.CacheKey]) followed
// by the key of its base at that refresh, so that a hop reached from
// another identity (another token's subject, another chain) never loads
// this one's credentials; an explicit Options.StoreKey names the web
// identity session only.
func withChain(first *cache.Cache, firstKey func(context.Context) (string, error), client provider.AssumeRoleClient, o Options) (*cache.Cache, error) {
	var errs []error
	hops := make([]*provider.AssumeRole, len(o.Chain))
	for i, hop := range o.Chain {
		a, err := provider.NewAssumeRole(client, first, hop)
		if err != nil {
			errs = append(errs, renameHopFields(err, i))
			continue
		}
		hops[i] = a
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("awsoidc: %w", errors.Join(errs...))
	}
	last, baseKey := first, firstKey
	for i := range hops {
		// Built again on its real base: validation did not depend on it.
		a, err := provider.NewAssumeRole(client, last, o.Chain[i])
		if err != nil {
			return nil, fmt.Errorf("awsoidc: %w", renameHopFields(err, i))
		}
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
