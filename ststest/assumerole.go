package ststest

import (
	"bytes"
	"compress/flate"
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ActionAssumeRole is an STS AssumeRole request: a role chain's hop, signed
// (SigV4) with credentials this server issued.
const ActionAssumeRole Action = "AssumeRole"

// maxChainedDuration is STS's cap on a role-chained session: AssumeRole
// called with a role session's credentials.
const maxChainedDuration = time.Hour

// chainCapMessage is STS's answer to a chained AssumeRole asking for more
// than an hour (a ValidationError).
const chainCapMessage = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."

var (
	externalIDPattern = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	tagPattern        = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// chainedSession is what an AssumeRole session carries to the next hop
// beside its Session: who called, and its session tags.
type chainedSession struct {
	callerARN  string            // assumed-role ARN of the caller
	tags       map[string]string // passed and inherited session tags
	transitive []string          // keys of tags that the next hop inherits
}

// assumeRoleInput is the parameters of one AssumeRole call.
type assumeRoleInput struct {
	roleARN        string
	sessionName    string
	externalID     string
	duration       time.Duration
	policy         string
	policyARNs     []string
	tags           map[string]string
	transitive     []string
	sourceIdentity string
}

// assumeRole answers the STS action of the same name for a caller that
// signed with credentials this server issued.
func (s *Server) assumeRole(w http.ResponseWriter, req *stsRequest) {
	caller, apiErr := s.authenticate(req)
	if apiErr != nil {
		s.fail(w, req, apiErr)
		return
	}
	in, apiErr := parseAssumeRoleInput(req)
	if apiErr != nil {
		s.fail(w, req, apiErr)
		return
	}
	sess, size, apiErr := s.chain(caller, in)
	if apiErr != nil {
		s.fail(w, req, apiErr)
		return
	}
	res := assumeRoleResult{
		Credentials:     sess.xmlCredentials(),
		AssumedRoleUser: xmlAssumedRoleUser{Arn: sess.assumedRoleARN, AssumedRoleID: sess.assumedRoleID},
		SourceIdentity:  sess.SourceIdentity,
	}
	if size > 0 {
		res.PackedPolicySize = &size
	}
	s.opts.logger.Debug("ststest request", "action", req.action, "status", 200, "role_arn", sess.RoleARN, "access_key_id", sess.AccessKeyID, "request_id", req.requestID)
	writeXML(w, http.StatusOK, req.requestID, assumeRoleResponse{
		Xmlns:            stsNamespace,
		Result:           res,
		ResponseMetadata: responseMetadata{RequestID: req.requestID},
	})
}

// chain runs the role's trust rule for caller and issues the session. It
// returns the packed policy size to report (0: none).
func (s *Server) chain(caller *session, in assumeRoleInput) (*session, int, *apiError) {
	s.mu.Lock()
	r := s.roles[in.roleARN]
	var from chainedSession
	if cr := s.roles[caller.RoleARN]; cr != nil && cr.chained[caller.AccessKeyID] != nil {
		from = *cr.chained[caller.AccessKeyID]
	}
	s.mu.Unlock()

	denied := func(action string) *apiError {
		return newError("AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", caller.assumedRoleARN, action, in.roleARN))
	}
	if r == nil || !r.trustsPrincipal(caller.RoleARN, caller.account) {
		return nil, 0, denied("sts:AssumeRole")
	}
	if r.ExternalID != "" && subtle.ConstantTimeCompare([]byte(in.externalID), []byte(r.ExternalID)) != 1 {
		return nil, 0, denied("sts:AssumeRole")
	}
	if (len(in.tags) > 0 || len(in.transitive) > 0 || len(from.transitive) > 0) && !r.TagSession {
		return nil, 0, denied("sts:TagSession")
	}
	if caller.SourceIdentity != "" && in.sourceIdentity != "" && in.sourceIdentity != caller.SourceIdentity {
		// Once set, the source identity stays for the whole chain.
		return nil, 0, denied("sts:SetSourceIdentity")
	}
	// Every caller here holds a role session, so this is role chaining.
	if in.duration > maxChainedDuration {
		return nil, 0, newError("ValidationError", chainCapMessage)
	}
	for _, k := range in.transitive {
		if _, ok := in.tags[k]; !ok {
			return nil, 0, newError("InvalidParameterValue", fmt.Sprintf("Transitive tag key %s is not among the session tags", k))
		}
	}
	// Tag keys are not case sensitive. A session tag with the key of a
	// tag the calling session passes on (a transitive tag) fails, whatever
	// its value: an inherited tag cannot be passed again, let alone changed.
	tags := make(map[string]string, len(in.tags)+len(from.transitive))
	transitive := slices.Clone(from.transitive)
	keys := make(map[string]string, len(in.tags)+len(from.transitive)) // lower case -> key
	for _, k := range from.transitive {
		tags[k] = from.tags[k]
		keys[strings.ToLower(k)] = k
	}
	for _, k := range slices.Sorted(maps.Keys(in.tags)) {
		other, ok := keys[strings.ToLower(k)]
		switch {
		case ok && slices.Contains(from.transitive, other):
			return nil, 0, newError("InvalidParameterValue", fmt.Sprintf("The session tag %s has the key of the transitive tag %s inherited from the calling session, which a later session of the chain cannot pass again", k, other))
		case ok:
			return nil, 0, newError("InvalidParameterValue", fmt.Sprintf("Duplicate tag keys found: %s and %s (tag keys are not case sensitive)", other, k))
		}
		keys[strings.ToLower(k)] = k
	}
	for k, v := range in.tags {
		tags[k] = v
	}
	for _, k := range in.transitive {
		if !slices.Contains(transitive, k) {
			transitive = append(transitive, k)
		}
	}
	if in.policy != "" {
		if apiErr := checkPolicySyntax(in.policy); apiErr != nil {
			return nil, 0, apiErr
		}
	}
	size := packedSessionSize(in.policy, in.policyARNs, in.tags, s.opts.packedPolicyLimit)
	if size > 100 {
		return nil, 0, packedTooLarge(size)
	}
	sourceIdentity := caller.SourceIdentity
	if sourceIdentity == "" {
		sourceIdentity = in.sourceIdentity
	}
	sess := s.issue(&session{
		Session: Session{
			RoleARN:         r.ARN,
			RoleSessionName: in.sessionName,
			SourceIdentity:  sourceIdentity,
			Policy:          in.policy,
			PolicyARNs:      in.policyARNs,
			Duration:        in.duration,
			Expiration:      s.now().Add(in.duration).Truncate(time.Second),
		},
		assumedRoleARN: r.assumedRoleARN(in.sessionName),
		assumedRoleID:  r.id + ":" + in.sessionName,
		account:        r.account,
	}, 0)
	s.mu.Lock()
	r.chained[sess.AccessKeyID] = &chainedSession{callerARN: caller.assumedRoleARN, tags: tags, transitive: transitive}
	s.mu.Unlock()
	return sess, size, nil
}

// packedSessionSize is the percentage of the packed budget that the session
// policies and the session tags use together; 0 when there are none.
func packedSessionSize(policy string, arns []string, tags map[string]string, limit int) int {
	size := packedPolicySize(policy, arns, limit)
	if len(tags) == 0 {
		return size
	}
	var plain bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		plain.WriteString(k + "=" + tags[k] + ";")
	}
	var packed bytes.Buffer
	zw, _ := flate.NewWriter(&packed, flate.BestCompression)
	_, _ = zw.Write(plain.Bytes())
	_ = zw.Close()
	return size + ceilPercent(packed.Len(), limit)
}

