package provider

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Limits of the AssumeRoleWithWebIdentity parameters, from the STS API
// reference.
const (
	// minDuration and maxDuration bound a non-zero Options.Duration.
	minDuration = 15 * time.Minute
	maxDuration = 12 * time.Hour
	// maxPolicyLen is the plaintext budget, in characters, that the inline
	// policy and the managed policy ARNs share.
	maxPolicyLen = 2048
	// maxPolicyARNs is the most managed session policies STS accepts.
	maxPolicyARNs = 10

	minARNLen, maxARNLen       = 20, 2048
	minSessionLen, maxSessLen  = 2, 64
	minProviderLen, maxProvLen = 4, 2048
	minTokenLen, maxTokenLen   = 4, 20000
	maxShownValue              = 80
	maxMinTokenSize            = 4096
)

// awsPartitions are the partitions whose role ARNs must have the IAM shape
// arn:<partition>:iam::<12 digits>:role/<path><name>. Any other partition
// (MinIO's "minio", ...) is an STS-compatible server with its own shapes.
var awsPartitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

// validator collects every [ValidationError] of one call.
type validator struct {
	errs []error
	// customEndpoint, when set, reports whether the STS client sends to an
	// endpoint outside AWS, where a role ARN may have no account (Ceph RGW).
	// It is called only for such an ARN. Nil means an AWS endpoint.
	customEndpoint func() bool
}

func (v *validator) add(field, value, rule string, args ...any) {
	e := &ValidationError{Field: field, Value: shorten(value), Rule: fmt.Sprintf(rule, args...)}
	if looksSecret(value) {
		e.Value = ""
		e.Rule += " (value not shown: it looks like a token or a key)"
	}
	v.errs = append(v.errs, e)
}

// jwtLike matches the start of a JWT: a base64url-encoded JSON header
// ("eyJ" is `{"`) followed by a dot.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.`)

// minSecretRun is the shortest run of base64 characters that
// [looksSecret] takes for a key: an AWS secret access key has 40.
const minSecretRun = 40

// looksSecret reports whether s may hold a credential put in the wrong
// field: a JWT, or a run of at least 40 base64 characters that mixes upper
// and lower case and digits, like a secret access key or a session token.
// Such a value is never echoed in a [ValidationError].
func looksSecret(s string) bool {
	if jwtLike.MatchString(s) {
		return true
	}
	run, upper, lower, digit := 0, false, false, false
	for i := 0; i <= len(s); i++ {
		var c byte
		if i < len(s) {
			c = s[i]
		}
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		case c == '+' || c == '/' || c == '=':
		default:
			if run >= minSecretRun && upper && lower && digit {
				return true
			}
			run, upper, lower, digit = 0, false, false, false
			continue
		}
		run++
	}
	return false
}

// validate checks every input of [New] and fills the defaults of o. It
// returns nil, one *ValidationError, or several joined.
func validate(client STSClient, roleARN string, src any, o *Options) []error {
	v := validator{customEndpoint: func() bool { return isCustomEndpoint(endpointOf(client)) }}
	if isNil(client) {
		v.add("client", "", "must not be nil")
	}
	if isNil(src) {
		v.add("src", "", "must not be nil (the token source)")
	}
	v.roleARN("roleARN", roleARN)
	if o.RoleSessionName != "" {
		v.sessionName("Options.RoleSessionName", o.RoleSessionName)
	}
	v.duration(o.Duration)
	v.policy(o.Policy, o.PolicyARNs)
	if o.ProviderID != "" {
		v.providerID(o.ProviderID)
	}
	if n := o.MinimumSessionTokenSize; n < 0 || n > maxMinTokenSize {
		v.add("Options.MinimumSessionTokenSize", fmt.Sprint(n), "must be 0 (unchanged) to %d bytes", maxMinTokenSize)
	}
	v.retry(o)
	return v.errs
}

