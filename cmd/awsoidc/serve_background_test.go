package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// TestServeBackgroundAsDocumented runs the example of serve's help and the
// README exactly as written, in sh: eval "$(awsoidc serve --background
// ...)" sets the variables once the endpoint answers, with no secret on
// stdout, and kill "$AWSOIDC_SERVE_PID" stops it, its token file removed.
func TestServeBackgroundAsDocumented(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sh and kill")
	}
	f := newFixture(t)
	args := f.args("serve", "--background")
	line := `eval "$(` + shQuote(bin)
	for _, a := range args {
		line += " " + shQuote(a)
	}
	line += `)" && printf '%s\n' "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" "$AWSOIDC_SERVE_PID" "${AWS_CONTAINER_AUTHORIZATION_TOKEN-unset}"`
	// The server keeps the shell's stderr: a pipe given as a file, so that
	// waiting for the shell does not wait for the server, and whose end
	// (EOF once the server has exited) tells when the server is gone.
	stderr, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	errText := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(stderr)
		errText <- string(b)
	}()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Env = f.env()
	cmd.Stderr = w
	out, err := cmd.Output()
	_ = w.Close()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	vars := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(vars) != 4 {
		t.Fatalf("the shell printed %q", out)
	}
	uri, tokenFile, pidText, printed := vars[0], vars[1], vars[2], vars[3]
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatalf("AWSOIDC_SERVE_PID=%q", pidText)
	}
	server, _ := os.FindProcess(pid)
	t.Cleanup(func() { _ = server.Kill() })
	if printed != "unset" {
		t.Errorf("AWS_CONTAINER_AUTHORIZATION_TOKEN is set without --print-token")
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	creds, err := endpointcreds.New(uri, func(o *endpointcreds.Options) { o.AuthorizationToken = string(token) }).Retrieve(t.Context())
	if err != nil {
		t.Fatalf("endpointcreds against the background server: %v", err)
	}
	if left := time.Until(creds.Expires); left < 58*time.Minute {
		t.Errorf("Expiration in %s, want the real expiry an hour away", left)
	}

	// kill "$AWSOIDC_SERVE_PID": a graceful stop, which removes the token file.
	if err := server.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case text := <-errText:
		if !strings.Contains(text, "stopped serving credentials") {
			t.Errorf("no graceful stop on stderr:\n%s", text)
		}
	case <-ctx.Done():
		t.Fatal("the server did not exit after SIGTERM")
	}
	if _, err := os.Stat(tokenFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the token file outlived the stopped server: %v", err)
	}
	assertNoSecrets(t, "stdout", string(out), string(token), f.token, creds.SecretAccessKey)
}

// TestServePrintToken checks --print-token, for SDKs older than
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: the token itself is printed too,
// the one in the file.
func TestServePrintToken(t *testing.T) {
	f := newFixture(t)
	p := f.start(f.env(), f.args("serve", "--format", "json", "--print-token")...)
	defer stop(t, p)
	var vars map[string]string
	if err := json.NewDecoder(p.stdout).Decode(&vars); err != nil {
		t.Fatalf("reading serve's variables: %v\n%s", err, p.errText())
	}
	token, err := os.ReadFile(vars[envContainerAuthTokenFile])
	if err != nil {
		t.Fatal(err)
	}
	if vars[envContainerAuthToken] != string(token) || len(token) < 43 {
		t.Errorf("printed token %q, file %q", vars[envContainerAuthToken], token)
	}
}
