package awsoidc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
)

// withChain returns the credentials of p's web identity session followed
// by the hops of o.Chain: p behind its cache (newCache), then each hop
// behind its own cache (see [hopChain.build]). Every hop is validated before
// any cache is built or any call made.
func withChain(p *provider.Provider, client provider.AssumeRoleClient, o Options) (aws.CredentialsProvider, error) {
	c, err := newHopChain(client, o)
	if err != nil {
		return nil, err
	}
	return c.build(newCache(p, o), storeKeyOf(p, o), o), nil
}

// hopChain is the validated hops of Options.Chain, not yet bound to a base.
type hopChain struct {
	hops  []*provider.AssumeRole
	bases []*chainBase
}

// newHopChain validates every hop of o.Chain; an error names the hop's index,
// its role and the field. It calls nothing and builds no cache.
func newHopChain(client provider.AssumeRoleClient, o Options) (hopChain, error) {
	var errs []error
	c := hopChain{hops: make([]*provider.AssumeRole, len(o.Chain)), bases: make([]*chainBase, len(o.Chain))}
	for i, hop := range o.Chain {
		c.bases[i] = &chainBase{}
		a, err := provider.NewAssumeRole(client, c.bases[i], hop)
		if err != nil {
			errs = append(errs, renameHopFields(err, i))
		}
		c.hops[i] = a
	}
	errs = append(errs, inheritedTagErrors(o.Chain)...)
	if len(errs) > 0 {
		return hopChain{}, fmt.Errorf("awsoidc: %w", errors.Join(errs...))
	}
	return c, nil
}

// build puts each hop behind its own cache, whose base is the step before
// it (first for the first hop), and returns the last cache, or first when
// there is no hop. firstKey is first's store key (it may fail when no store
// is set: it is then never called).
//
// Each cache gets the options of o.Cache: the same refresh windows,
// backoff, clock and hooks. With a persistent store, a hop's credentials
// are stored under the hop's key ([provider.AssumeRole.CacheKey]) followed
// by the key of its base at that refresh, so that a hop reached from
// another identity (another token's subject, another chain) never loads
// this one's credentials; an explicit Options.StoreKey names the first
// step only.
func (c hopChain) build(first aws.CredentialsProvider, firstKey func(context.Context) (string, error), o Options) aws.CredentialsProvider {
	last, baseKey := first, firstKey
	for i, a := range c.hops {
		c.bases[i].p = last
		key := hopStoreKey(a.CacheKey(), baseKey)
		last = cache.New(a, cacheOptions(o, func(co *cache.Options) {
			co.StoreKey, co.StoreKeyFunc = "", nil
			if co.Store != nil {
				co.StoreKeyFunc = key
			}
		})...)
		baseKey = key
	}
	return last
}

// chainBase is a hop's base: the step before it, set by [hopChain.build]
// before any Retrieve.
type chainBase struct{ p aws.CredentialsProvider }

// Retrieve implements aws.CredentialsProvider.
func (b *chainBase) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return b.p.Retrieve(ctx)
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

// inheritedTagErrors refuses a hop's session tag whose key (not case
// sensitive) an earlier hop made transitive: every later session inherits
// that tag, and STS fails a call that passes it again, whatever its value.
func inheritedTagErrors(chain []provider.Hop) []error {
	var errs []error
	transitive := map[string]int{} // lower-case key -> the hop that made it transitive
	for i, hop := range chain {
		for _, k := range slices.Sorted(maps.Keys(hop.Tags)) {
			if j, ok := transitive[strings.ToLower(k)]; ok {
				errs = append(errs, &provider.ValidationError{
					Field: fmt.Sprintf("Chain[%d].Tags[%q]", i, k),
					Rule:  fmt.Sprintf("Chain[%d] made this key transitive, so every later session of the chain inherits it, and STS refuses a hop that passes it again (tag keys are not case sensitive)", j),
				})
			}
		}
		for _, k := range hop.TransitiveTagKeys {
			if _, ok := transitive[strings.ToLower(k)]; !ok {
				transitive[strings.ToLower(k)] = i
			}
		}
	}
	return errs
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