// roleARN checks the IAM role ARN shape for AWS partitions and the generic
// ARN shape for any other partition. An ARN of an AWS partition without an
// account (arn:aws:iam:::role/<name>, as Ceph RGW names roles) is accepted
// only when v.customEndpoint reports an endpoint outside AWS.
func (v *validator) roleARN(field, s string) {
	if s == "" {
		v.add(field, "", "must not be empty")
		return
	}
	parts, ok := v.arn(field, s)
	if !ok || !awsPartitions[parts[1]] {
		return
	}
	const shape = "must be arn:%s:iam::<12-digit account>:role/<path><name>"
	if parts[2] != "iam" || parts[3] != "" || (parts[4] != "" && !isAccount(parts[4])) || !strings.HasPrefix(parts[5], "role/") {
		v.add(field, s, shape, parts[1])
		return
	}
	if parts[4] == "" && (v.customEndpoint == nil || !v.customEndpoint()) {
		v.add(field, s, shape+"; a role ARN without an account (Ceph RGW's arn:aws:iam:::role/<name>) needs an STS endpoint outside AWS"+
			" (AWS_ENDPOINT_URL_STS, endpoint_url in the shared config, or the client's BaseEndpoint), and the client's endpoint is AWS's", parts[1])
		return
	}
	if rule := iamResource(strings.TrimPrefix(parts[5], "role/"), 64); rule != "" {
		v.add(field, s, "role %s", rule)
	}
}

// policyARN checks a managed policy ARN: arn:<partition>:iam::<account or
// "aws">:policy/<path><name> for AWS partitions, the generic shape otherwise.
func (v *validator) policyARN(field, s string) {
	parts, ok := v.arn(field, s)
	if !ok || !awsPartitions[parts[1]] {
		return
	}
	const shape = "must be arn:%s:iam::<12-digit account or \"aws\">:policy/<path><name>"
	if parts[2] != "iam" || parts[3] != "" || !(isAccount(parts[4]) || parts[4] == "aws") || !strings.HasPrefix(parts[5], "policy/") {
		v.add(field, s, shape, parts[1])
		return
	}
	if rule := iamResource(strings.TrimPrefix(parts[5], "policy/"), 128); rule != "" {
		v.add(field, s, "policy %s", rule)
	}
}

// arn checks the generic shape arn:<partition>:<service>:<region>:<account>:<resource>
// with a non-empty partition, service and resource, and returns the six
// parts.
func (v *validator) arn(field, s string) ([]string, bool) {
	if n := len(s); n < minARNLen || n > maxARNLen {
		v.add(field, s, "must be %d to %d characters long, not %d", minARNLen, maxARNLen, n)
		return nil, false
	}
	for i, r := range s {
		if r <= ' ' || r == 0x7f || !utf8.ValidRune(r) || r == utf8.RuneError {
			v.add(field, s, "must not contain whitespace or control characters (offset %d)", i)
			return nil, false
		}
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		v.add(field, s, "must be an ARN: arn:<partition>:<service>:<region>:<account>:<resource>")
		return nil, false
	}
	if jwtLike.MatchString(s) {
		// The generic shape would take arn:x:y:::<token>; an accepted ARN
		// is printed (Provider.String, errors), a token must never be.
		v.add(field, s, "must not contain a web identity token")
		return nil, false
	}
	return parts, true
}

// iamResource checks "<path><name>" of an IAM role or policy ARN: the path
// is "/" or "/…/" of printable ASCII, the name 1 to maxName characters of
// [\w+=,.@-] (64 for roles, 128 for policies). It returns the broken rule,
// or "".
func iamResource(s string, maxName int) string {
	name := s
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		name = s[i+1:]
		for _, r := range s[:i+1] {
			if r < '!' || r > '~' {
				return "path must be printable ASCII"
			}
		}
	}
	if name == "" {
		return "name must not be empty"
	}
	if len(name) > maxName {
		return fmt.Sprintf("name must be at most %d characters", maxName)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return !isSessionRune(r) }); i >= 0 {
		return fmt.Sprintf("name may contain only letters, digits and +=,.@_- (offset %d)", i)
	}
	return ""
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isSessionRune reports whether r is in [\w+=,.@-], the character set of
// role session names and IAM names.
func isSessionRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_+=,.@-", r)
}

