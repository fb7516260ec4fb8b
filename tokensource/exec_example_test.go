package tokensource_test

import (
	"context"
	"fmt"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

// A token printed by a command, run again on every call. Real commands are
// such as buildkite-agent oidc request-token --audience sts.amazonaws.com,
// or kubectl create token SA --audience sts.amazonaws.com; echo stands in
// for them here.
func ExampleExec() {
	src := tokensource.Exec([]string{"echo", exampleJWT}, func(o *tokensource.ExecOptions) {
		o.Timeout = 10 * time.Second // for each run; the default is 30 s
	})
	tok, err := src.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(src)
	fmt.Println("expires:", tok.Expiry.Format(time.RFC3339))
	// Output:
	// tokensource.Exec("echo")
	// expires: 2100-01-01T00:00:00Z
}
