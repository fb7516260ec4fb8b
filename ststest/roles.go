package ststest

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Role is an IAM role whose trust policy allows AssumeRoleWithWebIdentity
// from one OIDC issuer, for one audience and optionally one subject.
type Role struct {
	// Name is the role name, optionally with a path ("ci/deploy"). Default:
	// the last segment of ARN, or "ststest-role-N".
	Name string
	// ARN overrides "arn:aws:iam::<AccountID>:role/<Name>" with any shape,
	// e.g. MinIO's "arn:minio:iam:::role/x".
	ARN string
	// Issuer is the trusted "iss". Default [Server.Issuer]. Another
	// issuer's keys are fetched over HTTP from its discovery document, so a
	// second Server can act as a separate identity provider.
	Issuer string
	// Audience is the trusted "aud" (the <issuer>:aud condition). Default
	// [Options.Audience]. It is also registered as a client ID of Issuer.
	Audience string
	// Subject, when set, is the trusted "sub" (a StringLike <issuer>:sub
	// condition: "*" matches any run of characters, "?" any one).
	Subject string
	// MaxSessionDuration caps DurationSeconds. Default 1h; clamped to
	// 1h..12h as IAM does. A role-chained session (AssumeRole with a role
	// session's credentials) is capped at 1h whatever this says.
	MaxSessionDuration time.Duration

	// TrustedPrincipals are who may call AssumeRole on the role (its trust
	// policy's AWS principals): role ARNs ("arn:aws:iam::111122223333:role/ci"),
	// accounts ("111122223333" or "arn:aws:iam::111122223333:root"). A caller
	// is a session this server issued; it matches by the role it assumed or
	// that role's account. Empty: no one may. The web identity trust above
	// holds alongside: a role may be assumed either way.
	TrustedPrincipals []string
	// ExternalID, when set, is the sts:ExternalId condition: AssumeRole must
	// send exactly this ExternalId.
	ExternalID string
	// TagSession allows sts:TagSession: AssumeRole may pass session tags and
	// transitive tag keys, and a caller carrying transitive tags may assume
	// the role. Without it such a call is AccessDenied, as IAM answers.
	TagSession bool
}

// role is a registered Role with its defaults filled in.
type role struct {
	Role
	id      string // "AROA..." unique ID
	account string // account field of the ARN, or Options.AccountID
	// chained holds, by access key ID, what each AssumeRole session of the
	// role carries to the next hop; guarded by Server.mu.
	chained map[string]*chainedSession
}

// AddRole registers r (replacing a role with the same ARN) and returns its
// ARN.
func (s *Server) AddRole(r Role) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roleSeq++
	switch {
	case r.Name == "" && r.ARN != "":
		r.Name = arnRoleName(r.ARN)
	case r.Name == "":
		r.Name = fmt.Sprintf("ststest-role-%d", s.roleSeq)
	}
	if r.ARN == "" {
		r.ARN = "arn:aws:iam::" + s.opts.AccountID + ":role/" + r.Name
	}
	if r.Issuer == "" {
		r.Issuer = s.Issuer()
	}
	if r.Audience == "" {
		r.Audience = s.opts.Audience
	}
	r.MaxSessionDuration = min(max(r.MaxSessionDuration, time.Hour), 12*time.Hour)
	account := s.opts.AccountID
	if parts := strings.Split(r.ARN, ":"); len(parts) >= 6 && parts[4] != "" {
		account = parts[4]
	}
	r.TrustedPrincipals = slices.Clone(r.TrustedPrincipals)
	s.roles[r.ARN] = &role{Role: r, id: "AROA" + randomString(upperAlnum, 17), account: account, chained: make(map[string]*chainedSession)}
	s.addAudienceLocked(r.Issuer, r.Audience)
	return r.ARN
}

// addAudience registers clientID as a client ID (accepted "aud") of the
// OIDC provider for issuer, as IAM's OIDC provider ClientIDList does. A
// token whose aud is not registered is rejected with InvalidIdentityToken
// ("Incorrect token audience") before any role trust is checked; one that
// is registered but not trusted by the role gets AccessDenied.
func (s *Server) addAudience(issuer, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addAudienceLocked(issuer, clientID)
}

func (s *Server) addAudienceLocked(issuer, clientID string) {
	if s.audiences[issuer] == nil {
		s.audiences[issuer] = make(map[string]bool)
	}
	s.audiences[issuer][clientID] = true
}

// trusts reports whether the role's trust policy allows the token.
func (r *role) trusts(iss string, aud []string, sub string) bool {
	if iss != r.Issuer || !containsString(aud, r.Audience) {
		return false
	}
	return r.Subject == "" || globMatch(r.Subject, sub)
}

// trustsPrincipal reports whether the role's trust policy lets a session
// of callerRole (in callerAccount) call AssumeRole.
func (r *role) trustsPrincipal(callerRole, callerAccount string) bool {
	for _, p := range r.TrustedPrincipals {
		if p == callerRole || p == callerAccount || strings.HasPrefix(p, "arn:") && strings.HasSuffix(p, ":"+callerAccount+":root") {
			return true
		}
	}
	return false
}

// assumedRoleARN is the STS ARN of a session of the role:
// arn:<partition>:sts::<account>:assumed-role/<name>/<session>.
func (r *role) assumedRoleARN(session string) string {
	name := path.Base(r.Name)
	parts := strings.SplitN(r.ARN, ":", 6)
	if len(parts) < 6 {
		return r.ARN + "/" + session
	}
	return strings.Join([]string{"arn", parts[1], "sts", "", parts[4], "assumed-role/" + name + "/" + session}, ":")
}

// providerARN is the ARN of the IAM OIDC provider for iss in the role's
// partition and account, which STS reports as Provider.
func (r *role) providerARN(iss string) string {
	partition := "aws"
	if parts := strings.SplitN(r.ARN, ":", 3); len(parts) == 3 {
		partition = parts[1]
	}
	host := strings.TrimPrefix(strings.TrimPrefix(iss, "https://"), "http://")
	return "arn:" + partition + ":iam::" + r.account + ":oidc-provider/" + host
}

// arnRoleName returns the name after "role/" (with its path), or the last
// segment of the ARN's resource.
func arnRoleName(arn string) string {
	if i := strings.Index(arn, ":role/"); i >= 0 {
		return arn[i+len(":role/"):]
	}
	if i := strings.LastIndexAny(arn, ":/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// globMatch matches s against a StringLike pattern: "*" is any run of
// characters, "?" any single character.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, 0
	pr, sr := []rune(pattern), []rune(s)
	for px < len(pr) || sx < len(sr) {
		if px < len(pr) {
			switch c := pr[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(sr) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(sr) && sr[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if 0 < nextSx && nextSx <= len(sr) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