// sessionName checks a role session name: 2 to 64 characters of [\w+=,.@-].
func (v *validator) sessionName(field, s string) {
	if n := len(s); n < minSessionLen || n > maxSessLen {
		v.add(field, s, "must be %d to %d characters long, not %d", minSessionLen, maxSessLen, n)
		return
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !isSessionRune(r) }); i >= 0 {
		v.add(field, s, "may contain only letters, digits and +=,.@_- (offset %d)", i)
		return
	}
	if jwtLike.MatchString(s) {
		// A short JWT fits the charset; the session name is printed and
		// written to CloudTrail, a token must never be.
		v.add(field, s, "must not contain a web identity token")
	}
}

func (v *validator) duration(d time.Duration) {
	if d == 0 {
		return
	}
	if d < minDuration || d > maxDuration {
		v.add("Options.Duration", d.String(), "must be 0 (the STS default) or between %s and %s", minDuration, maxDuration)
	}
}

// policy checks the inline policy, the policy ARNs, and the 2,048-character
// plaintext budget they share.
func (v *validator) policy(policy string, arns []string) {
	n := utf8.RuneCountInString(policy)
	if policy != "" {
		switch {
		case !utf8.ValidString(policy):
			v.add("Options.Policy", "", "must be valid UTF-8")
		case n > maxPolicyLen:
			v.add("Options.Policy", "", "must be at most %d characters, not %d", maxPolicyLen, n)
		default:
			if i, r, bad := badPolicyRune(policy); bad {
				v.add("Options.Policy", "", "may contain only \\u0020-\\u00FF, tab, LF and CR, not %U (offset %d)", r, i)
			} else if !json.Valid([]byte(policy)) {
				v.add("Options.Policy", "", "must be a JSON policy document")
			} else if kind := jsonKind(policy); kind != "an object" {
				v.add("Options.Policy", "", "must be a JSON object (a policy document such as {\"Version\":\"2012-10-17\",\"Statement\":[...]}), not %s", kind)
			}
		}
	}
	if len(arns) > maxPolicyARNs {
		v.add("Options.PolicyARNs", "", "must hold at most %d ARNs, not %d", maxPolicyARNs, len(arns))
	}
	total := n
	for i, a := range arns {
		field := fmt.Sprintf("Options.PolicyARNs[%d]", i)
		if a == "" {
			v.add(field, "", "must not be empty")
			continue
		}
		v.policyARN(field, a)
		total += utf8.RuneCountInString(a)
	}
	if total > maxPolicyLen && n <= maxPolicyLen && len(arns) > 0 {
		v.add("Options.Policy+Options.PolicyARNs", "", "the inline policy (%d characters) and the policy ARNs (%d characters) share a plaintext budget of %d characters", n, total-n, maxPolicyLen)
	}
}

