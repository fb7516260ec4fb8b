package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/awsoidc/awsoidc/internal/redact"
	"github.com/awsoidc/awsoidc/tokensource"
)

// ValidationError reports an input that [New] or [Provider.Retrieve] refused
// before any request reached STS. Field names the input ("roleARN",
// "Options.Duration", "WebIdentityToken", ...), Rule says what it must be.
//
// When several inputs are bad, New returns every ValidationError joined with
// [errors.Join]; errors.As finds the first.
type ValidationError struct {
	// Field is the name of the refused input.
	Field string
	// Value is the refused value, shortened when long; empty when the value
	// is empty or must not be shown (a token is never shown).
	Value string
	// Rule is what the value must be.
	Rule string
}

// Error returns "provider: invalid <Field> <Value>: <Rule>".
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("provider: invalid %s: %s", e.Field, e.Rule)
	}
	return fmt.Sprintf("provider: invalid %s %q: %s", e.Field, e.Value, e.Rule)
}

// Class is the classification of a failed Retrieve: what the caller can do
// about it. See [RetrieveError] and [IsRetryable].
type Class string

const (
	// ClassInvalidInput means an input is invalid (a [ValidationError]):
	// nothing was sent. Fix the configuration.
	ClassInvalidInput Class = "invalid-input"
	// ClassTokenSource means the token source failed, for the first token
	// (nothing was sent) or for the fresh one after ExpiredTokenException
	// or InvalidIdentityToken; a failure the source marks retryable was
	// retried first, and [IsRetryable] reports it.
	ClassTokenSource Class = "token-source"
	// ClassTransient means IDPCommunicationError, an InvalidIdentityToken
	// saying "Couldn't retrieve verification key" (STS could not fetch the
	// identity provider's JWKS), throttling, a 5xx answer, an unreadable
	// answer or a transport error, still failing after the provider's
	// retries. Trying again later may succeed.
	ClassTransient Class = "transient"
	// ClassTokenRejected means ExpiredTokenException or InvalidIdentityToken
	// (other than the transient "Couldn't retrieve verification key"), still
	// returned after one retry with a fresh token from the source.
	ClassTokenRejected Class = "token-rejected"
	// ClassPermanent means STS refused the request for a reason that
	// retrying does not change (IDPRejectedClaim, AccessDenied,
	// MalformedPolicyDocument, PackedPolicyTooLarge, RegionDisabled,
	// ValidationError, or any code the provider does not know).
	ClassPermanent Class = "permanent"
	// ClassCanceled means the caller's context ended first.
	ClassCanceled Class = "canceled"
)

// RetrieveError is the error of a failed [Provider.Retrieve]. It wraps the
// cause with %w, so the SDK's typed errors (types.IDPRejectedClaimException,
// smithy.APIError, ...) and [ValidationError] stay reachable with
// [errors.As]. Its message never contains the token.
type RetrieveError struct {
	// Class says what the caller can do about the failure.
	Class Class
	// Code is the STS error code ("IDPRejectedClaim", "Throttling", ...), or
	// empty when the failure has none (transport error, token source).
	Code string
	// RoleARN is the role that was to be assumed.
	RoleARN string
	// Attempts is the number of requests sent to STS.
	Attempts int
	// TokenRefreshed reports whether a fresh token was fetched after
	// ExpiredTokenException or InvalidIdentityToken.
	TokenRefreshed bool
	// PackedPolicyPercent is the share of the packed policy limit the
	// session policies and tags used, from PackedPolicyTooLarge; 0 when
	// unknown.
	PackedPolicyPercent int
	// Err is the cause.
	Err error

	token redact.Secret // scrubbed from messages, in case a server echoes it
}

