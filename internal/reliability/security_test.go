package reliability

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/securefile"
	"github.com/awsoidc/awsoidc/internal/testhook"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

func skipOnWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
}

// TestSecretsFindIsNotBlind: the sweep's search finds a planted secret in a
// large text, at its start, middle and end.
func TestSecretsFindIsNotBlind(t *testing.T) {
	sec := &secrets{}
	sec.add("token", plantedToken)
	sec.add("key", plantedKey)
	filler := strings.Repeat("x", 1<<20)
	for _, text := range []string{plantedKey + filler, filler + plantedToken + filler, filler + strings.Split(plantedToken, ".")[2]} {
		if sec.find(text) == "" {
			t.Fatalf("secret not found in %d bytes", len(text))
		}
	}
	if got := sec.find(filler); got != "" {
		t.Fatalf("found %q in filler", got)
	}
}

// TestStoreFileModes: the credentials store and the device-flow token store
// write 0600 files in a 0700 directory, created by them, whatever the umask.
func TestStoreFileModes(t *testing.T) {
	skipOnWindows(t)
	ctx := context.Background()
	base := t.TempDir()

	credDir := filepath.Join(base, "deep", "credentials")
	st, err := cache.NewFileStore(credDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, "key", plantedCreds); err != nil {
		t.Fatal(err)
	}
	tokDir := filepath.Join(base, "tokens")
	ts, err := deviceflow.NewFileStore(tokDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Save(ctx, "key", &deviceflow.Tokens{Issuer: "https://issuer.example", ClientID: "c", IDToken: plantedToken, RefreshToken: plantedRT}); err != nil {
		t.Fatal(err)
	}
	unlock, err := st.Lock(ctx, "key")
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}

	for _, d := range []string{credDir, tokDir} {
		assertMode(t, d, fs.ModeDir|0o700)
	}
	assertMode(t, st.Path("key"), 0o600)
	assertMode(t, st.Path("key")+".lock", 0o600)
	assertMode(t, ts.Path("key"), 0o600)
	// The secrets are in the files (that is their job), and nowhere else in
	// the directories: no temporary file left behind.
	for _, d := range []string{credDir, tokDir} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), "tmp") {
				t.Errorf("temporary file %s left in %s", e.Name(), d)
			}
		}
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != want {
		t.Errorf("%s: mode %s, want %s", path, got, want)
	}
}

// TestStoreRefusesInsecureDirectory: a store directory writable by group or
// others is refused when the store is opened, with an error that names the
// directory, the rule and the fix, and never modified.
func TestStoreRefusesInsecureDirectory(t *testing.T) {
	skipOnWindows(t)
	for _, mode := range []fs.FileMode{0o770, 0o707, 0o777} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			_, err := cache.NewFileStore(dir)
			var se *securefile.Error
			if !errors.Is(err, securefile.ErrInsecureMode) || !errors.As(err, &se) || se.Path != dir || se.Rule == "" {
				t.Fatalf("FileStore(%s dir) = %v, want an insecure-mode refusal naming it", mode, err)
			}
			if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "chmod") {
				t.Errorf("the message does not say what to do: %v", err)
			}
			_, err = deviceflow.NewFileStore(dir)
			if !errors.Is(err, securefile.ErrInsecureMode) {
				t.Errorf("deviceflow.NewFileStore(%s dir) = %v, want an insecure-mode refusal", mode, err)
			}
			assertMode(t, dir, fs.ModeDir|mode)
			t.Logf("%v", err)
		})
	}
}

