package spiffe

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/awsoidc/awsoidc/internal/jwt"
	"github.com/awsoidc/awsoidc/tokensource"
)

// pick returns the token of the first of svids whose "sub" is id (any
// SVID when id is empty), after checking it for audience at now. The
// Workload API lists the workload's default identity first.
func pick(svids []*workload.JWTSVID, audience, id string, now time.Time) (tokensource.Token, error) {
	if len(svids) == 0 {
		return tokensource.Token{}, fmt.Errorf("%w: the Workload API answered no JWT-SVID", tokensource.ErrEmpty)
	}
	var others []string
	for i, sv := range svids {
		c, err := readSVID(sv.GetSvid())
		if err != nil {
			return tokensource.Token{}, fmt.Errorf("JWT-SVID %d of %d: %w", i+1, len(svids), err)
		}
		if id != "" && c.sub != id {
			others = append(others, strconv.Quote(c.sub))
			continue
		}
		if err := c.check(audience, now); err != nil {
			return tokensource.Token{}, fmt.Errorf("JWT-SVID for %s: %w", c.sub, err)
		}
		return tokensource.Token{Value: sv.GetSvid(), Expiry: c.exp}, nil
	}
	return tokensource.Token{}, fmt.Errorf("the Workload API answered no JWT-SVID for Options.SPIFFEID %s, only for %s", strconv.Quote(scrub(id)), strings.Join(others, ", "))
}

// svidClaims are the claims of a JWT-SVID that the source checks.
type svidClaims struct {
	sub string    // a SPIFFE ID
	aud []string  // one or more audiences
	exp time.Time // from "exp"
}

// readSVID reads the claims of a JWT-SVID without verifying it (STS does)
// and checks their form, as the JWT-SVID specification states it: "sub" a
// SPIFFE ID, "aud" present, "exp" present. Errors never contain the token.
func readSVID(value string) (svidClaims, error) {
	if value == "" {
		return svidClaims{}, fmt.Errorf("%w: the JWT-SVID is empty", tokensource.ErrEmpty)
	}
	var raw struct {
		Sub any `json:"sub"`
		Aud any `json:"aud"`
	}
	if err := jwt.Claims(value, &raw); err != nil {
		return svidClaims{}, fmt.Errorf("%w: %w", tokensource.ErrMalformed, err)
	}
	sub, _ := raw.Sub.(string)
	if _, err := spiffeid.FromString(sub); err != nil {
		return svidClaims{}, fmt.Errorf("%w: its \"sub\" %s is not a SPIFFE ID: %w", tokensource.ErrMalformed, strconv.Quote(scrub(sub)), err)
	}
	aud, ok := audiences(raw.Aud)
	if !ok {
		return svidClaims{}, fmt.Errorf("%w: its \"aud\" is missing or not a list of strings", tokensource.ErrMalformed)
	}
	exp, err := tokensource.ParseExpiry(value)
	if err != nil {
		return svidClaims{}, fmt.Errorf("%w: it has no usable \"exp\"", tokensource.ErrMalformed)
	}
	return svidClaims{sub: sub, aud: aud, exp: exp}, nil
}

// audiences reads "aud", a string or a list of strings (RFC 7519 §4.1.3).
func audiences(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, v != ""
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, len(out) > 0
	}
	return nil, false
}

// errExpired is the cause of a JWT-SVID that has expired when it arrives.
var errExpired = errors.New("the JWT-SVID has expired")

// check reports whether the SVID is for audience and still valid at now.
func (c svidClaims) check(audience string, now time.Time) error {
	if !slices.Contains(c.aud, audience) {
		return fmt.Errorf("it is for the audience %s, not %s", quoteAll(c.aud), strconv.Quote(scrub(audience)))
	}
	if !now.Before(c.exp) {
		return fmt.Errorf("%w: it expired at %s, and it is %s (is the clock of this machine or of the agent wrong?)",
			errExpired, c.exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(scrub(s))
	}
	return strings.Join(q, ", ")
}