// Error describes the failure, its class and, where one helps, what to do.
func (e *RetrieveError) Error() string {
	var b strings.Builder
	b.WriteString("provider: ")
	if e.RoleARN != "" {
		b.WriteString("assume role ")
		b.WriteString(e.RoleARN)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "provider: "))
	} else {
		b.WriteString("failed")
	}
	fmt.Fprintf(&b, " [%s", e.Class)
	if e.Attempts > 0 {
		fmt.Fprintf(&b, ", %d STS %s", e.Attempts, plural(e.Attempts, "request", "requests"))
	}
	if e.TokenRefreshed {
		b.WriteString(", token refreshed once")
	}
	b.WriteString("]")
	if h := e.hint(); h != "" {
		b.WriteString(": ")
		b.WriteString(h)
	}
	return scrub(b.String(), e.token.Reveal())
}

// Format implements [fmt.Formatter] for RetrieveError values and pointers
// alike: %#v prints [RetrieveError.GoString], every other verb the message,
// so that no verb prints the cause unscrubbed.
func (e RetrieveError) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(e.GoString()))
		return
	}
	_, _ = f.Write([]byte(e.Error()))
}

// MarshalJSON encodes the fields and the scrubbed message, for values and
// pointers alike. Without it encoding/json, and so slog's JSON handler given
// a struct that holds the error (a cache.RefreshEvent, say), would walk into
// the cause's fields, where a server may have quoted the token.
func (e RetrieveError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Class               Class
		Code                string `json:",omitempty"`
		RoleARN             string `json:",omitempty"`
		Attempts            int
		TokenRefreshed      bool
		PackedPolicyPercent int `json:",omitempty"`
		Error               string
	}{e.Class, e.Code, e.RoleARN, e.Attempts, e.TokenRefreshed, e.PackedPolicyPercent, e.Error()})
}

// GoString keeps %#v as safe as %v.
func (e *RetrieveError) GoString() string {
	return fmt.Sprintf("&provider.RetrieveError{Class:%q, Code:%q, RoleARN:%q, Attempts:%d, TokenRefreshed:%t, PackedPolicyPercent:%d, Err:%q}",
		e.Class, e.Code, e.RoleARN, e.Attempts, e.TokenRefreshed, e.PackedPolicyPercent, e.errText())
}

func (e *RetrieveError) errText() string {
	if e.Err == nil {
		return ""
	}
	return scrub(e.Err.Error(), e.token.Reveal())
}

// Unwrap returns the cause.
func (e *RetrieveError) Unwrap() error { return e.Err }

func (e *RetrieveError) hint() string {
	switch e.Code {
	case "IDPCommunicationError":
		return "STS could not reach the identity provider (its discovery document or JWKS); check the issuer is reachable from AWS"
	case "IDPRejectedClaim":
		return "the role's trust policy rejected the token's claims; compare its conditions (aud, sub, amr) with the token"
	case "InvalidIdentityToken":
		if e.Class == ClassTransient {
			return "STS could not retrieve the identity provider's verification key (the JWKS its discovery document names), an outage rather than a bad token; check the issuer's discovery document and jwks_uri are reachable from AWS, then retry later"
		}
		return "STS could not verify the token; check the IAM OIDC provider's issuer URL, audience and signing keys match the token"
	case "ExpiredTokenException", "ExpiredToken":
		return "the token source keeps returning an expired token; check that it is refreshed (e.g. the projected token file is rotated)"
	case "AccessDenied", "AccessDeniedException":
		return "check that the role's trust policy allows sts:AssumeRoleWithWebIdentity for this identity provider, audience and subject"
	case "RegionDisabled", "RegionDisabledException":
		return "activate STS for this region in the IAM account settings, or use another region"
	case "MalformedPolicyDocument":
		return "fix Options.Policy or Options.PolicyARNs"
	case "PackedPolicyTooLarge":
		if e.PackedPolicyPercent > 0 {
			return fmt.Sprintf("session policies and tags use %d%% of the packed size limit; shorten Options.Policy or use fewer Options.PolicyARNs", e.PackedPolicyPercent)
		}
		return "session policies and tags exceed the packed size limit; shorten Options.Policy or use fewer Options.PolicyARNs"
	case "ValidationError":
		return "STS refused a parameter; check Options.Duration against the role's maximum session duration"
	}
	switch e.Class {
	case ClassTransient:
		return "transient failure, retry later"
	case ClassTokenSource:
		return tokenSourceHint(e.Err)
	case ClassCanceled:
		var te *tokensource.Error
		if errors.Is(e.Err, context.DeadlineExceeded) && (e.Attempts == 0 || errors.As(e.Err, &te)) {
			return "the deadline passed before the token source answered (the caller's, or a cache's refresh timeout); the token source or its endpoint may be slow or hanging, see its error"
		}
		if errors.Is(e.Err, context.DeadlineExceeded) {
			return "the deadline passed before STS answered (the caller's, or a cache's refresh timeout); STS, the identity provider or the network may be slow, retry later"
		}
	}
	return ""
}

