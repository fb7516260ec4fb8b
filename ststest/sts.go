package ststest

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxSessionTokenSize is the largest MinimumSessionTokenSize STS accepts.
const maxSessionTokenSize = 4096

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	policyCharset      = regexp.MustCompile("^[\u0009\u000A\u000D\u0020-\u00FF]+$")
)

// assumeInput is the parameters of one AssumeRoleWithWebIdentity call.
type assumeInput struct {
	roleARN     string
	sessionName string
	token       string
	duration    time.Duration
	policy      string
	policyARNs  []string
	providerID  string
	minTokenLen int // MinimumSessionTokenSize
}

// assumeRoleWithWebIdentity answers the STS action of the same name.
func (s *Server) assumeRoleWithWebIdentity(w http.ResponseWriter, req *stsRequest) {
	in, apiErr := parseAssumeInput(req)
	if apiErr != nil {
		s.fail(w, req, apiErr)
		return
	}
	sess, apiErr := s.assume(req, in)
	if apiErr != nil {
		s.fail(w, req, apiErr)
		return
	}
	res := assumeRoleWithWebIdentityResult{
		Credentials:                 sess.xmlCredentials(),
		SubjectFromWebIdentityToken: sess.Subject,
		AssumedRoleUser:             xmlAssumedRoleUser{Arn: sess.assumedRoleARN, AssumedRoleID: sess.assumedRoleID},
		Provider:                    sess.provider,
		Audience:                    sess.audience,
		SourceIdentity:              sess.SourceIdentity,
		SessionTokenSize:            len(sess.sessionToken),
	}
	if in.policy != "" || len(in.policyARNs) > 0 {
		size := packedPolicySize(in.policy, in.policyARNs, s.opts.packedPolicyLimit)
		res.PackedPolicySize = &size
	}
	s.opts.logger.Debug("ststest request", "action", req.action, "status", 200, "role_arn", sess.RoleARN, "access_key_id", sess.AccessKeyID, "request_id", req.requestID)
	writeXML(w, 200, req.requestID, assumeRoleWithWebIdentityResponse{
		Xmlns:            stsNamespace,
		Result:           res,
		ResponseMetadata: responseMetadata{RequestID: req.requestID},
	})
}

// assume runs STS's checks after input validation and issues a session.
func (s *Server) assume(req *stsRequest, in assumeInput) (*session, *apiError) {
	if in.providerID != "" {
		return nil, newError("InvalidParameterValue", "ProviderId is only valid for OAuth 2.0 access tokens; omit it for OpenID Connect ID tokens")
	}
	tok, apiErr := s.verifyToken(req.r.Context(), in.token)
	if apiErr != nil {
		return nil, apiErr
	}
	s.mu.Lock()
	r, ok := s.roles[in.roleARN]
	s.mu.Unlock()
	if !ok || !r.trusts(tok.iss, tok.aud, tok.sub) {
		// AWS does not say which: an unknown role and a trust mismatch look
		// the same to the caller.
		return nil, newError("AccessDenied", "")
	}
	if in.duration > r.MaxSessionDuration {
		return nil, newError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if in.policy != "" {
		if apiErr := checkPolicySyntax(in.policy); apiErr != nil {
			return nil, apiErr
		}
	}
	if size := packedPolicySize(in.policy, in.policyARNs, s.opts.packedPolicyLimit); size > 100 {
		return nil, packedTooLarge(size)
	}
	return s.issue(&session{
		Session: Session{
			RoleARN:         r.ARN,
			RoleSessionName: in.sessionName,
			Subject:         tok.sub,
			SourceIdentity:  tok.sourceIdentity,
			Policy:          in.policy,
			PolicyARNs:      in.policyARNs,
			Duration:        in.duration,
			Expiration:      s.now().Add(in.duration).Truncate(time.Second),
		},
		assumedRoleARN: r.assumedRoleARN(in.sessionName),
		assumedRoleID:  r.id + ":" + in.sessionName,
		account:        r.account,
		audience:       r.Audience,
		provider:       r.providerARN(tok.iss),
	}, in.minTokenLen), nil
}

// parseAssumeInput reads and validates the parameters, collecting every
// violation into one ValidationError as AWS does.
func parseAssumeInput(req *stsRequest) (assumeInput, *apiError) {
	p := req.params
	in := assumeInput{
		roleARN:     p.Get("RoleArn"),
		sessionName: p.Get("RoleSessionName"),
		token:       p.Get("WebIdentityToken"),
		policy:      p.Get("Policy"),
		providerID:  p.Get("ProviderId"),
	}
	var v validation
	v.length("roleArn", in.roleARN, p.Has("RoleArn"), 20, 2048, true)
	v.length("roleSessionName", in.sessionName, p.Has("RoleSessionName"), 2, 64, true)
	if !sessionNamePattern.MatchString(in.sessionName) {
		v.add("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", in.sessionName)
	}
	// Never echo the token.
	switch {
	case !p.Has("WebIdentityToken"):
		v.add("Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null")
	case len(in.token) < 4 || len(in.token) > maxTokenLength:
		v.add("Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and %d", maxTokenLength)
	}
	in.duration, in.policyARNs = sessionParams(&v, p, in.policy)
	if p.Has("MinimumSessionTokenSize") {
		n, err := strconv.Atoi(p.Get("MinimumSessionTokenSize"))
		switch {
		case err != nil || n < 0:
			v.add("Value '%s' at 'minimumSessionTokenSize' failed to satisfy constraint: Member must be a non-negative integer", p.Get("MinimumSessionTokenSize"))
		case n > maxSessionTokenSize:
			v.add("Value '%d' at 'minimumSessionTokenSize' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxSessionTokenSize)
		default:
			in.minTokenLen = n
		}
	}
	if p.Has("ProviderId") {
		v.length("providerId", in.providerID, true, 4, 2048, true)
	}
	return in, v.err()
}

// validation collects AWS-style constraint violations.
type validation struct{ msgs []string }

func (v *validation) add(format string, args ...any) {
	v.msgs = append(v.msgs, fmt.Sprintf(format, args...))
}

// length checks a required or optional string's length in characters (as
// the API model's length constraints count, not in bytes); echo says
// whether the value may appear in the message.
func (v *validation) length(field, value string, present bool, minLen, maxLen int, echo bool) {
	shown := ""
	if echo {
		shown = " '" + value + "'"
	}
	n := utf8.RuneCountInString(value)
	switch {
	case !present:
		v.add("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	case n < minLen:
		v.add("Value%s at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", shown, field, minLen)
	case n > maxLen:
		v.add("Value%s at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", shown, field, maxLen)
	}
}

func (v *validation) err() *apiError {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return newError("ValidationError", "1 validation error detected: "+v.msgs[0])
	}
	return newError("ValidationError", fmt.Sprintf("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; ")))
}
