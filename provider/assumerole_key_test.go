package provider_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// TestAssumeRoleCacheKey: every Hop field changes the key, equal hops share
// it, and the external ID does not show.
func TestAssumeRoleCacheKey(t *testing.T) {
	base := credentialsOf(aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "x"})
	client := assumeRoleFunc(func(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
		t.Error("AssumeRole called")
		return nil, nil
	})
	key := func(h provider.Hop) string {
		t.Helper()
		a, err := provider.NewAssumeRole(client, base, h)
		if err != nil {
			t.Fatal(err)
		}
		return a.CacheKey()
	}
	const role = "arn:aws:iam::111122223333:role/next"
	ref := provider.Hop{RoleARN: role, Tags: map[string]string{"a": "1"}}
	variants := []provider.Hop{
		{RoleARN: role + "2", Tags: ref.Tags},
		{RoleARN: role, RoleSessionName: "other", Tags: ref.Tags},
		{RoleARN: role, ExternalID: "ext-id", Tags: ref.Tags},
		{RoleARN: role, Duration: 30 * time.Minute, Tags: ref.Tags},
		{RoleARN: role, Policy: `{"Statement":[]}`, Tags: ref.Tags},
		{RoleARN: role, PolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, Tags: ref.Tags},
		{RoleARN: role, Tags: map[string]string{"a": "2"}},
		{RoleARN: role, Tags: ref.Tags, TransitiveTagKeys: []string{"a"}},
		{RoleARN: role, Tags: ref.Tags, SourceIdentity: "alice"},
	}
	k := key(ref)
	if k != key(provider.Hop{RoleARN: role, Tags: map[string]string{"a": "1"}}) {
		t.Error("equal hops have different keys")
	}
	seen := map[string]int{k: -1}
	for i, h := range variants {
		kv := key(h)
		if j, dup := seen[kv]; dup {
			t.Errorf("variant %d has the key of %d", i, j)
		}
		seen[kv] = i
	}
}
