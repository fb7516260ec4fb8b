package provider

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// HopError is the error of a failed [AssumeRole.Retrieve]: one hop of a
// role chain. It wraps the cause with %w (the SDK's smithy.APIError, or the
// error of the base credentials), so errors.As still reaches it. Its
// message never holds the base credentials' secret key or session token,
// nor the hop's external ID, even when a server quotes them.
type HopError struct {
	// Class says what the caller can do: [ClassTransient] (throttling, 5xx,
	// transport, the base credentials expired in flight), [ClassPermanent]
	// (AccessDenied, ValidationError, MalformedPolicyDocument,
	// PackedPolicyTooLarge, ...), [ClassCanceled], or the class of the base
	// credentials' own failure.
	Class Class
	// Code is the STS error code, or empty.
	Code string
	// RoleARN is the hop's role.
	RoleARN string
	// PackedPolicyPercent is the share of the packed size limit that the
	// session policies and tags used, from PackedPolicyTooLarge; 0 when
	// unknown.
	PackedPolicyPercent int
	// Err is the cause.
	Err error

	secrets []string // scrubbed from every message
}

// Error describes the failure, its class and what to check.
func (e *HopError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provider: hop %s: ", e.RoleARN)
	if e.Err != nil {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "provider: "))
	} else {
		b.WriteString("failed")
	}
	fmt.Fprintf(&b, " [%s]", e.Class)
	if h := e.hint(); h != "" {
		b.WriteString(": ")
		b.WriteString(h)
	}
	return redact.Scrub(b.String(), e.secrets...)
}

// Unwrap returns the cause.
func (e *HopError) Unwrap() error { return e.Err }

// Format prints the message for every verb, %#v included, for values and
// pointers alike, so that no verb prints the cause unscrubbed.
func (e HopError) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.Error())) }

// MarshalJSON encodes the fields and the scrubbed message, for values and
// pointers alike, so that a JSON logger never walks into the cause.
func (e HopError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Class               Class
		Code                string `json:",omitempty"`
		RoleARN             string
		PackedPolicyPercent int `json:",omitempty"`
		Error               string
	}{e.Class, e.Code, e.RoleARN, e.PackedPolicyPercent, e.Error()})
}

func (e *HopError) hint() string {
	switch e.Code {
	case "AccessDenied", "AccessDeniedException":
		return "check that the role's trust policy allows sts:AssumeRole for the previous step's role (and sts:TagSession with tags or inherited transitive tags, sts:SetSourceIdentity with a source identity), and that its sts:ExternalId condition matches Hop.ExternalID"
	case "ValidationError":
		if strings.Contains(e.Err.Error(), "role chaining") {
			return "a role-chained session lasts at most 1 hour: set Hop.Duration to 1h or less"
		}
		return "STS refused a parameter of the hop"
	case "MalformedPolicyDocument":
		return "fix Hop.Policy or Hop.PolicyARNs"
	case "PackedPolicyTooLarge":
		if e.PackedPolicyPercent > 0 {
			return fmt.Sprintf("session policies and tags use %d%% of the packed size limit; shorten Hop.Policy, Hop.PolicyARNs or Hop.Tags", e.PackedPolicyPercent)
		}
		return "session policies and tags exceed the packed size limit; shorten Hop.Policy, Hop.PolicyARNs or Hop.Tags"
	case "ExpiredToken", "InvalidClientTokenId":
		return "STS refused the previous step's credentials (expired or revoked); the next refresh signs with fresh ones"
	case "RegionDisabledException":
		return "activate STS for this region in the IAM account settings, or use another region"
	}
	if e.Class == ClassTransient {
		return "transient failure, retry later"
	}
	return ""
}
