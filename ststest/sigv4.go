package ststest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// sigV4Auth is a parsed SigV4 Authorization header.
type sigV4Auth struct {
	accessKeyID   string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     string
}

// parseSigV4 parses
// "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseSigV4(header string) (sigV4Auth, *apiError) {
	var a sigV4Auth
	rest, ok := strings.CutPrefix(header, sigV4Algorithm+" ")
	if !ok {
		return a, newError("IncompleteSignature", "Unsupported authorization type; only "+sigV4Algorithm+" is accepted.")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, newError("IncompleteSignature", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
		}
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return a, newError("IncompleteSignature", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	a.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	a.signature = fields["Signature"]
	return a, nil
}

// regionName matches the shape of every AWS region name: a 2-4 letter
// prefix, one to three lower-case words and a number (us-east-1,
// ap-southeast-5, cn-northwest-1, us-gov-west-1, us-isob-east-1,
// eusc-de-east-1).
var regionName = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]{2,12}){1,3}-[0-9]{1,2}$`)

// validRegion reports whether region may scope a signature: any well-formed
// region name, as each of STS's regional endpoints accepts its own and the
// server stands for all of them, or the server's own [Options.Region]
// (which [Server.Config] signs with, whatever its shape).
func validRegion(region, own string) bool {
	return region == own || regionName.MatchString(region)
}

// verifySigV4 recomputes the signature of r (with body) using secret and
// compares it with the one in a. It requires host and x-amz-date to be
// signed, the service of the scope to be "sts" and its region to be
// well-formed or own (see [validRegion]); the signing key is derived with
// the scope's region, so a signature made for another region than the
// scope names does not match.
func verifySigV4(r *http.Request, body []byte, a sigV4Auth, secret, own string) *apiError {
	mismatch := newError("SignatureDoesNotMatch", "")
	if a.service != "sts" {
		return newError("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'.")
	}
	if !validRegion(a.region, own) {
		return newError("SignatureDoesNotMatch", "Credential should be scoped to a valid region, not '"+a.region+"'.")
	}
	if !sort.StringsAreSorted(a.signedHeaders) {
		return mismatch
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if len(amzDate) != len("20060102T150405Z") || !strings.HasPrefix(amzDate, a.date) {
		return newError("IncompleteSignature", "Date must be in ISO-8601 'basic format' and match the credential scope.")
	}
	var signsHost, signsDate bool
	var canonHeaders strings.Builder
	for _, name := range a.signedHeaders {
		signsHost = signsHost || name == "host"
		signsDate = signsDate || name == "x-amz-date"
		canonHeaders.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	if !signsHost || !signsDate {
		return newError("IncompleteSignature", "Signed headers must include host and x-amz-date.")
	}
	payloadHash := sha256.Sum256(body)
	canonical := strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		canonicalQuery(r.URL),
		canonHeaders.String(),
		strings.Join(a.signedHeaders, ";"),
		hex.EncodeToString(payloadHash[:]),
	}, "\n")
	scope := a.date + "/" + a.region + "/" + a.service + "/aws4_request"
	canonHash := sha256.Sum256([]byte(canonical))
	stringToSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonHash[:])

	key := hmacSHA256([]byte("AWS4"+secret), a.date)
	key = hmacSHA256(key, a.region)
	key = hmacSHA256(key, a.service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return mismatch
	}
	return nil
}

// headerValue is the canonical value of a signed header: values trimmed,
// inner runs of spaces collapsed, joined with commas.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if len(r.Header.Values(name)) == 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
	}
	vals := r.Header.Values(name)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// canonicalURI is the URI-encoded path, encoded once more as SigV4 does for
// every service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery sorts the query by key and value and URI-encodes both.
func canonicalQuery(u *url.URL) string {
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	return strings.Join(parts, "&")
}

// uriEncode percent-encodes every byte but the unreserved ones (and "/"
// unless encodeSlash).
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
