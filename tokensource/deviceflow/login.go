package deviceflow

import "context"

// loginLockSuffix makes, from a [StoreKey], the key of the lock that
// serializes device logins across processes. No tokens are stored under it.
const loginLockSuffix = " login"

// login runs a device login and saves its tokens, for [Source.Login]
// (forced) and for [Source.Token] (reason says why), under the caller's
// ctx: the user is prompted for somebody, and the login ends with ctx.
//
// The store lock is not held while the user is prompted and the token
// endpoint polled, which lasts up to the device code's lifetime (often 10
// minutes): silent renewals of the same key, by this process and others,
// take it meanwhile and must not wait that long. Device logins of one key
// are serialized by a lock of their own instead (the key +
// [loginLockSuffix]), in this process and across processes, so that the
// user is never prompted twice for the same login. Unless forced, the
// stored tokens are loaded again once that lock is held: when another
// caller or process has logged in meanwhile, its tokens are used and the
// user is not prompted.
//
// The store lock is taken again to save. Tokens another process saved while
// the user was logging in (a refresh of the previous login) are replaced all
// the same: the user has just approved this login, the one to keep. Like a
// refresh's response, the new tokens are saved even when ctx ends after the
// user approved, within [refreshTimeout].
//
// login returns the new tokens, and the store's error with them when they
// could not be saved: they are then current in memory only.
func (s *Source) login(ctx context.Context, forced bool, reason string) (*Tokens, error) {
	unlockLogin, err := s.lockKey(ctx, s.key+loginLockSuffix)
	if err != nil {
		return nil, err
	}
	defer s.unlockStore(unlockLogin)
	if !forced {
		cand, unlock, ok, err := s.lockAndLoad(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			s.log.Info("deviceflow: using the login another process stored", "issuer", s.issuer)
			return cand, nil
		}
		s.unlockStore(unlock)
	}
	// What the store holds now, to tell when saving whether another
	// process saved tokens meanwhile.
	before, _, _ := s.store.Load(ctx, s.key)
	s.holdTokens(before)
	s.log.Info("deviceflow: starting a device login", "issuer", s.issuer, "reason", reason)
	t, err := s.deviceLogin(ctx)
	if err != nil {
		return nil, err
	}
	return t, s.saveLogin(ctx, t, before)
}

// saveLogin saves the tokens t of a login, under the store lock, and makes
// them current. before is what the store held when the login started.
func (s *Source) saveLogin(ctx context.Context, t, before *Tokens) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	unlock, err := s.lockStore(sctx)
	if err != nil {
		s.mu.Lock()
		s.cur, s.unsaved = t, true
		s.mu.Unlock()
		return wrapStoreError("lock", err)
	}
	defer s.unlockStore(unlock)
	if stored, ok, err := s.store.Load(sctx, s.key); err == nil && ok && !sameTokens(stored, before) {
		s.holdTokens(stored)
		s.log.Info("deviceflow: replacing the tokens another process saved during the login", "issuer", s.issuer, "replaced", stored)
	}
	return s.save(sctx, t)
}

// sameTokens reports whether a and b (either may be nil) hold the same
// tokens.
func sameTokens(a, b *Tokens) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.IDToken == b.IDToken && a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken && a.Obtained.Equal(b.Obtained)
}
