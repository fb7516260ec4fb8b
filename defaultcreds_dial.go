package awsoidc

import (
	"fmt"
	"net"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// allowedIP reports whether ip is loopback or a container agent's.
func allowedIP(ip net.IP) bool {
	ok := ip.IsLoopback()
	for _, agent := range containerAgents {
		ok = ok || ip.Equal(agent)
	}
	return ok
}

// allowedDial is the dialer control of a plain-http
// AWS_CONTAINER_CREDENTIALS_FULL_URI endpoint: it refuses every
// connection to an address that is neither loopback nor a container
// agent's. The host is checked once when the chain is resolved, as the SDK
// checks it, but the name is resolved again for each connection: a DNS
// answer that changes since (DNS rebinding), or an HTTP proxy of the
// environment, would otherwise receive the authorization token off the
// host.
func allowedDial(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !allowedIP(ip) {
		return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: refusing to connect to %s over http: not a loopback address or the ECS or EKS container agent", host)
	}
	return nil
}

// guardDial makes an endpoint provider connect only where allowedDial
// allows. Options given with config.WithEndpointCredentialOptions run
// after it and may choose another HTTP client.
func guardDial(o *endpointcreds.Options) {
	o.HTTPClient = awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Control = allowedDial
	})
}
