package provider

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of AssumeRole's parameters that AssumeRoleWithWebIdentity does not
// have, from the STS API reference.
const (
	// maxChainedDuration is STS's cap on a role-chained session. Every hop
	// is one: it calls AssumeRole with a role session's credentials.
	maxChainedDuration = time.Hour
	maxTags            = 50
	maxTagKeyLen       = 128
	maxTagValueLen     = 256
	minExternalIDLen   = 2
	maxExternalIDLen   = 1224
	minSourceIDLen     = 2
	maxSourceIDLen     = 64
)

var (
	externalIDChars = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	tagChars        = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// Hop is one AssumeRole of a role chain: the role to assume with the
// credentials of the step before it (the web identity session, or the
// previous hop), and the parameters of that call. See [NewAssumeRole].
type Hop struct {
	// RoleARN is the role to assume. Required.
	RoleARN string
	// RoleSessionName names the session (2 to 64 characters of
	// [\w+=,.@-]). Default "awsoidc".
	RoleSessionName string
	// ExternalID is the sts:ExternalId the role's trust policy requires,
	// as a third party's cross-account role asks for (2 to 1,224
	// characters of [\w+=,.@:/-]). It is never shown: not in an error,
	// nor by fmt (see [Hop.Format]).
	ExternalID string
	// Duration is the session's lifetime: 0 for the STS default (1 h), else
	// 15 min to 1 h. STS caps a role-chained session at 1 h whatever the
	// role's maximum session duration, so a longer one is refused before
	// any call.
	Duration time.Duration
	// Policy is an inline session policy (a JSON document); PolicyARNs are
	// managed session policies. They share a 2,048-character plaintext
	// budget, as for [Options].Policy.
	Policy     string
	PolicyARNs []string
	// Tags are session tags (at most 50; keys of 1 to 128, values of up to
	// 256 characters). The role's trust policy must allow sts:TagSession.
	Tags map[string]string
	// TransitiveTagKeys are keys of Tags that every later hop of the chain
	// carries, unchangeable.
	TransitiveTagKeys []string
	// SourceIdentity is set once for the whole chain (2 to 64 characters
	// of [\w+=,.@-]): STS refuses a later hop that asks for another. The
	// role's trust policy must allow sts:SetSourceIdentity.
	SourceIdentity string
}

// validateHop checks every field of h and of the options a hop refuses;
// the errors' fields are named "Hop.<Field>".
func validateHop(client AssumeRoleClient, base any, h Hop, o Options) []error {
	var v validator
	if isNil(client) {
		v.add("client", "", "must not be nil")
	}
	if isNil(base) {
		v.add("base", "", "must not be nil (the credentials that sign the AssumeRole call)")
	}
	v.roleARN("Hop.RoleARN", h.RoleARN)
	if h.RoleSessionName != "" {
		v.sessionName("Hop.RoleSessionName", h.RoleSessionName)
	}
	if h.ExternalID != "" {
		n := utf8.RuneCountInString(h.ExternalID)
		switch {
		case n < minExternalIDLen || n > maxExternalIDLen:
			v.add("Hop.ExternalID", "", "must be %d to %d characters long, not %d", minExternalIDLen, maxExternalIDLen, n)
		case !externalIDChars.MatchString(h.ExternalID):
			v.add("Hop.ExternalID", "", "may contain only letters, digits and +=,.@:/_-")
		}
	}
	switch d := h.Duration; {
	case d == 0:
	case d > maxChainedDuration:
		v.add("Hop.Duration", d.String(), "must be at most %s: STS caps a role-chained session (AssumeRole with a role session's credentials, as every hop is) at one hour, whatever the role's maximum session duration, and answers a longer one with a ValidationError", maxChainedDuration)
	case d < minDuration:
		v.add("Hop.Duration", d.String(), "must be 0 (the STS default, 1h) or between %s and %s", minDuration, maxChainedDuration)
	}
	var pv validator
	pv.policy(h.Policy, h.PolicyARNs)
	for _, err := range pv.errs {
		if ve, ok := err.(*ValidationError); ok {
			ve.Field = strings.ReplaceAll(ve.Field, "Options.", "Hop.")
		}
		v.errs = append(v.errs, err)
	}
	v.tags(h.Tags, h.TransitiveTagKeys)
	if h.SourceIdentity != "" {
		if n := len(h.SourceIdentity); n < minSourceIDLen || n > maxSourceIDLen {
			v.add("Hop.SourceIdentity", h.SourceIdentity, "must be %d to %d characters long, not %d", minSourceIDLen, maxSourceIDLen, n)
		} else {
			v.sessionName("Hop.SourceIdentity", h.SourceIdentity)
		}
	}
	v.hopOptions(o)
	return v.errs
}

// tags checks session tags and transitive tag keys.
func (v *validator) tags(tags map[string]string, transitive []string) {
	if len(tags) > maxTags {
		v.add("Hop.Tags", "", "must hold at most %d tags, not %d", maxTags, len(tags))
	}
	lower := make(map[string]string, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if other, ok := lower[strings.ToLower(k)]; ok {
			v.add(fmt.Sprintf("Hop.Tags[%q]", k), "", "tag keys are not case sensitive: %q is already a key", other)
		}
		lower[strings.ToLower(k)] = k
	}
	for k, val := range tags {
		field := fmt.Sprintf("Hop.Tags[%q]", k)
		switch {
		case k == "" || utf8.RuneCountInString(k) > maxTagKeyLen:
			v.add(field, "", "the key must be 1 to %d characters long", maxTagKeyLen)
		case utf8.RuneCountInString(val) > maxTagValueLen:
			v.add(field, val, "the value must be at most %d characters long", maxTagValueLen)
		case !tagChars.MatchString(k) || !tagChars.MatchString(val):
			v.add(field, val, "key and value may contain only letters, digits, spaces and _.:/=+-@")
		}
	}
	if len(transitive) > maxTags {
		v.add("Hop.TransitiveTagKeys", "", "must hold at most %d keys, not %d", maxTags, len(transitive))
	}
	for i, k := range transitive {
		if _, ok := tags[k]; !ok {
			v.add(fmt.Sprintf("Hop.TransitiveTagKeys[%d]", i), k, "must be a key of Hop.Tags")
		}
	}
}

// hopOptions refuses the fields of [Options] that set
// AssumeRoleWithWebIdentity's parameters: a hop's are in [Hop].
func (v *validator) hopOptions(o Options) {
	for _, f := range []struct {
		name string
		set  bool
		hop  string
	}{
		{"RoleSessionName", o.RoleSessionName != "", "Hop.RoleSessionName"},
		{"Duration", o.Duration != 0, "Hop.Duration"},
		{"Policy", o.Policy != "", "Hop.Policy"},
		{"PolicyARNs", len(o.PolicyARNs) > 0, "Hop.PolicyARNs"},
		{"ProviderID", o.ProviderID != "", ""},
		{"MinimumSessionTokenSize", o.MinimumSessionTokenSize != 0, ""},
		{"SourceID", o.SourceID != "", "Hop.SourceIdentity"},
	} {
		if !f.set {
			continue
		}
		rule := "applies to AssumeRoleWithWebIdentity only"
		if f.hop != "" {
			rule += "; set " + f.hop + " for a hop"
		}
		v.add("Options."+f.name, "", "%s", rule)
	}
	if o.MaxAttempts < 0 || o.MaxAttempts > maxMaxAttempts {
		v.add("Options.MaxAttempts", fmt.Sprint(o.MaxAttempts), "must be 0 (the STS client's own) to %d", maxMaxAttempts)
	}
}
