package spiffe

import (
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/tokensource"
)

// SetClock makes src, a [JWTSource], judge expiry by c.
func SetClock(src tokensource.Source, c clock.Clock) { src.(*jwtSource).clock = c }
