package ststest

import (
	"slices"
	"time"
)

// Session describes temporary credentials the server issued, without their
// secret key or session token. See [Server.Sessions].
type Session struct {
	AccessKeyID     string        // the "ASIA..." access key ID
	RoleARN         string        // the role assumed
	RoleSessionName string        // as requested
	Subject         string        // the token's sub
	SourceIdentity  string        // from the token's "https://aws.amazon.com/source_identity" claim, if any
	Policy          string        // the inline session policy, if any
	PolicyARNs      []string      // the managed session policy ARNs, if any
	Duration        time.Duration // DurationSeconds (default 1h)
	Expiration      time.Time     // Options.Now()+Duration, in whole seconds as AWS reports it
}

// session is a Session with what the server reports of it (in the
// AssumeRoleWithWebIdentity and GetCallerIdentity responses) and its
// secrets, which never leave the server except in the
// AssumeRoleWithWebIdentity response.
type session struct {
	Session
	assumedRoleARN  string // arn:...:sts::<account>:assumed-role/<name>/<session>
	assumedRoleID   string // "<role ID>:<session name>", the caller's UserId
	account         string // the caller's Account
	audience        string // the token's audience the role trusted
	provider        string // the OIDC provider ARN STS reported
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

// issue stores sess, filled in with fresh credentials: an "ASIA" access key
// ID, a 40-character secret key and a session token of at least
// minTokenSize bytes.
func (s *Server) issue(sess *session, minTokenSize int) *session {
	const prefix = "IQoJb3JpZ2luX2VjE"
	sess.secretAccessKey = randomString(base64ish, 40)
	sess.sessionToken = prefix + randomString(base64ish, max(356, minTokenSize-len(prefix)))
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

// xmlCredentials is the Credentials element of an answer that issued s.
func (s *session) xmlCredentials() xmlCredentials {
	return xmlCredentials{
		AccessKeyID:     s.AccessKeyID,
		SecretAccessKey: s.secretAccessKey,
		SessionToken:    s.sessionToken,
		Expiration:      s.Expiration.UTC().Format(time.RFC3339),
	}
}
