package tokensource_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

// setenv sets variables for an example and returns a function that
// restores them.
func setenv(kv ...string) (restore func()) {
	var undo []func()
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i]
		old, had := os.LookupEnv(k)
		_ = os.Setenv(k, kv[i+1])
		undo = append(undo, func() {
			if had {
				_ = os.Setenv(k, old)
			} else {
				_ = os.Unsetenv(k)
			}
		})
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// In a GitHub Actions job with the permission "id-token: write", the runner
// sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
// Here an httptest server stands in for the runner.
func ExampleGitHubActions() {
	runner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("audience:", r.URL.Query().Get("audience"))
		_ = json.NewEncoder(w).Encode(map[string]string{"value": exampleJWT})
	}))
	defer runner.Close()
	defer setenv("ACTIONS_ID_TOKEN_REQUEST_URL", runner.URL+"/idtoken?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runtime-request-token")()

	src := tokensource.GitHubActions("") // "" means sts.amazonaws.com
	// provider.New(client, roleARN, src) asks src at every refresh: a GitHub
	// ID token lives 5 minutes, and a fresh one is fetched each time.
	tok, err := src.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("expires:", tok.Expiry.Format(time.RFC3339))
	fmt.Println(src)
	// Output:
	// audience: sts.amazonaws.com
	// expires: 2100-01-01T00:00:00Z
	// tokensource.GitHubActions("sts.amazonaws.com")
}

// On Google Cloud the metadata server signs an ID token for the instance's
// service account. GCE_METADATA_HOST, when set, names another metadata
// server: here an httptest server stands in for it.
func ExampleGCP() {
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.URL.Path)
		fmt.Println("audience:", r.URL.Query().Get("audience"), "format:", r.URL.Query().Get("format"))
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte(exampleJWT))
	}))
	defer metadata.Close()
	defer setenv("GCE_METADATA_HOST", metadata.Listener.Addr().String())()

	tok, err := tokensource.GCP("").Token(context.Background()) // "" means sts.amazonaws.com
	if err != nil {
		panic(err)
	}
	fmt.Println("expires:", tok.Expiry.Format(time.RFC3339))
	// Output:
	// /computeMetadata/v1/instance/service-accounts/default/identity
	// audience: sts.amazonaws.com format: full
	// expires: 2100-01-01T00:00:00Z
}

// On App Service or Azure Functions with a managed identity, the platform
// sets IDENTITY_ENDPOINT and IDENTITY_HEADER; elsewhere on Azure the same
// source asks the Instance Metadata Service. A server that refuses the
// request gives a *StatusError that says whether to try again.
func ExampleAzure() {
	var calls atomic.Int32
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			http.Error(w, `{"error":"throttled"}`, http.StatusTooManyRequests)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"access_token": exampleJWT, "expires_on": "4102444800"})
	}))
	defer endpoint.Close()
	defer setenv("IDENTITY_ENDPOINT", endpoint.URL+"/msi/token", "IDENTITY_HEADER", "platform-secret")()

	src := tokensource.Azure("") // "" means api://AzureADTokenExchange
	_, err := src.Token(context.Background())
	var se *tokensource.StatusError
	if errors.As(err, &se) {
		fmt.Println(se.StatusCode, se.Retryable(), se.RetryAfter)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("expires:", tok.Expiry.Format(time.RFC3339))
	// Output:
	// 429 true 2s
	// expires: 2100-01-01T00:00:00Z
}

// Detect picks the source of the environment. In a pod with IRSA,
// AWS_WEB_IDENTITY_TOKEN_FILE comes first.
func ExampleDetect() {
	dir, err := os.MkdirTemp("", "detect")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte(exampleJWT), 0o600); err != nil {
		panic(err)
	}
	defer setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path)()

	src, name, err := tokensource.Detect(context.Background(), "sts.amazonaws.com")
	if err != nil {
		panic(err) // lists what was tried
	}
	fmt.Println(name)
	tok, err := src.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("expires:", tok.Expiry.Format(time.RFC3339))
	// Output:
	// file
	// expires: 2100-01-01T00:00:00Z
}
