package ststest

import "net/http"

// serveRevoke is the revocation endpoint (RFC 7009): it revokes a refresh
// token and every token of its login. Unknown tokens are not an error
// (RFC 7009 §2.2).
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, ActionRevoke, kindOAuth) {
		return
	}
	form, ok := s.readForm(w, r)
	if !ok {
		return
	}
	c := s.authenticateClient(w, r, form, false)
	if c == nil {
		return
	}
	s.mu.Lock()
	if rg := s.refreshTokens[form.Get("token")]; rg != nil && rg.client.ID == c.ID {
		rg.family.revoked = true
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// RevokeRefreshTokens revokes every refresh token issued so far, as an
// administrator or a password change would: refreshing with one answers
// invalid_grant, and the client needs a new device login.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rg := range s.refreshTokens {
		rg.family.revoked = true
	}
}
