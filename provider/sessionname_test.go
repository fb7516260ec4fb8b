package provider

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func token(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

func TestDefaultSessionName(t *testing.T) {
	sub := func(sub any) string { return token(t, map[string]any{"sub": sub}) }
	tests := []struct {
		name, token, host, want string
	}{
		// Workload identities name the session.
		{"kubernetes service account", sub("system:serviceaccount:prod:billing"), "pod-1", "system-serviceaccount-prod-billing"},
		{"kubernetes dotted name", sub("system:serviceaccount:kube-system:ebs-csi.controller"), "h", "system-serviceaccount-kube-system-ebs-csi.controller"},
		{"github actions branch", sub("repo:octo-org/octo-repo:ref:refs/heads/main"), "runner", "repo-octo-org-octo-repo-ref-refs-heads-main"},
		{"github actions environment", sub("repo:octo-org/octo.repo:environment:prod"), "runner", "repo-octo-org-octo.repo-environment-prod"},
		{"github actions pull request", sub("repo:octo-org/octo-repo:pull_request"), "runner", "repo-octo-org-octo-repo-pull_request"},
		{"gitlab ci", sub("project_path:mygroup/sub/myproject:ref_type:branch:ref:main"), "runner", "project_path-mygroup-sub-myproject-ref_type-branch-ref-main"},
		{"hcp terraform", sub("organization:acme:project:Default Project:workspace:net:run_phase:apply"), "h", "organization-acme-project-Default-Project-workspace-net-run_phas"},
		{"buildkite", sub("organization:acme:pipeline:deploy:ref:refs/heads/main:commit:0123abcd:step:push"), "h", "organization-acme-pipeline-deploy-ref-refs-heads-main-commit-012"},
		{"spiffe", sub("spiffe://example.org/ns/prod/sa/billing"), "h", "spiffe---example.org-ns-prod-sa-billing"},
		{"long subject cut to 64", sub("system:serviceaccount:ns:" + strings.Repeat("s", 100)), "h", "system-serviceaccount-ns-" + strings.Repeat("s", 39)},
		{"padded payload", "eyJhbGciOiJSUzI1NiJ9." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"system:serviceaccount:a:b"}`)) + ".c", "h", "system-serviceaccount-a-b"},
		// Anything else may be a person: the host name.
		{"numeric user id (Google)", sub("110169484474386276334"), "host", "host"},
		{"opaque user id (Okta)", sub("00u1a2b3c4d5e6f7g8h9"), "host", "host"},
		{"dex subject", sub("CgVhbGljZRIEbGRhcA"), "host", "host"},
		{"entra object id", sub("5f7c3b4a-1d2e-4f60-9a8b-7c6d5e4f3a2b"), "host", "host"},
		{"user name", sub("alice"), "host", "host"},
		{"email subject", sub("jane.doe@example.com"), "laptop.local", "laptop.local"},
		{"encoded email", sub("jane%40example.com"), "laptop", "laptop"},
		{"email in a github branch", sub("repo:octo-org/octo-repo:ref:refs/heads/jane@example.com"), "runner", "runner"},
		{"encoded email in a kubernetes-like subject", sub("system:serviceaccount:ns:jane%40example.com"), "h2", "h2"},
		{"github customized with the actor", sub("repo:octo-org/octo-repo:environment:prod:actor:octocat"), "runner", "runner"},
		{"github customized, actor only", sub("repo:octo-org/octo-repo:actor:octocat"), "runner", "runner"},
		{"gitlab customized with the user", sub("project_path:g/p:ref_type:branch:ref:main:user_login:jane"), "runner", "runner"},
		{"gitlab without ref", sub("project_path:g/p:user_login:jane"), "runner", "runner"},
		{"kubernetes subject with an upper-case name", sub("system:serviceaccount:prod:Jane"), "host-u", "host-u"},
		{"kubernetes subject with an extra part", sub("system:serviceaccount:prod:billing:jane"), "host-x", "host-x"},
		{"circleci subject names a user", sub("org/0f7a/project/1b2c/user/3d4e"), "host-y", "host-y"},
		{"spiffe with a user in the path", sub("spiffe://example.org/user/jane@corp"), "host-z", "host-z"},
		{"unicode subject", sub("usér/ñame"), "h3", "h3"},
		{"subject of one character", sub("x"), "host-a", "host-a"},
		{"subject of symbols only", sub("::::"), "host-b", "host-b"},
		{"non-string subject", sub(42), "host-c", "host-c"},
		{"no subject", token(t, map[string]any{"aud": "x"}), "host-d", "host-d"},
		{"not a JWT", "opaque-access-token", "host_e", "host_e"},
		{"bad base64", "a.%%%.c", "host-f", "host-f"},
		{"bad JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("{")) + ".c", "host-g", "host-g"},
		{"host name sanitized", "", "my host!", "my-host"},
		{"person, no usable host", sub("110169484474386276334"), "", fallbackSessionName},
		{"nothing usable", "", "", fallbackSessionName},
		{"host of one character", "", "h", fallbackSessionName},
	}
	matched := make(map[string]bool)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range workloadSubjects {
				if w.re.MatchString(subjectClaim(tt.token)) {
					matched[w.name] = true
				}
			}
			got := defaultSessionName(tt.token, tt.host)
			if got != tt.want {
				t.Fatalf("defaultSessionName() = %q, want %q", got, tt.want)
			}
			var v validator
			v.sessionName("name", got)
			if len(v.errs) != 0 {
				t.Fatalf("default name %q fails validation: %v", got, v.errs[0])
			}
		})
	}
	for _, w := range workloadSubjects {
		if !matched[w.name] {
			t.Errorf("no case for the %s format", w.name)
		}
	}
}

func TestPackedPercent(t *testing.T) {
	for msg, want := range map[string]int{
		"Packed policy consumes 107% of allotted space, please use smaller policy.": 107,
		"PackedPolicyTooLarge: 98 % of the limit":                                   98,
		"no number here":                 0,
		"overflow 99999999999999999999%": 0,
	} {
		if got := packedPercent(msg); got != want {
			t.Errorf("packedPercent(%q) = %d, want %d", msg, got, want)
		}
	}
}

func TestScrubAndShorten(t *testing.T) {
	if got := scrub("a TOKEN b TOKEN", "TOKEN"); got != "a [REDACTED] b [REDACTED]" {
		t.Errorf("scrub() = %q", got)
	}
	if got := scrub("abc", ""); got != "abc" {
		t.Errorf("scrub with empty secret = %q", got)
	}
	long := strings.Repeat("é", 100)
	got := shorten(long)
	if !strings.HasSuffix(got, "…(200 bytes)") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…(200 bytes)")) {
		t.Errorf("shorten() = %q", got)
	}
}

func TestAccountID(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/r/s": "123456789012",
		"arn:minio:iam:::role/x":                     "",
		"not-an-arn":                                 "",
		"":                                           "",
	} {
		if got := accountID(arn); got != want {
			t.Errorf("accountID(%q) = %q, want %q", arn, got, want)
		}
	}
}
