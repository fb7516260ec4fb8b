package provider

import (
	"regexp"
	"strings"

	"github.com/awsoidc/awsoidc/internal/jwt"
)

// fallbackSessionName is the session name of last resort, used when neither
// the token's subject nor the host name gives a usable one.
const fallbackSessionName = "awsoidc"

// workloadSubjects are the "sub" formats that name a workload, not a
// person, and so may name the session. STS writes the session name to
// CloudTrail and advises against personal data there, and a subject that
// matches none of them may be a person's: an email address, or an opaque
// user ID (Google's and Okta's numeric or random IDs, a Dex subject) that
// CloudTrail readers could link to someone. Each pattern is the issuer's
// default format, anchored, with no room for extra claims: a customized
// format that may append a user's login (GitHub's and GitLab's subject
// customization can) matches none.
var workloadSubjects = []struct {
	name string
	re   *regexp.Regexp
}{
	// A Kubernetes service account token (the projected token of IRSA, or
	// of any cluster): system:serviceaccount:<namespace>:<name>, the
	// namespace an RFC 1123 label, the name an RFC 1123 subdomain.
	{"Kubernetes service account", regexp.MustCompile(`^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)},
	// GitHub Actions' default subjects: repo:<owner>/<repo>: then
	// ref:refs/heads/<branch> (or refs/tags/..., refs/pull/...),
	// environment:<name>, or pull_request.
	{"GitHub Actions", regexp.MustCompile(`^repo:[A-Za-z0-9-]+/[A-Za-z0-9._-]+:(ref:refs/[^:]+|environment:[^:]+|pull_request)$`)},
	// GitLab CI/CD ID tokens' default subject:
	// project_path:<group>/<project>:ref_type:<branch|tag>:ref:<ref>, with
	// subgroups in the path.
	{"GitLab CI/CD", regexp.MustCompile(`^project_path:[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+:ref_type:(branch|tag):ref:[^:]+$`)},
	// HCP Terraform and Terraform Enterprise workload identity tokens
	// (dynamic provider credentials):
	// organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>.
	{"HCP Terraform", regexp.MustCompile(`^organization:[^:]+:project:[^:]+:workspace:[^:]+:run_phase:(plan|apply)$`)},
	// Buildkite agent OIDC tokens:
	// organization:<org>:pipeline:<pipeline>:ref:<ref>:commit:<sha>:step:<key>.
	{"Buildkite", regexp.MustCompile(`^organization:[^:]+:pipeline:[^:]+:ref:[^:]+:commit:[^:]+:step:[^:]*$`)},
	// A SPIFFE ID, the subject of a JWT-SVID (SPIRE):
	// spiffe://<trust domain>/<path>, with the SPIFFE specification's
	// character sets; SPIFFE IDs name workloads by definition.
	{"SPIFFE", regexp.MustCompile(`^spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)+$`)},
}

// defaultSessionName returns the role session name used when
// Options.RoleSessionName is empty. STS records the session name in
// CloudTrail, so it should say which workload asked, not when (the SDK's
// stscreds uses a timestamp), and must not be personal data, which STS
// advises against in CloudTrail:
//
//  1. the token's "sub" claim (read without verifying the token), only when
//     it is a known workload identity in the issuer's default format: a
//     Kubernetes service account (system:serviceaccount:<ns>:<name>,
//     becoming "system-serviceaccount-<ns>-<name>"), GitHub Actions
//     (repo:<owner>/<repo>:ref:..., :environment:..., :pull_request),
//     GitLab CI/CD (project_path:<group>/<project>:ref_type:...:ref:...),
//     HCP Terraform (organization:...:workspace:...:run_phase:...),
//     Buildkite (organization:...:pipeline:...:step:...) or a SPIFFE ID
//     (spiffe://<trust domain>/<path>), and holds no '@'. Any other subject,
//     an email address, a user ID of Google, Okta, Entra ID or Dex, or a
//     customized CI format, may identify a person and is never used;
//  2. else hostname;
//  3. else fallbackSessionName.
//
// The result is sanitized to [\w+=,.@-] (other characters become '-') and
// cut to 64 characters; candidates shorter than 2 characters are skipped.
// Set Options.RoleSessionName (or AWS_ROLE_SESSION_NAME) to name sessions
// otherwise.
func defaultSessionName(token, hostname string) string {
	if sub := subjectClaim(token); workloadSubject(sub) {
		if s := sanitizeSessionName(sub); s != "" {
			return s
		}
	}
	if s := sanitizeSessionName(hostname); s != "" {
		return s
	}
	return fallbackSessionName
}

// workloadSubject reports whether sub is a workload identity in one of the
// [workloadSubjects] formats. A subject that holds an email address, plain
// or percent-encoded, is refused even then: a branch or environment name
// may hold one.
func workloadSubject(sub string) bool {
	if sub == "" || strings.Contains(sub, "@") || strings.Contains(strings.ToLower(sub), "%40") {
		return false
	}
	for _, w := range workloadSubjects {
		if w.re.MatchString(sub) {
			return true
		}
	}
	return false
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
	var claims struct {
		Sub any `json:"sub"`
	}
	if jwt.Claims(token, &claims) != nil {
		return ""
	}
	sub, _ := claims.Sub.(string)
	return sub
}
