package main

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/cache"
)

// serve hands out the credentials' real expiry, as the ECS and EKS
// endpoints do: the SDKs refresh ahead of it by their own windows
// (botocore 15 minutes, then 10 mandatory; the JS and Go SDKs 5 minutes),
// and a client keeps valid credentials when serve stops or restarts.
//
// So that a client entering its window gets new credentials, not the same
// ones again (botocore would then ask on every call), serve's cache must
// have refreshed before the widest of those windows. The cache plans its
// refresh on the expiry it is shown; serve shows it an expiry earlier by
// serveLead, through shiftedProvider and shiftedStore, and keeps the real
// one for the answer. For one-hour credentials the cache then refreshes
// 19 to 23 minutes before the real expiry (its advisory window on 50
// minutes), before botocore's 15. The store keeps real expiries, which the
// one-shot commands read too.

// serveLead is how much earlier than their real expiry serve's cache sees
// credentials expire: 10 minutes, or a sixth of shorter lifetimes.
func serveLead(lifetime time.Duration) time.Duration {
	return min(10*time.Minute, lifetime/6)
}

// realExpiry remembers the real expiry of the credentials serve's cache
// holds, by access key ID, and the last credentials handed out, served
// while they are valid when no new ones can be had.
type realExpiry struct {
	lifetime time.Duration // requested; 0 means STS's default

	mu      sync.Mutex // guards expires
	expires map[string]time.Time
}

func newRealExpiry(lifetime time.Duration) *realExpiry {
	if lifetime <= 0 {
		lifetime = defaultLifetime
	}
	return &realExpiry{lifetime: lifetime, expires: make(map[string]time.Time)}
}

// shift records the real expiry of creds and returns them as the cache
// must see them.
func (r *realExpiry) shift(creds aws.Credentials, now time.Time) aws.Credentials {
	if !creds.CanExpire {
		return creds
	}
	r.mu.Lock()
	for id, exp := range r.expires { // forget the expired: a daemon runs for months
		if !exp.After(now) {
			delete(r.expires, id)
		}
	}
	r.expires[creds.AccessKeyID] = creds.Expires
	r.mu.Unlock()
	creds.Expires = creds.Expires.Add(-serveLead(r.lifetime))
	return creds
}

// unshift returns the credentials the cache handed out with their real
// expiry. Credentials the cache did not get through shift keep the
// cache's.
func (r *realExpiry) unshift(creds aws.Credentials) aws.Credentials {
	if !creds.CanExpire {
		return creds
	}
	r.mu.Lock()
	exp, ok := r.expires[creds.AccessKeyID]
	r.mu.Unlock()
	if ok {
		creds.Expires = exp
	}
	return creds
}

// shiftedProvider shows serve's cache the provider's credentials with the
// shifted expiry.
type shiftedProvider struct {
	p   aws.CredentialsProvider
	r   *realExpiry
	now func() time.Time
}

func (s shiftedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := s.p.Retrieve(ctx)
	if err != nil {
		return creds, err
	}
	return s.r.shift(creds, s.now()), nil
}

// shiftedStore is the credentials store as serve's cache sees it: loaded
// credentials shifted, saved ones with their real expiry.
type shiftedStore struct {
	st  cache.Store
	r   *realExpiry
	now func() time.Time
}

func (s shiftedStore) Load(ctx context.Context, key string) (aws.Credentials, bool, error) {
	creds, ok, err := s.st.Load(ctx, key)
	if !ok || err != nil {
		return creds, ok, err
	}
	creds = s.r.shift(creds, s.now())
	if creds.CanExpire && !creds.Expires.After(s.now()) {
		return aws.Credentials{}, false, nil // valid, but past the cache's view of them
	}
	return creds, true, nil
}

func (s shiftedStore) Save(ctx context.Context, key string, creds aws.Credentials) error {
	return s.st.Save(ctx, key, s.r.unshift(creds))
}

func (s shiftedStore) Lock(ctx context.Context, key string) (func() error, error) {
	return s.st.Lock(ctx, key)
}

// endpointCache returns the cache of an endpoint (serve, exec) for s: it
// sees credentials through the shifted provider and store, and holds
// credentials already, got within --timeout. The caller closes it.
func (a *app) endpointCache(ctx context.Context, s *session) (*cache.Cache, *realExpiry, error) {
	real := newRealExpiry(s.cfg.opts.Duration)
	c := cache.New(shiftedProvider{p: s.prov, r: real, now: a.now}, func(o *cache.Options) {
		o.Logger = a.log
		o.OnRefresh = func(ev cache.RefreshEvent) { a.log.Debug("credentials refresh", "event", ev) }
		if s.store != nil {
			o.Store = shiftedStore{st: s.store, r: real, now: a.now}
			o.StoreKey = s.key
		}
	})
	fctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	creds, err := c.Retrieve(fctx)
	cancel()
	if err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
	return c, real, nil
}
