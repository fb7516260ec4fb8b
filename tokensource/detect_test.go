package tokensource_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

// debugLog returns a logger at debug level writing to the returned buffer.
// Detect logs from the calling goroutine only.
func debugLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// TestDetectFromVariables: the variables decide in the documented order,
// without any probe; the log says what was picked and why each earlier
// source was passed over, never a secret variable's value.
func TestDetectFromVariables(t *testing.T) {
	cases := []struct {
		env        map[string]string
		want, desc string
		passed     []string
	}{
		{
			env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", //nolint:gosec // G101: variable names and a fake secret
				"ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner.example/idtoken?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": requestSecret},
			want: "file", desc: `tokensource.File("/var/run/secrets/eks.amazonaws.com/serviceaccount/token")`,
		},
		{
			env:  map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner.example/idtoken?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": requestSecret, "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token", "GCE_METADATA_HOST": "metadata.example"}, //nolint:gosec // G101: variable names and a fake secret
			want: "github-actions", desc: `tokensource.GitHubActions("aud-x")`, passed: []string{"AWS_WEB_IDENTITY_TOKEN_FILE is not set"},
		},
		{
			env:  map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner.example/idtoken", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token", "IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": requestSecret}, //nolint:gosec // G101: variable names and a fake secret
			want: "azure-workload-identity", desc: `tokensource.File("/var/run/secrets/azure/tokens/azure-identity-token")`,
			passed: []string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set (the job lacks the permission id-token: write)"},
		},
		{
			env:  map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": requestSecret, "GCE_METADATA_HOST": "metadata.example"},
			want: "azure-app-service", desc: `tokensource.Azure("aud-x")`, passed: []string{"ACTIONS_ID_TOKEN_REQUEST_URL is not set", "AZURE_FEDERATED_TOKEN_FILE is not set"},
		},
		{
			env:  map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "GCE_METADATA_HOST": "metadata.example"},
			want: "gcp", desc: `tokensource.GCP("aud-x")`, passed: []string{"IDENTITY_ENDPOINT and IDENTITY_HEADER are not both set"},
		},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			clearSourceEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			logger, logs := debugLog()
			src, name, err := tokensource.Detect(context.Background(), "aud-x", func(o *tokensource.DetectOptions) {
				o.Logger = logger
				o.Client = refusedClient() // no probe may be needed
			})
			if err != nil || name != c.want || fmt.Sprint(src) != c.desc {
				t.Fatalf("Detect = %v, %q, %v; want %s, %q", src, name, err, c.desc, c.want)
			}
			out := logs.String()
			if !strings.Contains(out, "source="+c.want) || !strings.Contains(out, "detected a token source") {
				t.Errorf("log does not name the pick:\n%s", out)
			}
			for _, p := range c.passed {
				if !strings.Contains(out, p) {
					t.Errorf("log does not say %q:\n%s", p, out)
				}
			}
			if strings.Contains(out, requestSecret) {
				t.Errorf("log shows a secret variable's value:\n%s", out)
			}
		})
	}
}

// metadataServer is a fake link-local address 169.254.169.254 that answers
// as Google's metadata server, Azure's IMDS, or neither (as AWS's IMDS does
// for their paths), following each one's documented protocol.
func metadataServer(t *testing.T, kind string, tok string) (*http.Client, *seen) {
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case kind == "gcp" && r.Header.Get("Metadata-Flavor") == "Google":
			w.Header().Set("Metadata-Flavor", "Google")
			if r.URL.Path == "/computeMetadata/v1/instance/service-accounts/default/identity" {
				_, _ = w.Write([]byte(tok))
			}
		case kind == "azure" && r.Header.Get("Metadata") == "true" && r.URL.Path == "/metadata/instance":
			jsonAnswer(w, map[string]any{"compute": map[string]any{"azEnvironment": "AzurePublicCloud", "location": "westeurope"}})
		case kind == "azure" && r.Header.Get("Metadata") == "true" && r.URL.Path == "/metadata/identity/oauth2/token":
			azureAnswer(w, tok)
		case kind == "azure":
			http.Error(w, `{"error":"Bad request. Required metadata header not specified"}`, http.StatusBadRequest)
		default:
			http.NotFound(w, r)
		}
	})
	return linkLocalClient(srv), rec
}

// TestDetectProbes: off the variables, the metadata servers at
// 169.254.169.254 are probed with their own headers; the source returned
// uses the same client and fetches from the same server.
func TestDetectProbes(t *testing.T) {
	tok := jwtExp(farFuture)
	for _, c := range []struct{ kind, want, probeHeader string }{
		{"gcp", "gcp", "Metadata-Flavor"},
		{"azure", "azure-imds", "Metadata"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			clearSourceEnv(t)
			client, rec := metadataServer(t, c.kind, tok)
			src, name, err := tokensource.Detect(context.Background(), "", func(o *tokensource.DetectOptions) { o.Client = client })
			if err != nil || name != c.want {
				t.Fatalf("Detect = %v, %q, %v; want %q", src, name, err, c.want)
			}
			if n := rec.count(); n != 2 {
				t.Errorf("%d probe requests, want 2 (one per cloud, together)", n)
			}
			for _, r := range rec.reqs {
				if r.Host != "169.254.169.254" {
					t.Errorf("probe to %s, want 169.254.169.254", r.Host)
				}
			}
			got, err := src.Token(context.Background())
			if err != nil || got.Value != tok {
				t.Errorf("Token = %v, %v", got, err)
			}
		})
	}
}

// TestDetectNothing: with no variable and no metadata server (one that
// answers 404, one that refuses connections, one that never answers), Detect
// fails with an error listing the six sources and why each was passed over,
// within the probe timeout.
func TestDetectNothing(t *testing.T) {
	hang, _ := fakeServer(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	aws, _ := metadataServer(t, "aws", "")
	for _, c := range []struct {
		name   string
		client *http.Client
		why    string
	}{
		{"AWS IMDS answers 404", aws, "answered 404 Not Found but is not that metadata server"},
		{"connection refused", refusedClient(), "connection refused"},
		{"no answer", linkLocalClient(hang), "no answer from http://169.254.169.254 within 30ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clearSourceEnv(t)
			src, name, err := tokensource.Detect(context.Background(), "", func(o *tokensource.DetectOptions) {
				o.Client = c.client
				o.ProbeTimeout = 30 * time.Millisecond
			})
			var te *tokensource.Error
			if src != nil || name != "" || !errors.As(err, &te) || te.Source != "detect" {
				t.Fatalf("Detect = %v, %q, %v; want a detect error", src, name, err)
			}
			for _, want := range []string{"file:", "github-actions:", "azure-workload-identity:", "azure-app-service:", "gcp: " + "", "azure-imds:", c.why} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to say %q", err, want)
				}
			}
		})
	}
}

// TestDetectCanceled: a done ctx ends Detect with its error, before or
// during the probes.
func TestDetectCanceled(t *testing.T) {
	clearSourceEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := tokensource.Detect(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("done ctx: err = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	hang, _ := fakeServer(t, func(_ http.ResponseWriter, r *http.Request) { cancel(); <-r.Context().Done() })
	_, _, err := tokensource.Detect(ctx, "", func(o *tokensource.DetectOptions) { o.Client = linkLocalClient(hang) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled during the probes: err = %v, want context.Canceled", err)
	}
}
