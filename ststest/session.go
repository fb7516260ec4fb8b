package ststest

import (
	"slices"
	"time"
)

// Session describes temporary credentials the server issued, without their
// secret key or session token. See [Server.Sessions].
type Session struct {
	AccessKeyID     string
	RoleARN         string
	AssumedRoleARN  string
	AssumedRoleID   string // "<role ID>:<session name>", the caller's UserId
	Account         string
	RoleSessionName string
	Subject         string // the token's sub
	Audience        string // the token's audience the role trusted
	Issuer          string // the token's iss
	Provider        string // the OIDC provider ARN STS reported
	SourceIdentity  string
	Policy          string
	PolicyARNs      []string
	Duration        time.Duration
	Expiration      time.Time
}

// session is a Session with its secrets, which never leave the server except
// in the AssumeRoleWithWebIdentity response.
type session struct {
	Session
	secretAccessKey string
	sessionToken    string
}

// Sessions returns every session issued so far, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.order))
	for _, id := range s.order {
		sess := s.sessions[id].Session
		sess.PolicyARNs = slices.Clone(sess.PolicyARNs)
		out = append(out, sess)
	}
	return out
}

// issue stores a new session for info and returns it with fresh
// credentials: an "ASIA" access key ID, a 40-character secret key and a
// session token.
func (s *Server) issue(info Session) *session {
	sess := &session{
		Session:         info,
		secretAccessKey: randomString(base64ish, 40),
		sessionToken:    "IQoJb3JpZ2luX2VjE" + randomString(base64ish, 356),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		sess.AccessKeyID = "ASIA" + randomString(upperAlnum, 16)
		if _, dup := s.sessions[sess.AccessKeyID]; !dup {
			break
		}
	}
	s.sessions[sess.AccessKeyID] = sess
	s.order = append(s.order, sess.AccessKeyID)
	return sess
}

// lookup returns the session of an access key ID.
func (s *Server) lookup(accessKeyID string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[accessKeyID]
	return sess, ok
}
