package provider_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/provider"
)

func TestCacheKey(t *testing.T) {
	key := func(role string, opt func(*provider.Options)) string {
		t.Helper()
		p, err := provider.New(newFake().client(), role, newTokens(secretToken), opt)
		if err != nil {
			t.Fatal(err)
		}
		return p.CacheKey()
	}
	base := key(testRole, nil)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(base) {
		t.Fatalf("CacheKey() = %q, want 64 hex digits", base)
	}
	if again := key(testRole, nil); again != base {
		t.Fatalf("CacheKey() not stable: %s, %s", base, again)
	}
	// Retry, clock and logging options do not change the session asked for.
	if k := key(testRole, func(o *provider.Options) { o.MaxAttempts = 2; o.MinBackoff = time.Second }); k != base {
		t.Errorf("retry options changed the key")
	}
	variants := map[string]string{
		"role":         key("arn:aws:iam::123456789012:role/other", nil),
		"session name": key(testRole, func(o *provider.Options) { o.RoleSessionName = "s1" }),
		"policy":       key(testRole, func(o *provider.Options) { o.Policy = `{}` }),
		"policy ARN":   key(testRole, func(o *provider.Options) { o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"} }),
		"duration":     key(testRole, func(o *provider.Options) { o.Duration = time.Hour }),
		"provider ID":  key(testRole, func(o *provider.Options) { o.ProviderID = "www.amazon.com" }),
		"source ID":    key(testRole, func(o *provider.Options) { o.SourceID = "/token" }),
		"token size":   key(testRole, func(o *provider.Options) { o.MinimumSessionTokenSize = 1024 }),
		// Length prefixes keep shifted boundaries apart.
		"name ab, source c": key(testRole, func(o *provider.Options) { o.RoleSessionName = "ab"; o.SourceID = "c" }),
		"name a, source bc": key(testRole, func(o *provider.Options) { o.RoleSessionName = "a1"; o.SourceID = "bc" }),
		"two ARNs": key(testRole, func(o *provider.Options) {
			o.PolicyARNs = []string{"arn:aws:iam::aws:policy/A1", "arn:aws:iam::aws:policy/B1"}
		}),
		"ARN order": key(testRole, func(o *provider.Options) {
			o.PolicyARNs = []string{"arn:aws:iam::aws:policy/B1", "arn:aws:iam::aws:policy/A1"}
		}),
	}
	seen := map[string]string{base: "base"}
	for name, k := range variants {
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s share the key %s", name, other, k)
		}
		seen[k] = name
	}
}