// tokenSourceHint says what to check when the token source failed.
func tokenSourceHint(err error) string {
	var te *tokensource.Error
	if errors.As(err, &te) {
		switch te.Source {
		case "file":
			return "check that the web identity token file exists, is a readable regular file and holds one token (for IRSA: AWS_WEB_IDENTITY_TOKEN_FILE and the projected service account token volume)"
		case "env":
			return "set the environment variable to the web identity token"
		case "github-actions":
			var se *tokensource.StatusError
			denied := errors.As(err, &se) && (se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden)
			if !denied && !errors.Is(err, tokensource.ErrEmpty) {
				return "the token request to GitHub (ACTIONS_ID_TOKEN_REQUEST_URL) failed; see its error"
			}
			return "grant the job the permission id-token: write (permissions: id-token: write in the workflow or the job): the runner sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN only then, and a pull request from a fork never gets them"
		case "gcp":
			return "check that the workload runs on Google Cloud with a service account attached (on GKE, Workload Identity Federation for GKE enabled and the Kubernetes service account allowed to use it) and that the metadata server (169.254.169.254, or GCE_METADATA_HOST) is reachable"
		case "azure":
			return "check that the workload has a managed identity (system-assigned, or the user-assigned one AZURE_CLIENT_ID names) and that IMDS (169.254.169.254) answers, or on App Service, Functions and Container Apps that IDENTITY_ENDPOINT and IDENTITY_HEADER are set; on AKS, workload identity is the file AZURE_FEDERATED_TOKEN_FILE"
		case "exec":
			return "run the command by hand with the same arguments, environment and user: it must exit 0 within the timeout and print one token (or JSON holding one) on stdout"
		case "spiffe":
			return "check that the SPIFFE Workload API answers at SPIFFE_ENDPOINT_SOCKET (or the address given) and that a registration entry matches this workload (SPIRE: spire-server entry show)"
		case "detect":
			return "no ambient token source was found (GitHub Actions with id-token: write, a Kubernetes projected token, Azure, Google Cloud); run where one is, or choose a source explicitly"
		}
	}
	return "the token source failed: see its error"
}

// IsRetryable reports whether err, from [Provider.Retrieve],
// [AssumeRole.Retrieve] or the STS client itself, is transient:
// IDPCommunicationError, an InvalidIdentityToken saying "Couldn't retrieve
// verification key", throttling, a 5xx answer, an unreadable answer or a
// transport error; a token source's failure that the source marks
// retryable (a 408, 429 or 5xx answer, a refused or reset connection, a
// timeout); for a hop, an ExpiredToken (its base credentials
// expired on the way). Trying again later may succeed. It is false for
// nil, for a canceled context, for invalid input and for every refusal by
// STS.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var re *RetrieveError
	if errors.As(err, &re) {
		return re.Class == ClassTransient || re.Class == ClassTokenSource && sourceRetryable(re.Err)
	}
	var he *HopError
	if errors.As(err, &he) {
		return he.Class == ClassTransient
	}
	c, _ := classify(err)
	return c == ClassTransient
}

var percentRE = regexp.MustCompile(`(\d+)\s*%`)

// packedPercent extracts the percentage from a PackedPolicyTooLarge message
// such as "Packed policy consumes 107% of allotted space".
func packedPercent(msg string) int {
	m := percentRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return n
}

// scrub replaces secret in s, in every form a server may quote it (see
// redact.Scrub).
func scrub(s, secret string) string { return redact.Scrub(s, secret) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
