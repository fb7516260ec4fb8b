package awsoidc

import (
	"strings"
	"testing"
)

// TestAllowedDial: a plain-http container endpoint connects only to
// loopback and the ECS and EKS agents, whatever its name resolved to when
// the chain was resolved; any other address (a rebound DNS answer, an HTTP
// proxy) is refused, naming the address.
func TestAllowedDial(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:80", "127.8.9.10:8080", "[::1]:80", "169.254.170.2:80", "169.254.170.23:80", "[fd00:ec2::23]:80"} {
		if err := allowedDial("tcp", addr, nil); err != nil {
			t.Errorf("allowedDial(%s) = %v; want nil", addr, err)
		}
	}
	for _, addr := range []string{"192.0.2.10:80", "[2001:db8::1]:80", "169.254.169.254:80", "10.0.0.1:3128", "0.0.0.0:80"} {
		err := allowedDial("tcp", addr, nil)
		if err == nil || !strings.Contains(err.Error(), "refusing to connect") || !strings.Contains(err.Error(), "AWS_CONTAINER_CREDENTIALS_FULL_URI") {
			t.Errorf("allowedDial(%s) = %v; want a refusal naming the variable", addr, err)
		}
	}
}
