package spiffe_test

import (
	"context"
	"testing"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// The cost of a fresh connection per call, which JWTSource pays so that no
// connection or goroutine outlives a call: BenchmarkJWTSource against
// BenchmarkHeldClient, go-spiffe's workloadapi.Client dialled once, in the
// same run against the same fake agent.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./

func benchAgent(b *testing.B) *agent {
	srv := ststest.NewServer()
	b.Cleanup(srv.Close)
	return startAgent(b, answer(srv.MintToken(ststest.Claims{Subject: workloadID})))
}

func BenchmarkJWTSource(b *testing.B) {
	a := benchAgent(b)
	src := spiffe.JWTSource("sts.amazonaws.com", withAddr(a.addr))
	ctx := context.Background()
	for b.Loop() {
		if _, err := src.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeldClient(b *testing.B) {
	a := benchAgent(b)
	ctx := context.Background()
	c, err := workloadapi.New(ctx, workloadapi.WithAddr(a.addr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		if _, err := c.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "sts.amazonaws.com"}); err != nil {
			b.Fatal(err)
		}
	}
}