// parseAssumeRoleInput reads and validates the parameters of AssumeRole,
// collecting every violation into one ValidationError as AWS does.
func parseAssumeRoleInput(req *stsRequest) (assumeRoleInput, *apiError) {
	p := req.params
	in := assumeRoleInput{
		roleARN:        p.Get("RoleArn"),
		sessionName:    p.Get("RoleSessionName"),
		externalID:     p.Get("ExternalId"),
		policy:         p.Get("Policy"),
		sourceIdentity: p.Get("SourceIdentity"),
	}
	var v validation
	v.length("roleArn", in.roleARN, p.Has("RoleArn"), 20, 2048, true)
	v.length("roleSessionName", in.sessionName, p.Has("RoleSessionName"), 2, 64, true)
	if !sessionNamePattern.MatchString(in.sessionName) {
		v.add("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", in.sessionName)
	}
	if p.Has("ExternalId") {
		// The external ID is a shared secret of sorts: never echoed.
		v.length("externalId", in.externalID, true, 2, 1224, false)
		if !externalIDPattern.MatchString(in.externalID) {
			v.add("Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
		}
	}
	if p.Has("SourceIdentity") {
		v.length("sourceIdentity", in.sourceIdentity, true, 2, 64, true)
		if !sessionNamePattern.MatchString(in.sourceIdentity) {
			v.add("Value '%s' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", in.sourceIdentity)
		}
	}
	in.duration, in.policyARNs = sessionParams(&v, p, in.policy)
	keys := members(p, "Tags.member.%d.Key")
	if len(keys) > 50 {
		v.add("Value '[...]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	in.tags = make(map[string]string, len(keys))
	for i, k := range keys {
		val := p.Get(fmt.Sprintf("Tags.member.%d.Value", i+1))
		v.length(fmt.Sprintf("tags.%d.member.key", i+1), k, true, 1, 128, true)
		v.length(fmt.Sprintf("tags.%d.member.value", i+1), val, true, 0, 256, true)
		if !tagPattern.MatchString(k) || !tagPattern.MatchString(val) {
			v.add("Value '%s' at 'tags.%d.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", k, i+1)
		}
		in.tags[k] = val
	}
	in.transitive = members(p, "TransitiveTagKeys.member.%d")
	if len(in.transitive) > 50 {
		v.add("Value '[...]' at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	return in, v.err()
}

// sessionParams validates the parameters that AssumeRole shares with
// AssumeRoleWithWebIdentity (DurationSeconds, Policy, PolicyArns) and
// returns the duration (default 1h) and the policy ARNs.
func sessionParams(v *validation, p url.Values, policy string) (time.Duration, []string) {
	duration := time.Hour
	if p.Has("DurationSeconds") {
		n, err := strconv.Atoi(p.Get("DurationSeconds"))
		switch {
		case err != nil:
			v.add("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", p.Get("DurationSeconds"))
		case n < 900:
			v.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n)
		case n > 43200:
			v.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", n)
		default:
			duration = time.Duration(n) * time.Second
		}
	}
	if p.Has("Policy") {
		v.length("policy", policy, true, 1, maxPolicyPlaintext, false)
		if policy != "" && !policyCharset.MatchString(policy) {
			v.add("Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
		}
	}
	arns := members(p, "PolicyArns.member.%d.arn")
	for i, arn := range arns {
		v.length(fmt.Sprintf("policyArns.%d.member.arn", i+1), arn, true, 20, 2048, true)
	}
	if len(arns) > 10 {
		v.add("Value '[...]' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	return duration, arns
}

// members returns the values of a Query protocol list, format having one
// %d for the 1-based index.
func members(p url.Values, format string) []string {
	var out []string
	for i := 1; ; i++ {
		vs, ok := p[fmt.Sprintf(format, i)]
		if !ok || len(vs) == 0 {
			return out
		}
		out = append(out, strings.Clone(vs[0]))
	}
}

type assumeRoleResponse struct {
	XMLName          xml.Name         `xml:"AssumeRoleResponse"`
	Xmlns            string           `xml:"xmlns,attr"`
	Result           assumeRoleResult `xml:"AssumeRoleResult"`
	ResponseMetadata responseMetadata `xml:"ResponseMetadata"`
}

type assumeRoleResult struct {
	Credentials      xmlCredentials     `xml:"Credentials"`
	AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int               `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string             `xml:"SourceIdentity,omitempty"`
}
