// Package tokenid names the identity of a web identity token, and pins a
// token source to one identity, so that credentials stored for one identity
// are never obtained with, or served for, another one's token.
package tokenid

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/awsoidc/awsoidc/internal/jwt"
)

// identityClaims are the claims of a web identity token that decide what
// credentials STS gives for it: who it is ("iss", "sub"), for whom ("aud"),
// how the user signed in ("amr", a condition key of Amazon Cognito) and the
// session tags STS copies from it.
var identityClaims = []string{"iss", "sub", "aud", "amr", "https://aws.amazon.com/tags"}

// Of returns the identity of a web identity token, which keys the stored
// credentials it obtains: a hash of its identityClaims when it is a JWT with
// "iss" and "sub", else a hash of the whole value.
//
// Keying by identity rather than by the file's path or the variable's name
// keeps apart two jobs of a shared CI runner that use the same path: the
// second, another identity, perhaps one the role does not trust, is never
// served the first one's credentials. Keying by identity rather than by the
// value keeps the stored credentials of a token the kubelet rotates in place
// every hour: the new token has the same claims.
//
// The claims are read without verifying the signature, which STS does when
// it is asked. The key keeps honest jobs apart; it is no defence against
// someone who can write the cache directory, who can read the credentials
// stored there anyway.
func Of(token string) string {
	if claims, ok := identityOf(token); ok {
		sum := sha256.Sum256(claims)
		return "jwt-identity sha256:" + hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256([]byte(token))
	return "token sha256:" + hex.EncodeToString(sum[:])
}

// identityOf returns the identityClaims of a JWT, as canonical JSON (sorted
// keys, "aud" always a list), and false when token is not a JWT with "iss"
// and "sub".
func identityOf(token string) ([]byte, bool) {
	var all map[string]any
	if jwt.Claims(token, &all) != nil {
		return nil, false
	}
	iss, _ := all["iss"].(string)
	sub, _ := all["sub"].(string)
	if iss == "" || sub == "" {
		return nil, false
	}
	picked := make(map[string]any, len(identityClaims))
	for _, name := range identityClaims {
		if v, ok := all[name]; ok {
			picked[name] = v
		}
	}
	if aud, ok := picked["aud"].(string); ok { // RFC 7519 §4.1.3: a string or a list
		picked["aud"] = []string{aud}
	}
	b, err := json.Marshal(picked) // map keys sorted, nested objects too
	if err != nil {
		return nil, false
	}
	return b, true
}

// jwtLike finds a JWS or JWE in compact form: a base64url JSON header
// ("eyJ" is `{"`) followed by a dot and the other parts.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_.-]*`)

// Find returns the tokens in s, a value given where a name or a path
// belongs: every JWT it holds, and s itself when it is 80 or more
// characters without whitespace or a path separator (an opaque OAuth 2.0
// access token; the names AWS accepts are at most 64 characters). A value
// pasted by mistake is then never printed back.
func Find(s string) []string {
	found := jwtLike.FindAllString(s, -1)
	if len(s) >= 80 && !strings.ContainsAny(s, " \t\r\n/\\") {
		found = append(found, s)
	}
	return found
}
