package awsoidc_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
)

// TestDefaultCredentialsProcessOutputNotQuoted: a credential_process whose
// output is not valid JSON (here, cut short) fails without its output,
// which holds a secret access key, in our error; the SDK's own error
// quotes it.
func TestDefaultCredentialsProcessOutputNotQuoted(t *testing.T) {
	f := newFixture(t)
	script := f.write("process.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDEXAMPLE\", \"SecretAccessKey\": \"s3cr3t-process-key\"'\n")
	f.write("config", "[default]\ncredential_process = "+script+"\n")
	if sdk := resolve(); sdk.err == nil || !strings.Contains(sdk.err.Error(), "s3cr3t") {
		t.Fatalf("SDK error = %v; want the output quoted in it", sdk.err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials())
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if err == nil {
		t.Fatal("Retrieve() succeeded with output cut short")
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("the secret leaked: %s", s)
		}
	}
	if !strings.Contains(err.Error(), "not credential_process JSON") {
		t.Fatalf("error %q does not say what is wrong", err)
	}
}