// jsonKind names the kind of the top-level value of s, which must be valid
// JSON: "an object", "an array", "a string", "a number", "a boolean" or
// "null". Only an object is a policy document; STS would answer any other
// value with MalformedPolicyDocument.
func jsonKind(s string) string {
	s = strings.TrimLeft(s, " \t\r\n") // JSON's whitespace (RFC 8259 §2)
	if s == "" {
		return "empty"
	}
	switch s[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func badPolicyRune(s string) (int, rune, bool) {
	for i, r := range s {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xff) {
			continue
		}
		return i, r, true
	}
	return 0, 0, false
}

// providerID checks that s is a bare host name: no scheme, port, path,
// user or query; dot-separated labels of letters, digits and hyphens.
func (v *validator) providerID(s string) {
	const field = "Options.ProviderID"
	switch {
	case strings.Contains(s, "://"):
		v.add(field, s, "must be a bare host name such as www.amazon.com, without a scheme")
		return
	case strings.ContainsAny(s, "/?#"):
		v.add(field, s, "must be a bare host name such as www.amazon.com, without a path")
		return
	case strings.Contains(s, ":"):
		v.add(field, s, "must be a bare host name such as www.amazon.com, without a port")
		return
	case len(s) < minProviderLen || len(s) > maxProvLen:
		v.add(field, s, "must be %d to %d characters long, not %d", minProviderLen, maxProvLen, len(s))
		return
	}
	for _, label := range strings.Split(s, ".") {
		if !isHostLabel(label) {
			v.add(field, s, "must be a host name: dot-separated labels of letters, digits and inner hyphens")
			return
		}
	}
}

func isHostLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// retry checks the retry options and fills in their defaults.
func (v *validator) retry(o *Options) {
	switch {
	case o.MaxAttempts == 0:
		o.MaxAttempts = defaultMaxAttempts
	case o.MaxAttempts < 0 || o.MaxAttempts > maxMaxAttempts:
		v.add("Options.MaxAttempts", fmt.Sprint(o.MaxAttempts), "must be 0 (the default, %d) or 1 to %d", defaultMaxAttempts, maxMaxAttempts)
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = defaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(defaultMaxBackoff, o.MinBackoff)
	}
	switch {
	case o.MinBackoff < 0 || o.MinBackoff > maxBackoffLimit:
		v.add("Options.MinBackoff", o.MinBackoff.String(), "must be 0 (the default, %s) or up to %s", defaultMinBackoff, maxBackoffLimit)
	case o.MaxBackoff < 0 || o.MaxBackoff > maxBackoffLimit:
		v.add("Options.MaxBackoff", o.MaxBackoff.String(), "must be 0 (the default, %s) or up to %s", defaultMaxBackoff, maxBackoffLimit)
	case o.MaxBackoff < o.MinBackoff:
		v.add("Options.MaxBackoff", o.MaxBackoff.String(), "must not be less than Options.MinBackoff (%s)", o.MinBackoff)
	}
}

// checkToken checks the token the source returned, without ever showing it.
func checkToken(value string) error {
	switch n := len(value); {
	case n == 0:
		return &ValidationError{Field: "WebIdentityToken", Rule: "the token source returned an empty token"}
	case n < minTokenLen || n > maxTokenLen:
		return &ValidationError{Field: "WebIdentityToken", Rule: fmt.Sprintf("must be %d to %d characters long, not %d", minTokenLen, maxTokenLen, n)}
	}
	return nil
}

// shorten keeps long values readable in error messages.
func shorten(s string) string {
	if len(s) <= maxShownValue {
		return s
	}
	cut := maxShownValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// isNil reports whether x is nil or an interface holding a nil pointer,
// func, map, slice or channel.
func isNil(x any) bool {
	if x == nil {
		return true
	}
	switch rv := reflect.ValueOf(x); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// awsDNSSuffixes are the DNS suffixes of the AWS partitions' endpoints,
// IPv4 and dual-stack, from the SDK's partitions.json. A host under none of
// them is an STS-compatible server (Ceph RGW, MinIO, LocalStack, ststest).
var awsDNSSuffixes = []string{
	"amazonaws.com", "amazonaws.com.cn", "amazonaws.eu",
	"c2s.ic.gov", "sc2s.sgov.gov", "cloud.adc-e.uk", "csp.hci.ic.gov",
	"api.aws", "api.amazonwebservices.com.cn", "api.amazonwebservices.eu",
	"api.aws.ic.gov", "api.aws.hci.ic.gov", "api.aws.scloud", "api.cloud-aws.adc-e.uk",
}

// endpointOf returns the base endpoint of client when it tells it, as
// *sts.Client does through Options (with AWS_ENDPOINT_URL_STS, the shared
// config's endpoint_url and services sections already resolved when it was
// built by sts.NewFromConfig from config.LoadDefaultConfig), else "".
func endpointOf(client STSClient) string {
	if isNil(client) {
		return ""
	}
	c, ok := client.(interface{ Options() sts.Options })
	if !ok {
		return ""
	}
	return aws.ToString(c.Options().BaseEndpoint)
}

// isCustomEndpoint reports whether endpoint is a URL whose host is outside
// every AWS partition's DNS suffixes.
func isCustomEndpoint(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() == "" {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, suffix := range awsDNSSuffixes {
		if host == suffix || strings.HasSuffix(host, "."+suffix) {
			return false
		}
	}
	return true
}
