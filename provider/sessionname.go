package provider

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// FallbackSessionName is the session name of last resort, used when neither
// the token's subject nor the host name gives a usable one.
const FallbackSessionName = "awsoidc"

// DefaultSessionName returns the role session name used when
// Options.RoleSessionName is empty. STS records the session name in
// CloudTrail, so it should say who asked, not when (the SDK's stscreds uses
// a timestamp):
//
//  1. the token's "sub" claim (read without verifying the token), unless it
//     may be personal data: STS advises against personal data in CloudTrail,
//     so a subject that contains '@' (an email address, or "%40") is never
//     used. A Kubernetes subject such as system:serviceaccount:ns:name is
//     fine and becomes "system-serviceaccount-ns-name";
//  2. else hostname;
//  3. else [FallbackSessionName].
//
// The result is sanitized to [\w+=,.@-] (other characters become '-') and
// cut to 64 characters; candidates shorter than 2 characters are skipped.
func DefaultSessionName(token, hostname string) string {
	if sub := subjectClaim(token); sub != "" && !personal(sub) {
		if s := sanitizeSessionName(sub); s != "" {
			return s
		}
	}
	if s := sanitizeSessionName(hostname); s != "" {
		return s
	}
	return FallbackSessionName
}

// personal reports whether a subject may be personal data: an email address,
// plain or percent-encoded.
func personal(sub string) bool {
	return strings.Contains(sub, "@") || strings.Contains(strings.ToLower(sub), "%40")
}

// sanitizeSessionName maps s onto the session name character set and cuts
// it to 64 characters. It returns "" when fewer than 2 characters remain.
func sanitizeSessionName(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		if b.Len() == maxSessLen {
			break
		}
		if isSessionRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) < minSessionLen {
		return ""
	}
	return out
}

// subjectClaim returns the "sub" claim of a JWT without verifying it, or ""
// when token is not a JWT. STS verifies the token; the subject only names
// the session.
func subjectClaim(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > maxTokenLen {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Sub any `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return ""
	}
	sub, _ := claims.Sub.(string)
	return sub
}
