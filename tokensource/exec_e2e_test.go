package tokensource_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestExecEndToEnd runs Exec through the whole flow: a command (a script
// that prints, as JSON, a token its own identity provider signed, a second
// ststest.Server) → Exec → provider.New's provider → STS (ststest, over
// HTTP, with the real sts client), which checks the signature, issuer,
// audience and subject against a role that trusts that issuer → credentials
// that sign a GetCallerIdentity ststest verifies with SigV4. Each Retrieve
// runs the command again and sends the token it printed then.
func TestExecEndToEnd(t *testing.T) {
	const subject = "organization:acme:pipeline:deploy:pipeline_id:0123"
	idp := ststest.NewServer(func(o *ststest.Options) { o.Audience = "sts.amazonaws.com" })
	t.Cleanup(idp.Close)
	stsSrv := ststest.NewServer()
	t.Cleanup(stsSrv.Close)
	role := stsSrv.AddRole(ststest.Role{Name: "from-exec", Issuer: idp.Issuer(), Audience: "sts.amazonaws.com", Subject: subject})

	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens") // one token per line, the script prints line N at run N
	runs := filepath.Join(dir, "runs")
	var lines []string
	for range 3 { // two Retrieves, then the one of GetCallerIdentity's credentials cache
		lines = append(lines, idp.MintToken(ststest.Claims{Subject: subject, Expiry: time.Now().Add(10 * time.Minute)}))
	}
	writeFile(t, tokens, strings.Join(lines, "\n")+"\n")
	argv := script(t, `echo run >> "$2"; n=$(wc -l < "$2"); printf '{"token":"%s","expiration":"%s"}' "$(sed -n "${n}p" "$1")" "$3"`,
		tokens, runs, time.Now().Add(5*time.Minute).UTC().Format(time.RFC3339))

	p, err := provider.New(provider.NewSTSClient(stsSrv.Config(nil)), role, tokensource.Exec(argv))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		creds, err := p.Retrieve(context.Background())
		if err != nil {
			t.Fatalf("Retrieve %d: %v", i, err)
		}
		if !creds.CanExpire || creds.AccessKeyID == "" {
			t.Errorf("credentials = %v", creds)
		}
		b, err := os.ReadFile(runs)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "run"); n != i {
			t.Errorf("after Retrieve %d: the command ran %d times, want %d (a fresh token each time)", i, n, i)
		}
	}
	id, err := sts.NewFromConfig(stsSrv.Config(p)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(id.Arn); !strings.Contains(arn, ":assumed-role/from-exec/") {
		t.Errorf("GetCallerIdentity ARN = %q, want a session of role from-exec", arn)
	}
	if n := stsSrv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 3 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 3", n)
	}
}
