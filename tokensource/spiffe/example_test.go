package spiffe_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// In a workload that a SPIRE agent attests, one option gives every client of
// the configuration credentials for a role, traded for a JWT-SVID that is
// fetched afresh from the agent at $SPIFFE_ENDPOINT_SOCKET at every refresh.
func ExampleJWTSource() {
	src := spiffe.JWTSource("sts.amazonaws.com")
	cfg, err := config.LoadDefaultConfig(context.Background(),
		awsoidc.WithWebIdentity("arn:aws:iam::123456789012:role/billing", src))
	if err != nil {
		log.Fatal(err)
	}
	_ = sts.NewFromConfig(cfg) // and every other client of cfg
}

// A workload entitled to several identities picks one; the agent's address
// can be given rather than read from SPIFFE_ENDPOINT_SOCKET.
func ExampleJWTSource_oneOfSeveralIdentities() {
	src := spiffe.JWTSource("sts.amazonaws.com", func(o *spiffe.Options) {
		o.Addr = "unix:///run/spire/agent-sockets/spire-agent.sock"
		o.SPIFFEID = "spiffe://example.org/ns/prod/sa/billing"
	})
	fmt.Println(src)
	// Output: spiffe.JWTSource("sts.amazonaws.com", "unix:///run/spire/agent-sockets/spire-agent.sock", "spiffe://example.org/ns/prod/sa/billing")
}