// TestStoreRefusesPlantedSymlink: a symlink planted in place of a store
// file is neither followed on Load nor replaced on Save; both fail with an
// error that names the path and the rule, and the symlink's target is
// untouched.
func TestStoreRefusesPlantedSymlink(t *testing.T) {
	skipOnWindows(t)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := cache.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("do not touch"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, st.Path("key")); err != nil {
		t.Fatal(err)
	}
	_, ok, err := st.Load(ctx, "key")
	if ok || !errors.Is(err, securefile.ErrSymlink) || !strings.Contains(err.Error(), st.Path("key")) {
		t.Errorf("Load through a planted symlink = %v, %v; want a symlink refusal naming the file", ok, err)
	}
	err = st.Save(ctx, "key", plantedCreds)
	if !errors.Is(err, securefile.ErrSymlink) {
		t.Errorf("Save over a planted symlink = %v, want a symlink refusal", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "do not touch" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if fi, err := os.Lstat(st.Path("key")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the planted symlink was replaced")
	}
	if strings.Contains(fmt.Sprint(err), "S3CR3T") {
		t.Errorf("the refusal shows a secret: %v", err)
	}

	// The device-flow token store refuses it too (its directory exists
	// once it has saved).
	if err := os.Mkdir(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	ts, err := deviceflow.NewFileStore(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, ts.Path("key")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Load(ctx, "key"); !errors.Is(err, securefile.ErrSymlink) {
		t.Errorf("deviceflow Load through a planted symlink = %v, want a symlink refusal", err)
	}
	if err := ts.Save(ctx, "key", &deviceflow.Tokens{IDToken: plantedToken}); !errors.Is(err, securefile.ErrSymlink) {
		t.Errorf("deviceflow Save over a planted symlink = %v, want a symlink refusal", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "do not touch" {
		t.Errorf("the symlink's target was written: %q", b)
	}
}

// TestDeviceFlowRefusesPlainHTTP: the device flow sends nothing over plain
// http except to a loopback address, whether the URL is the issuer's or an
// endpoint its discovery document names.
func TestDeviceFlowRefusesPlainHTTP(t *testing.T) {
	for _, issuer := range []string{"http://issuer.example", "http://10.0.0.1:8080", "http://[2001:db8::1]/realm", "ftp://issuer.example"} {
		_, err := deviceflow.New(issuer, clientID, func(o *deviceflow.Options) { o.Store = devStore(t) })
		var ve *deviceflow.ValidationError
		refused := errors.As(err, &ve)
		if !refused || !strings.Contains(fmt.Sprint(err), "https") {
			t.Errorf("New(%q) = %v, want a refusal that asks for https", issuer, err)
		}
	}
	for _, issuer := range []string{"http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "https://issuer.example"} {
		if _, err := deviceflow.New(issuer, clientID, func(o *deviceflow.Options) { o.Store = devStore(t) }); err != nil {
			t.Errorf("New(%q) = %v, want it accepted", issuer, err)
		}
	}

	// A loopback issuer whose discovery document names a plain-http token
	// endpoint elsewhere: the device flow refuses to send the device code
	// or a refresh token there.
	mux := http.NewServeMux()
	idp := httptest.NewServer(mux)
	defer idp.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":"http://idp.example/token","device_authorization_endpoint":"http://idp.example/device","jwks_uri":%q}`,
			idp.URL, idp.URL+"/keys")
	})
	src, err := deviceflow.New(idp.URL, clientID, func(o *deviceflow.Options) {
		o.Store = devStore(t)
		o.HTTPClient = idp.Client()
		o.Prompt = deviceflow.PromptFunc(func(context.Context, deviceflow.Prompt) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	err = src.Login(ctx)
	if err == nil || !strings.Contains(err.Error(), "must use https") || !strings.Contains(err.Error(), "idp.example") {
		t.Fatalf("Login with a plain-http endpoint = %v, want a refusal naming it", err)
	}
	t.Logf("%v", err)
}

// maxResponseSize is deviceflow's cap on a response body: 1 MiB.
const maxResponseSize = 1 << 20

// TestDeviceFlowResponseSizeLimit: a response body over maxResponseSize is
// not read past the limit, and fails the login with an error that says so.
func TestDeviceFlowResponseSizeLimit(t *testing.T) {
	big := strings.Repeat(" ", maxResponseSize+1)
	var mux http.ServeMux
	idp := httptest.NewServer(&mux)
	defer idp.Close()
	doc := []byte(fmt.Sprintf(`%s{"issuer":%q}`, big, idp.URL))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// A valid document after more whitespace than the limit allows.
		_, _ = w.Write(doc)
	})
	src, err := deviceflow.New(idp.URL, clientID, func(o *deviceflow.Options) {
		o.Store = devStore(t)
		o.HTTPClient = idp.Client()
		o.Prompt = deviceflow.PromptFunc(func(context.Context, deviceflow.Prompt) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	err = src.Login(ctx)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(maxResponseSize)) {
		t.Fatalf("Login with a %d-byte discovery document = %v, want a size-limit error", len(big), err)
	}
	if !strings.HasPrefix(err.Error(), "deviceflow: discovery of ") {
		t.Errorf("error %v, want a discovery error", err)
	}
	if len(err.Error()) > 1000 {
		t.Errorf("the error quotes the body: %d bytes", len(err.Error()))
	}
	t.Logf("%v", err)
}

// TestDeviceFlowTokenResponseSizeLimit: an oversized answer of the token
// endpoint (the one that carries the secrets) to a refresh is not read past
// the limit and fails the renewal with the size-limit error.
func TestDeviceFlowTokenResponseSizeLimit(t *testing.T) {
	var mux http.ServeMux
	idp := httptest.NewServer(&mux)
	defer idp.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":%q,"device_authorization_endpoint":%q,"jwks_uri":%q}`,
			idp.URL, idp.URL+"/token", idp.URL+"/device", idp.URL+"/keys")
	})
	tokenCalls := 0
	mux.HandleFunc("/token", func(w http.ResponseWriter, _ *http.Request) {
		tokenCalls++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + strings.Repeat("A", maxResponseSize) + `","token_type":"Bearer"}`))
	})
	clk := clock.NewFake(t0)
	mem := devStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := mem.Save(ctx, deviceflow.StoreKey(idp.URL, clientID), &deviceflow.Tokens{
		Issuer: idp.URL, ClientID: clientID, IDToken: plantedToken, IDTokenExpiry: t0.Add(-time.Minute), RefreshToken: plantedRT, Obtained: t0.Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	src, err := deviceflow.New(idp.URL, clientID, func(o *deviceflow.Options) {
		o.Store = mem
		o.HTTPClient = idp.Client()
	})
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetClock(src, clk)
	_, err = src.Token(ctx)
	// x/oauth2 reads at most 1 MiB of a token response itself (its own
	// io.LimitReader), which is MaxResponseSize: the body is cut there and
	// the refresh fails, either with deviceflow's size-limit error or with
	// oauth2's "cannot parse json" of the cut body.
	cut := err != nil && (strings.Contains(err.Error(), fmt.Sprint(maxResponseSize)) || strings.Contains(err.Error(), "cannot parse json"))
	if !cut || tokenCalls != 1 {
		t.Fatalf("refresh with an oversized token response (%d calls) = %v, want a failure at the size limit", tokenCalls, err)
	}
	if len(err.Error()) > 1000 || strings.Contains(err.Error(), "AAAAAAAA") {
		t.Errorf("the error quotes the body: %.200s", err)
	}
	t.Logf("%v", err)
}
