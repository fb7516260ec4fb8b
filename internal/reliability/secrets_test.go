package reliability

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/flight"
	"github.com/awsoidc/awsoidc/internal/redact"
	"github.com/awsoidc/awsoidc/internal/securefile"
	"github.com/awsoidc/awsoidc/internal/telemetrytest"
	"github.com/awsoidc/awsoidc/internal/testhook"
	"github.com/awsoidc/awsoidc/internal/tokenid"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// Planted secrets: every one holds the marker "S3CR3T", searched for in
// every output besides the exact values.
var (
	plantedToken = fakeJWT(`{"sub":"system:serviceaccount:prod:billing","exp":1900000000}`, "S3CR3T-token-signature-4f9a")
	plantedKey   = "S3CR3T-secret-access-key-wJalrXUtnFEMI"
	plantedSess  = "S3CR3T-session-token-IQoJb3JpZ2luX2Vj"
	plantedRT    = "S3CR3T-refresh-token-8xLOxBtZp8"
	plantedCS    = "S3CR3T-client-secret-q2w3e4r5"
	plantedCreds = aws.Credentials{AccessKeyID: "ASIAPLANTED", SecretAccessKey: plantedKey, SessionToken: plantedSess,
		CanExpire: true, Expires: t0.Add(time.Hour), Source: "planted"}
)

func fakeJWT(claims, sig string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(claims)) + "." + sig
}

// specimen is a value of an exported type, holding secrets where the type
// can hold them, built through the package's API where it can be.
type specimen struct {
	covers []string // exported types it stands for, "pkg.Type"
	v      any
}

