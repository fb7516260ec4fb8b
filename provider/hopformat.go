package provider

import (
	"fmt"
	"strings"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// hopFields is [Hop] without its methods, for [Hop.Format].
type hopFields Hop

// Format prints the hop as fmt prints a struct, for every verb, %#v
// included, with ExternalID replaced by [REDACTED] when set. STS documents
// the external ID as a value "such as a passphrase" that only the trusted
// party knows; awsoidc never prints it, here, in [AssumeRole]'s String and
// in a [HopError] (which scrubs it from a server's message).
func (h Hop) Format(f fmt.State, verb rune) {
	if h.ExternalID != "" {
		h.ExternalID = redact.Placeholder
	}
	s := fmt.Sprintf(fmt.FormatString(f, verb), hopFields(h))
	_, _ = f.Write([]byte(strings.Replace(s, "provider.hopFields", "provider.Hop", 1)))
}
