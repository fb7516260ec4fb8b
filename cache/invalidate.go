package cache

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// InvalidateIfUsed drops the credentials that p serves if they are still
// the ones with accessKeyID, for instance after an AWS service answered a
// request signed with them that they have expired: the next Retrieve
// fetches new ones. Credentials that a concurrent refresh already replaced
// are kept, so that many requests failing at once cause one refresh, not
// one each. It reports whether accessKeyID is p's: the credentials it held,
// now dropped, or the ones it last dropped or replaced; so a caller that
// gets true and retries is served other credentials, and one that gets
// false (a request signed by another provider, say) knows a retry would
// be signed with the same.
//
// p is the provider the request was signed with: a [*Cache], or the
// [aws.CredentialsCache] in front of one that config.LoadDefaultConfig
// makes of config.WithCredentialsProvider(c). Both layers are checked,
// the inner [*Cache] first (found through the SDK's IsCredentialsProvider),
// since the wrapper hands out the same credentials until the Expires it was
// given and, once invalidated alone, asks the Cache, which would answer the
// same. An aws.CredentialsCache around any other provider is invalidated
// alone when it still holds accessKeyID; ctx bounds the Retrieve that
// reads what it holds; it reports false when those credentials cannot
// expire (static keys, which its provider would serve again). Any other
// provider is left alone.
func InvalidateIfUsed(ctx context.Context, p aws.CredentialsProvider, accessKeyID string) bool {
	if accessKeyID == "" {
		return false
	}
	c, _ := p.(*Cache)
	wrapper, _ := p.(*aws.CredentialsCache)
	if wrapper != nil {
		f := &finder{}
		if wrapper.IsCredentialsProvider(f) {
			c = f.found
		}
	}
	ours := c != nil && c.invalidateIfUsed(accessKeyID)
	if wrapper != nil {
		// The wrapper has no way to read what it holds without Retrieve.
		// Between that Retrieve and Invalidate another caller may store
		// newer credentials in it; dropping those only makes the wrapper
		// ask the Cache again, from memory.
		if held, err := wrapper.Retrieve(ctx); err == nil && held.AccessKeyID == accessKeyID {
			wrapper.Invalidate()
			// Credentials that cannot expire (static keys) come back the
			// same from the wrapped provider: a retry gets nothing new.
			ours = ours || held.CanExpire
		}
	}
	return ours
}

// invalidateIfUsed is [Cache.Invalidate] if the cached credentials have
// accessKeyID; it reports whether accessKeyID is the cache's: the one
// dropped now, or the one it last dropped or replaced.
func (c *Cache) invalidateIfUsed(accessKeyID string) bool {
	in := c.in
	in.mu.Lock()
	defer in.mu.Unlock()
	e := c.cur.Load()
	if e == nil || e.creds.AccessKeyID != accessKeyID {
		return in.retired == accessKeyID
	}
	in.revoked = accessKeyID
	in.retired = accessKeyID
	c.cur.Store(nil)
	return true
}

// finder is the target [InvalidateIfUsed] hands to an
// aws.CredentialsCache's IsCredentialsProvider, which passes it down to
// the provider it wraps: a [*Cache] there records itself in found.
type finder struct{ found *Cache }

// errFinder is what a finder's Retrieve returns: a finder is never used as
// a provider.
var errFinder = errors.New("cache: internal finder is not a credentials provider")

// Retrieve implements aws.CredentialsProvider, so that a finder can be
// passed to IsCredentialsProvider; it always fails.
func (*finder) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errFinder
}

// foundBy records c in target if target is a *finder, and reports whether it
// was one.
func (c *Cache) foundBy(target aws.CredentialsProvider) bool {
	f, ok := target.(*finder)
	if ok && f.found == nil {
		f.found = c
	}
	return ok
}
