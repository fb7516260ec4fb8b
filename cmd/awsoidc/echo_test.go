package main

import (
	"strings"
	"testing"
)

// TestTokenNeverEchoed pastes a token where a name or a path belongs, in
// every flag and variable of a credential command, and checks that the
// binary never prints it back (issue 8, item 8): the refusal names the
// flag, the token is replaced by [REDACTED].
func TestTokenNeverEchoed(t *testing.T) {
	f := newFixture(t)
	token := f.token
	// Distinctive parts: the payload and the signature.
	parts := strings.Split(token, ".")
	base := []string{"credential-process", "--endpoint-url", f.srv.URL(), "--cache-dir", f.cacheDir}
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{"--token-env", append(base, "--role-arn", f.role, "--token-env", token), nil},
		{"--token-env=", append(base, "--role-arn", f.role, "--token-env="+token), nil},
		{"--token-file", append(base, "--role-arn", f.role, "--token-file", token), nil},
		{"AWS_WEB_IDENTITY_TOKEN_FILE", append(base, "--role-arn", f.role), []string{"AWS_WEB_IDENTITY_TOKEN_FILE=" + token}},
		{"--role-arn", append(base, "--role-arn", token, "--token-file", f.tokenFile), nil},
		{"AWS_ROLE_ARN", append(base, "--token-file", f.tokenFile), []string{"AWS_ROLE_ARN=" + token}},
		{"--role-session-name", append(base, "--role-arn", f.role, "--token-file", f.tokenFile, "--role-session-name", token), nil},
		{"AWS_ROLE_SESSION_NAME", append(base, "--role-arn", f.role, "--token-file", f.tokenFile), []string{"AWS_ROLE_SESSION_NAME=" + token}},
		{"--policy", append(base, "--role-arn", f.role, "--token-file", f.tokenFile, "--policy", token), nil},
		{"--policy file://", append(base, "--role-arn", f.role, "--token-file", f.tokenFile, "--policy", "file://"+token), nil},
		{"--policy-arn", append(base, "--role-arn", f.role, "--token-file", f.tokenFile, "--policy-arn", token), nil},
		{"--region", append(base, "--role-arn", f.role, "--token-file", f.tokenFile, "--region", token), nil},
		{"--issuer", append(base, "--role-arn", f.role, "--issuer", token, "--client-id", "cli"), nil},
		{"--client-id", append(base, "--role-arn", f.role, "--issuer", "https://idp.example.com", "--client-id", token), nil},
		{"--cache-dir", []string{"credential-process", "--role-arn", f.role, "--token-file", f.tokenFile, "--endpoint-url", f.srv.URL(), "--cache-dir", token}, nil},
		{"--duration", append(base, "--role-arn", f.role, "--token-file", f.tokenFile, "--duration", token), nil},
		{"AWS_REGION", append(base, "--role-arn", f.role, "--token-file", f.tokenFile), []string{"AWS_REGION=" + token}},
		{"--token-source", append(base, "--role-arn", f.role, "--token-source", token), nil},
		{"--audience", append(base, "--role-arn", f.role, "--token-source", "spiffe", "--audience", token), nil},
		{"--audience with a file", append(base, "--role-arn", f.role, "--token-file", f.tokenFile, "--audience", token), nil},
		{"--token-exec program", append(base, "--role-arn", f.role, "--token-exec", token), nil},
		{"--token-exec argument", append(base, "--role-arn", f.role, "--token-exec", "false "+token), nil},
		{"--token-exec shell syntax", append(base, "--role-arn", f.role, "--token-exec", "echo "+token+" | cat"), nil},
		{"--token-exec prints it on stderr", append(base, "--role-arn", f.role, "--token-exec", "sh -c 'echo \"bad $0\" >&2; exit 1' "+token), nil},
		{"SPIFFE_ENDPOINT_SOCKET", append(base, "--role-arn", f.role, "--token-source", "spiffe"), []string{"SPIFFE_ENDPOINT_SOCKET=" + token}},
		{"unknown flag", append(base, "--"+token), nil},
		{"argument", append(base, token), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(f.env(tc.env...), tc.args...)
			for _, where := range []struct{ name, text string }{{"stdout", r.stdout}, {"stderr", r.stderr}} {
				for _, p := range parts {
					if len(p) >= 8 && strings.Contains(where.text, p) {
						t.Errorf("%s echoes the token (exit %d):\n%s", where.name, r.code, where.text)
						break
					}
				}
			}
		})
	}
}
