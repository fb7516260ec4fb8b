// Package exampletest sets up what the examples' tests share: an ststest
// server reached through AWS_ENDPOINT_URL_STS, a role, and a token file, with
// the process environment isolated from the developer's own AWS
// configuration.
package exampletest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/awsoidc/awsoidc/ststest"
)

// Subject is the "sub" of the tokens Setup writes.
const Subject = "system:serviceaccount:default:example"

// Env is what Setup made.
type Env struct {
	Server    *ststest.Server
	RoleARN   string
	TokenFile string
}

// Setup starts an ststest server for t, points the SDK's STS endpoint at it
// through AWS_ENDPOINT_URL_STS, hides the developer's shared configuration,
// adds a role trusting [Subject] and writes a signed token for it to a file.
func Setup(t *testing.T) Env {
	t.Helper()
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_STS":        srv.URL(),
		"AWS_REGION":                  ststest.DefaultRegion,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_PROFILE":                 "",
		"AWS_ACCESS_KEY_ID":           "",
		"AWS_SECRET_ACCESS_KEY":       "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	roleARN := srv.AddRole(ststest.Role{Name: "example", Subject: Subject})
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(srv.MintToken(ststest.Claims{Subject: Subject})), 0o600); err != nil {
		t.Fatal(err)
	}
	return Env{Server: srv, RoleARN: roleARN, TokenFile: tokenFile}
}
