package provider

// Exports for the tests of package provider_test.

const (
	DefaultMaxAttempts = defaultMaxAttempts
	DefaultMinBackoff  = defaultMinBackoff
	DefaultMaxBackoff  = defaultMaxBackoff
	MaxMaxAttempts     = maxMaxAttempts
	MaxBackoffLimit    = maxBackoffLimit
	MinDuration        = minDuration
	MaxPolicyLen       = maxPolicyLen
)

// DefaultSessionName is the session name sent when Options.RoleSessionName
// is empty.
func DefaultSessionName(token, hostname string) string { return defaultSessionName(token, hostname) }

// STSClientOf returns the client of p.
func STSClientOf(p *Provider) STSClient { return p.client }

// RoleARNOf returns the role p assumes.
func RoleARNOf(p *Provider) string { return p.roleARN }

// OptionsOf returns p's options, defaults filled in.
func OptionsOf(p *Provider) Options { return p.opts }