// TestNoSecretsInFormats prints a value of every exported type of every
// library package, holding planted secrets (and the real tokens and
// credentials of a login and an STS call), with %v, %+v, %#v and %s and
// through slog's text and JSON handlers, and finds none of them. A
// completeness check fails when a package gains an exported type without a
// specimen here.
func TestNoSecretsInFormats(t *testing.T) {
	sec := &secrets{}
	for what, v := range map[string]string{"token": plantedToken, "secret key": plantedKey, "session token": plantedSess,
		"refresh token": plantedRT, "client secret": plantedCS} {
		sec.add(what, v)
	}
	specimens := buildSpecimens(t, sec)

	covered := map[string]bool{}
	var out bytes.Buffer
	jsonLog := slog.New(slog.NewJSONHandler(&out, nil))
	textLog := slog.New(slog.NewTextHandler(&out, nil))
	for _, s := range specimens {
		for _, c := range s.covers {
			covered[c] = true
		}
		out.Reset()
		fmt.Fprintf(&out, "%v\n%+v\n%#v\n%s\n", s.v, s.v, s.v, s.v)
		if e, ok := s.v.(error); ok {
			out.WriteString(e.Error())
		}
		jsonLog.Info("specimen", "value", s.v)
		textLog.Info("specimen", "value", s.v)
		text := out.String()
		if leak := sec.find(text); leak != "" || strings.Contains(text, "S3CR3T") {
			t.Errorf("%s prints a secret (%s):\n%s", strings.Join(s.covers, ", "), leak, text)
		}
	}

	exported := exportedTypes(t)
	var missing []string
	for _, name := range exported {
		if !covered[name] && !unreachable[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("exported types without a specimen in TestNoSecretsInFormats (add one): %s", strings.Join(missing, ", "))
	}
	t.Logf("%d exported types in %d specimens, %d secret values searched", len(exported), len(specimens), sec.count())
}

// unreachable are exported types this package cannot import.
var unreachable = map[string]bool{
	"exampletest.Env": true, // examples/internal: importable from examples/ only; holds no secret (a server, an ARN, a path)
	"spiffe.Options":  true, // tokensource/spiffe is a nested module; its leak_test.go prints its values
}

// exportedTypes lists "pkg.Type" for every exported type declared in the
// module's library packages (not commands, examples or this package).
func exportedTypes(t *testing.T) []string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "cmd", "reliability":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_windows.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				if ts := spec.(*ast.TypeSpec); ts.Name.IsExported() {
					names = append(names, f.Name.Name+"."+ts.Name.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// buildSpecimens makes the specimens, adding the real secrets they hold
// (tokens minted by ststest, credentials it issued) to sec.
func buildSpecimens(t *testing.T, sec *secrets) []specimen {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	clk := clock.NewFake(t0)
	dir := t.TempDir()
	var sp []specimen
	add := func(v any, covers ...string) { sp = append(sp, specimen{covers: covers, v: v}) }

	// tokensource.
	tok := tokensource.Token{Value: plantedToken, Expiry: t0.Add(time.Hour)}
	add(tok, "tokensource.Token")
	add(&tok, "tokensource.Token")
	static := tokensource.Static(plantedToken)
	add(static, "tokensource.Source")
	t.Setenv("RELIABILITY_TOKEN", plantedToken)
	add(tokensource.Env("RELIABILITY_TOKEN"))
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(plantedToken), 0o600); err != nil {
		t.Fatal(err)
	}
	file := tokensource.File(tokenFile)
	if _, err := file.Token(ctx); err != nil {
		t.Fatal(err)
	}
	add(file)
	reuse := tokensource.Reuse(static)
	testhook.SetClock(reuse, clk)
	if _, err := reuse.Token(ctx); err != nil {
		t.Fatal(err)
	}
	add(reuse)
	add(tokensource.FromOAuth2(oauth2.StaticTokenSource((&oauth2.Token{AccessToken: plantedToken, RefreshToken: plantedRT}).WithExtra(map[string]any{"id_token": plantedToken}))))
	add(tokensource.FromRetriever(tokensource.AsRetriever(ctx, static)))
	add(tokensource.AsRetriever(ctx, static))
	add(tokensource.Func(func(context.Context) (tokensource.Token, error) { return tok, nil }), "tokensource.Func")
	_, err := tokensource.File(filepath.Join(dir, "missing"), func(o *tokensource.FileOptions) { o.RetryFor = -1 }).Token(ctx)
	add(err, "tokensource.Error")
	add(tokensource.FileOptions{RetryFor: time.Second}, "tokensource.FileOptions")
	add(tokensource.OAuth2Options{UseAccessToken: true}, "tokensource.OAuth2Options")
	add(tokensource.ReuseOptions{Margin: time.Minute}, "tokensource.ReuseOptions")
	pinned := tokenid.PinTo(tokensource.Static(plantedToken+"x"), tok)
	add(pinned, "tokenid.Pinned")
	if _, err := pinned.Token(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = pinned.Token(ctx) // a token of another identity (opaque: another value)
	var mismatch *tokenid.MismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("tokenid.Pinned with another token: %v", err)
	}
	add(err, "tokenid.MismatchError")

	// provider, with an STS that answers planted credentials, or echoes the
	// token in an error (a misbehaving STS-compatible server).
	stsOK := provider.STSClientFunc(func(_ context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return &sts.AssumeRoleWithWebIdentityOutput{
			Credentials:     &types.Credentials{AccessKeyId: aws.String("ASIAPLANTED"), SecretAccessKey: aws.String(plantedKey), SessionToken: aws.String(plantedSess), Expiration: aws.Time(t0.Add(time.Hour))},
			AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::123456789012:assumed-role/r/s"), AssumedRoleId: aws.String("AROA:s")},
		}, nil
	})
	stsEcho := provider.STSClientFunc(func(_ context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return nil, &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity",
			Err: &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "bad token " + aws.ToString(in.WebIdentityToken)}}
	})
	popts := provider.Options{RoleSessionName: "s1", Policy: `{"Version":"2012-10-17"}`, Clock: clk}
	add(popts, "provider.Options")
	p, err := provider.New(stsOK, "arn:aws:iam::123456789012:role/r", static, func(o *provider.Options) { *o = popts })
	if err != nil {
		t.Fatal(err)
	}
	if _, err = p.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	md, _ := p.LastMetadata()
	add(p, "provider.Provider")
	add(md, "provider.Metadata")
	pe, err := provider.New(stsEcho, "arn:aws:iam::123456789012:role/r", static, func(o *provider.Options) { o.MaxAttempts = 1 })
	if err != nil {
		t.Fatal(err)
	}
	_, err = pe.Retrieve(ctx)
	var re *provider.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want a RetrieveError, got %v", err)
	}
	add(err, "provider.RetrieveError")
	add(*re, "provider.RetrieveError")
	add(re.Class, "provider.Class")
	_, err = provider.New(stsOK, "arn:aws:iam::123456789012:role/"+plantedToken, static)
	add(err, "provider.ValidationError")
	t.Setenv("AWS_ROLE_ARN", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	_, err = provider.FromEnvironment(nil)
	var me *provider.MissingEnvError
	if !errors.As(err, &me) {
		t.Fatalf("want a MissingEnvError, got %v", err)
	}
	add(err, "provider.MissingEnvError")
	add(stsOK, "provider.STSClientFunc", "provider.STSClient")

	// cache, with a FileStore holding the planted credentials.
	store, err := cache.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var events []cache.RefreshEvent
	copts := cache.Options{Clock: clk, Store: store, StoreKey: p.CacheKey(), OnRefresh: func(ev cache.RefreshEvent) { events = append(events, ev) }}
	c := cache.New(p, func(o *cache.Options) { *o = copts })
	defer func() { _ = c.Close() }()
	if _, err := c.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	add(c, "cache.Cache")
	add(copts, "cache.Options")
	add(store, "cache.FileStore", "cache.Store")
	failing := cache.New(pe, func(o *cache.Options) { o.Clock = clk; o.OnRefresh = copts.OnRefresh })
	defer func() { _ = failing.Close() }()
	_, err = failing.Retrieve(ctx)
	var ce *cache.RefreshError
	if !errors.As(err, &ce) {
		t.Fatalf("want a RefreshError, got %v", err)
	}
	add(err, "cache.RefreshError")
	add(*ce, "cache.RefreshError")
	for _, ev := range events {
		add(ev, "cache.RefreshEvent")
		add(ev.Outcome, "cache.Outcome")
	}
	var lo config.LoadOptions // the credentials the root's option makes
	if err := awsoidc.WithWebIdentity("arn:aws:iam::123456789012:role/r", static, func(o *awsoidc.Options) { o.STSClient = stsOK })(&lo); err != nil {
		t.Fatal(err)
	}
	// The root option puts its cache inside the aws.CredentialsCache that
	// LoadDefaultConfig keeps (for RetryExpired). That wrapper is not a
	// specimen: it is the SDK's, in every configuration LoadDefaultConfig
	// returns, and fmt's %s of it (a bad verb, printed with %v's rules from
	// depth 0) shows the credentials it holds. Our cache inside it, and the
	// Retrieve below, are what this test covers.
	creds := lo.Credentials
	if _, err := creds.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	add(awsoidc.Options{STSClient: stsOK}, "awsoidc.Options")

	// telemetrytest: a Recorder that saw a refresh through the root's
	// options, and what it recorded.
	rec := &telemetrytest.Recorder{}
	var recLO config.LoadOptions
	if err := awsoidc.WithWebIdentity("arn:aws:iam::123456789012:role/r", static, func(o *awsoidc.Options) {
		o.STSClient, o.MeterProvider, o.TracerProvider = stsOK, rec, rec
	})(&recLO); err != nil {
		t.Fatal(err)
	}
	if _, err := recLO.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	rec.Collect(ctx)
	points, spans := rec.All(), rec.Spans("")
	if len(points) == 0 || len(spans) == 0 {
		t.Fatalf("the recorder saw %d points and %d spans, want some", len(points), len(spans))
	}
	add(rec, "telemetrytest.Recorder")
	add(points, "telemetrytest.Point")
	add(spans, "telemetrytest.Span")
	add(telemetrytest.Event{Name: "event", Props: map[string]any{"k": "v"}}, "telemetrytest.Event")
	add(awsoidc.Options{STSClient: stsOK, MeterProvider: rec, TracerProvider: rec})

	// clock, backoff, redact, securefile.
	add(clk, "clock.Fake", "clock.Clock")
	timer := clk.NewTimer(time.Hour)
	defer timer.Stop()
	add(timer, "clock.Timer")
	add(backoff.Policy{Min: time.Second, Max: time.Minute}, "backoff.Policy")
	secret := redact.New(plantedToken)
	add(secret, "redact.Secret")
	add(&secret, "redact.Secret")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(tokenFile, link); err != nil {
		t.Fatal(err)
	}
	_, err = securefile.ReadFile(link, 1<<10)
	add(err, "securefile.Error")
	add(securefile.LockOptions{Clock: clk}, "securefile.LockOptions")
	add(securefile.WriteOptions{WrapWriter: func(w io.Writer) io.Writer { return w }}, "securefile.WriteOptions")
	var flights flight.Group[tokensource.Token]
	call, _ := flights.Start(ctx, func(context.Context) (tokensource.Token, error) { return tok, nil })
	<-call.Done()
	add(&flights, "flight.Group")
	add(call, "flight.Call")

	// ststest, after a real AssumeRoleWithWebIdentity.
	s := newServer(t)
	s.setClock(clk, 0)
	realTok := s.srv.MintToken(ststest.Claims{Subject: subject, Extra: map[string]any{"nonce": "n"}})
	sec.add("web identity token", realTok)
	out, err := s.srv.STSClient().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(s.role), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(realTok)})
	if err != nil {
		t.Fatal(err)
	}
	sec.add("secret access key", aws.ToString(out.Credentials.SecretAccessKey))
	sec.add("session token", aws.ToString(out.Credentials.SessionToken))
	add(s.srv, "ststest.Server")
	for _, sess := range s.srv.Sessions() {
		add(sess, "ststest.Session")
	}
	add(ststest.Claims{Subject: subject, Extra: map[string]any{"nonce": "n"}}, "ststest.Claims")
	add(ststest.Client{ID: clientID}, "ststest.Client") // its Secret field is a test fixture's configuration, printed as is
	add(ststest.Fault{Code: "Throttling"}, "ststest.Fault")
	add(ststest.Options{Now: clk.Now}, "ststest.Options")
	add(ststest.Role{Name: "r"}, "ststest.Role")
	add(ststest.ActionToken, "ststest.Action")

	// deviceflow, after a real login: the Source and its store hold the
	// ID, access and refresh tokens.
	mem := devStore(t)
	dopts := func(o *deviceflow.Options) {
		o.Store = mem
		o.HTTPClient = s.srv.HTTPClient()
		o.ClientSecret = deviceflow.NewSecret(plantedCS)
		o.Prompt = deviceflow.PromptFunc(func(context.Context, deviceflow.Prompt) error { return nil })
	}
	s.srv.AddClient(ststest.Client{ID: "confidential", Secret: plantedCS})
	src, err := deviceflow.New(s.srv.Issuer(), "confidential", dopts)
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetClock(src, clk)
	s.srv.AutoApprove("alice")
	if err := src.Login(ctx); err != nil {
		t.Fatal(err)
	}
	s.srv.AutoApprove("")
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	toks, ok, err := mem.Load(ctx, deviceflow.StoreKey(s.srv.Issuer(), "confidential"))
	if err != nil || !ok {
		t.Fatalf("no stored tokens: %v", err)
	}
	sec.add("ID token", toks.IDToken)
	sec.add("access token", toks.AccessToken)
	sec.add("refresh token", toks.RefreshToken)
	add(src, "deviceflow.Source", "tokensource.Source")
	add(mem, "deviceflow.FileStore", "deviceflow.TokenStore")
	add(toks, "deviceflow.Tokens")
	add(*toks, "deviceflow.Tokens")
	var o deviceflow.Options
	dopts(&o)
	add(o, "deviceflow.Options")
	fstore, err := deviceflow.NewFileStore(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fstore.Save(ctx, "k", toks); err != nil {
		t.Fatal(err)
	}
	add(fstore, "deviceflow.FileStore")
	add(deviceflow.Prompt{VerificationURI: s.srv.Issuer() + "/device", UserCode: "ABCD-EFGH"}, "deviceflow.Prompt")
	add(deviceflow.PromptFunc(func(context.Context, deviceflow.Prompt) error { return nil }), "deviceflow.PromptFunc", "deviceflow.Prompter")
	_, err = deviceflow.New("http://issuer.example", clientID, dopts)
	add(err, "deviceflow.ValidationError")
	_, err = deviceflow.New(s.srv.Issuer(), "", dopts)
	add(err, "deviceflow.ValidationError")
	add(deviceflow.NewSecret(plantedCS), "deviceflow.Secret", "deviceflow.NewSecret")
	// A caller's struct keeping the Options in an unexported field: fmt
	// prints that field by reflection, without Format.
	add(struct{ o deviceflow.Options }{deviceflow.Options{ClientSecret: deviceflow.NewSecret(plantedCS)}})
	// A revoked refresh token, once the ID token expired: LoginRequiredError
	// wrapping the token endpoint's TokenError (an oauth2.RetrieveError
	// whose Body is the response).
	s.srv.RevokeRefreshTokens()
	clk.Advance(2 * time.Hour)
	fresh, err := deviceflow.New(s.srv.Issuer(), "confidential", dopts)
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetClock(fresh, clk)
	_, err = fresh.Token(ctx)
	var te *deviceflow.TokenError
	if !errors.Is(err, deviceflow.ErrLoginRequired) || !errors.As(err, &te) {
		t.Fatalf("want ErrLoginRequired ← TokenError, got %v", err)
	}
	add(err, "deviceflow.TokenError")
	add(*te, "deviceflow.TokenError")
	s.srv.Fail(ststest.ActionDiscovery, ststest.Fault{Times: -1})
	undiscovered, err := deviceflow.New(s.srv.Issuer(), "confidential", func(o *deviceflow.Options) { dopts(o); o.Store = devStore(t) })
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetClock(undiscovered, clk)
	err = undiscovered.Login(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "deviceflow: discovery of ") {
		t.Fatalf("want a discovery error, got %v", err)
	}
	add(err)
	sp = append(sp, fetchingSpecimens(t, sec)...)
	return sp
}
