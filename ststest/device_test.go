package ststest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const testClient = "cli-client"

// oauthConfig is an x/oauth2 config for a client of s, from discovery.
func oauthConfig(t *testing.T, s *Server, clientID, secret string, scopes ...string) *oauth2.Config {
	t.Helper()
	var d discovery
	getJSON(t, s, s.Issuer()+"/.well-known/openid-configuration", &d)
	if len(scopes) == 0 {
		scopes = []string{"openid", "offline_access"}
	}
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: d.DeviceAuthorizationEndpoint,
			TokenURL:      d.TokenEndpoint,
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
}

// tokenResponse is a token endpoint answer, success or error.
type tokenResponse struct {
	status       int
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

// postToken POSTs form to the token endpoint once (RFC 8628 §3.4 polls are
// done by hand: x/oauth2 sleeps a real interval before its first poll).
func postToken(t *testing.T, s *Server, form url.Values) tokenResponse {
	t.Helper()
	resp, err := s.HTTPClient().PostForm(s.Issuer()+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatal(err)
	}
	tr.status = resp.StatusCode
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q", ct, resp.Header.Get("Cache-Control"))
	}
	return tr
}

func poll(t *testing.T, s *Server, clientID, deviceCode string) tokenResponse {
	t.Helper()
	return postToken(t, s, url.Values{"grant_type": {grantDeviceCode}, "client_id": {clientID}, "device_code": {deviceCode}})
}

func refresh(t *testing.T, s *Server, clientID, rt string) tokenResponse {
	t.Helper()
	return postToken(t, s, url.Values{"grant_type": {grantRefreshToken}, "client_id": {clientID}, "refresh_token": {rt}})
}

// startDevice registers testClient (with c's options) and starts a device
// authorization with x/oauth2.
func startDevice(t *testing.T, s *Server, c Client) *oauth2.DeviceAuthResponse {
	t.Helper()
	c.ID = testClient
	s.AddClient(c)
	da, err := oauthConfig(t, s, testClient, "").DeviceAuth(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return da
}

func TestDeviceFlowEndToEnd(t *testing.T) {
	s, clk := newTestServer(t)
	ctx := testContext(t)
	da := startDevice(t, s, Client{})

	if !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`).MatchString(da.UserCode) {
		t.Errorf("user code %q", da.UserCode)
	}
	if da.VerificationURI != s.Issuer()+"/device" || da.VerificationURIComplete != da.VerificationURI+"?user_code="+da.UserCode {
		t.Errorf("verification URIs %q %q", da.VerificationURI, da.VerificationURIComplete)
	}
	if da.Interval != 5 || da.Expiry.IsZero() || len(da.DeviceCode) < 40 {
		t.Errorf("interval %d, expiry %v, device code length %d", da.Interval, da.Expiry, len(da.DeviceCode))
	}
	shown, err := s.WaitUserCode(ctx)
	if err != nil || shown != da.UserCode {
		t.Fatalf("WaitUserCode = %q, %v; want %q", shown, err, da.UserCode)
	}
	if got := s.pendingUserCodes(); len(got) != 1 || got[0] != da.UserCode {
		t.Errorf("pendingUserCodes = %v", got)
	}

	if tr := poll(t, s, testClient, da.DeviceCode); tr.status != 400 || tr.Error != "authorization_pending" {
		t.Fatalf("first poll: %d %s", tr.status, tr.Error)
	}
	if err := s.Approve(strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")), "alice"); err != nil {
		t.Fatal(err)
	}
	tr := poll(t, s, testClient, da.DeviceCode)
	if tr.status != 200 || tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 || tr.AccessToken == "" || tr.IDToken == "" || tr.RefreshToken == "" {
		t.Fatalf("token response %+v", tr)
	}
	if again := poll(t, s, testClient, da.DeviceCode); again.Error != "invalid_grant" {
		t.Errorf("poll after tokens: %s", again.Error)
	}
	if len(s.pendingUserCodes()) != 0 {
		t.Error("code still pending")
	}

	// The ID token is a real OIDC ID token for the client.
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, s.HTTPClient()), s.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: testClient, Now: clk.Now}).Verify(ctx, tr.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "alice" || !idt.Expiry.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("ID token sub %q exp %v", idt.Subject, idt.Expiry)
	}

	// STS accepts both the ID token and the JWT access token.
	arn := s.AddRole(Role{Name: "cli", Audience: testClient, Subject: "alice"})
	for name, tok := range map[string]string{"id token": tr.IDToken, "access token": tr.AccessToken} {
		out, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(arn), RoleSessionName: aws.String("alice"), WebIdentityToken: aws.String(tok),
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if aws.ToString(out.SubjectFromWebIdentityToken) != "alice" || aws.ToString(out.Audience) != testClient {
			t.Errorf("%s: subject %q audience %q", name, aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Audience))
		}
	}
	if s.Calls(ActionDeviceAuthorization) != 1 || s.Calls(ActionToken) != 3 {
		t.Errorf("calls: device %d token %d", s.Calls(ActionDeviceAuthorization), s.Calls(ActionToken))
	}
}

func TestDevicePollAnswers(t *testing.T) {
	tests := []struct {
		name  string
		act   func(*Server, *fakeNow, string) error
		want  []string // successive poll answers; "" is success
		codes int      // pendingUserCodes after the polls
	}{
		{"pending", func(*Server, *fakeNow, string) error { return nil }, []string{"authorization_pending", "authorization_pending"}, 1},
		{"deny", func(s *Server, _ *fakeNow, c string) error { return s.Deny(c) }, []string{"access_denied", "access_denied"}, 0},
		{"expire", func(s *Server, _ *fakeNow, c string) error { return s.Expire(c) }, []string{"expired_token"}, 0},
		{"expires with time", func(_ *Server, clk *fakeNow, _ string) error { clk.Advance(10 * time.Minute); return nil }, []string{"expired_token"}, 0},
		{"slow down then approve", func(s *Server, _ *fakeNow, c string) error {
			if err := s.SlowDown(c); err != nil {
				return err
			}
			if err := s.SlowDown(c); err != nil {
				return err
			}
			return s.Approve(c, "bob")
		}, []string{"slow_down", "slow_down", "", "invalid_grant"}, 0},
		{"auto approve", func(*Server, *fakeNow, string) error { return nil }, []string{""}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestServer(t)
			if tt.name == "auto approve" {
				s.AutoApprove("robot")
			}
			da := startDevice(t, s, Client{})
			if err := tt.act(s, clk, da.UserCode); err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				if tr := poll(t, s, testClient, da.DeviceCode); tr.Error != want || (want == "") != (tr.status == 200) {
					t.Errorf("poll %d: %d %q, want %q", i, tr.status, tr.Error, want)
				}
			}
			if got := len(s.pendingUserCodes()); got != tt.codes {
				t.Errorf("%d pending codes, want %d", got, tt.codes)
			}
		})
	}
}

func TestDeviceApprovalErrors(t *testing.T) {
	s, _ := newTestServer(t)
	da := startDevice(t, s, Client{})
	if err := s.Approve("BBBB-BBBB", "x"); !errors.Is(err, errUnknownUserCode) {
		t.Errorf("Approve(unknown) = %v", err)
	}
	if err := s.Approve(da.UserCode, ""); err == nil {
		t.Error("Approve without subject succeeded")
	}
	if err := s.Deny(da.UserCode); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"Approve": s.Approve(da.UserCode, "x"), "Deny": s.Deny(da.UserCode), "Expire": s.Expire(da.UserCode)} {
		if err == nil || errors.Is(err, errUnknownUserCode) {
			t.Errorf("%s after Deny = %v, want a not-pending error", name, err)
		}
	}
	if err := s.SlowDown("nope"); !errors.Is(err, errUnknownUserCode) {
		t.Errorf("SlowDown(unknown) = %v", err)
	}
	if tr := poll(t, s, testClient, "no-such-device-code"); tr.Error != "invalid_grant" {
		t.Errorf("unknown device code: %s", tr.Error)
	}
	s.AddClient(Client{ID: "other"})
	if tr := poll(t, s, "other", da.DeviceCode); tr.Error != "invalid_grant" {
		t.Errorf("another client's device code: %s", tr.Error)
	}
	if tr := poll(t, s, "unregistered", da.DeviceCode); tr.status != 401 || tr.Error != "invalid_client" {
		t.Errorf("unknown client: %d %s", tr.status, tr.Error)
	}
	for _, form := range []url.Values{{"client_id": {testClient}}, {"client_id": {testClient}, "grant_type": {"password"}}} {
		if tr := postToken(t, s, form); tr.status != 400 || (tr.Error != "invalid_request" && tr.Error != "unsupported_grant_type") {
			t.Errorf("%v: %d %s", form, tr.status, tr.Error)
		}
	}
}

func TestDeviceEnforceInterval(t *testing.T) {
	s, clk := newTestServer(t)
	da := startDevice(t, s, Client{EnforceInterval: true, Interval: 2 * time.Second})
	if da.Interval != 2 {
		t.Fatalf("interval %d", da.Interval)
	}
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "authorization_pending"},
		{time.Second, "slow_down"},     // interval becomes 7s
		{2 * time.Second, "slow_down"}, // interval becomes 12s
		{12 * time.Second, "authorization_pending"},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		if tr := poll(t, s, testClient, da.DeviceCode); tr.Error != st.want {
			t.Errorf("step %d: %q, want %q", i, tr.Error, st.want)
		}
	}
}

func TestDeviceScopes(t *testing.T) {
	tests := []struct {
		scopes           []string
		client           Client
		wantID, wantRT   bool
		wantOpaqueAccess bool
	}{
		{[]string{"openid", "offline_access"}, Client{}, true, true, false},
		{[]string{"openid"}, Client{}, true, false, false},
		{[]string{"offline_access"}, Client{}, false, true, false},
		{[]string{"openid", "offline_access"}, Client{noRefreshToken: true, opaqueAccessTokens: true}, true, false, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.scopes, "+"), func(t *testing.T) {
			s, _ := newTestServer(t)
			s.AutoApprove("carol")
			tt.client.ID = testClient
			s.AddClient(tt.client)
			da, err := oauthConfig(t, s, testClient, "", tt.scopes...).DeviceAuth(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			tr := poll(t, s, testClient, da.DeviceCode)
			if (tr.IDToken != "") != tt.wantID || (tr.RefreshToken != "") != tt.wantRT || strings.HasPrefix(tr.AccessToken, "at_") != tt.wantOpaqueAccess {
				t.Errorf("response %+v", tr)
			}
			if tr.Scope != strings.Join(tt.scopes, " ") {
				t.Errorf("scope %q", tr.Scope)
			}
		})
	}
}

func TestAccessTokenAudienceParam(t *testing.T) {
	s, _ := newTestServer(t)
	s.AutoApprove("dave")
	s.AddClient(Client{ID: testClient})
	da, err := oauthConfig(t, s, testClient, "").DeviceAuth(testContext(t), oauth2.SetAuthURLParam("audience", "sts.amazonaws.com"))
	if err != nil {
		t.Fatal(err)
	}
	tr := poll(t, s, testClient, da.DeviceCode)
	var c map[string]any
	decodeJSONSegment(t, strings.Split(tr.AccessToken, ".")[1], &c)
	if c["aud"] != "sts.amazonaws.com" || c["client_id"] != testClient || c["sub"] != "dave" {
		t.Errorf("access token claims %v", c)
	}
}

// login runs a device login approved for subject and returns the response.
func login(t *testing.T, s *Server, c Client, subject string) tokenResponse {
	t.Helper()
	da := startDevice(t, s, c)
	if err := s.Approve(da.UserCode, subject); err != nil {
		t.Fatal(err)
	}
	tr := poll(t, s, testClient, da.DeviceCode)
	if tr.status != 200 || tr.RefreshToken == "" {
		t.Fatalf("login: %+v", tr)
	}
	return tr
}

func TestRefreshWithoutRotation(t *testing.T) {
	s, clk := newTestServer(t)
	tr := login(t, s, Client{}, "erin")
	for i := range 2 {
		clk.Advance(time.Hour)
		r := refresh(t, s, testClient, tr.RefreshToken)
		if r.status != 200 || r.IDToken == "" || r.RefreshToken != "" {
			t.Fatalf("refresh %d: %+v", i, r)
		}
	}
	// x/oauth2 interop: an expired token is refreshed with the stored one.
	cfg := oauthConfig(t, s, testClient, "")
	tok, err := cfg.TokenSource(testContext(t), &oauth2.Token{RefreshToken: tr.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("id_token") == nil || tok.RefreshToken != tr.RefreshToken {
		t.Errorf("x/oauth2 refresh: %v", tok.Extra("id_token"))
	}
}

func TestRefreshOptions(t *testing.T) {
	s, clk := newTestServer(t)
	tr := login(t, s, Client{noIDTokenOnRefresh: true, refreshTokenTTL: 24 * time.Hour}, "erin")
	if r := refresh(t, s, testClient, tr.RefreshToken); r.status != 200 || r.IDToken != "" {
		t.Errorf("noIDTokenOnRefresh: %+v", r)
	}
	clk.Advance(24 * time.Hour)
	if r := refresh(t, s, testClient, tr.RefreshToken); r.Error != "invalid_grant" {
		t.Errorf("expired refresh token: %+v", r)
	}
}

func TestRefreshRotation(t *testing.T) {
	s, _ := newTestServer(t)
	tr := login(t, s, Client{RotateRefreshTokens: true}, "frank")
	r1 := refresh(t, s, testClient, tr.RefreshToken)
	if r1.status != 200 || r1.RefreshToken == "" || r1.RefreshToken == tr.RefreshToken {
		t.Fatalf("rotation: %+v", r1)
	}
	// Reusing the rotated token fails, through x/oauth2 as RetrieveError.
	cfg := oauthConfig(t, s, testClient, "")
	_, err := cfg.TokenSource(testContext(t), &oauth2.Token{RefreshToken: tr.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("reuse: %v", err)
	}
	if err := err.Error(); strings.Contains(err, tr.RefreshToken) {
		t.Error("error contains the refresh token")
	}
	// Without reuse detection the new token still works.
	if r2 := refresh(t, s, testClient, r1.RefreshToken); r2.status != 200 {
		t.Errorf("new token after reuse: %+v", r2)
	}
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	s, _ := newTestServer(t)
	tr := login(t, s, Client{RotateRefreshTokens: true, ReuseRevokesFamily: true}, "grace")
	r1 := refresh(t, s, testClient, tr.RefreshToken)
	if r := refresh(t, s, testClient, tr.RefreshToken); r.Error != "invalid_grant" {
		t.Fatalf("reuse: %+v", r)
	}
	if r := refresh(t, s, testClient, r1.RefreshToken); r.Error != "invalid_grant" {
		t.Errorf("descendant after reuse: %+v", r)
	}
}

func TestRevokeRefreshTokens(t *testing.T) {
	s, _ := newTestServer(t)
	tr := login(t, s, Client{}, "heidi")
	s.RevokeRefreshTokens()
	if r := refresh(t, s, testClient, tr.RefreshToken); r.Error != "invalid_grant" {
		t.Errorf("after RevokeRefreshTokens: %+v", r)
	}

	// The RFC 7009 endpoint revokes one login.
	tr = login(t, s, Client{}, "heidi")
	resp, err := s.HTTPClient().PostForm(s.Issuer()+"/revoke", url.Values{"client_id": {testClient}, "token": {tr.RefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || s.Calls(ActionRevoke) != 1 {
		t.Errorf("revoke: %d", resp.StatusCode)
	}
	if r := refresh(t, s, testClient, tr.RefreshToken); r.Error != "invalid_grant" {
		t.Errorf("after revocation: %+v", r)
	}
}

func TestConfidentialClient(t *testing.T) {
	s, _ := newTestServer(t)
	s.AutoApprove("ivan")
	s.AddClient(Client{ID: "conf", Secret: "s3cr3t/+="})
	ctx := testContext(t)
	invalidClient := func(err error) bool {
		var re *oauth2.RetrieveError
		return errors.As(err, &re) && re.ErrorCode == "invalid_client" && re.Response.StatusCode == 401
	}
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		cfg := oauthConfig(t, s, "conf", "s3cr3t/+=")
		cfg.Endpoint.AuthStyle = style
		// The device authorization endpoint authenticates the client too
		// (RFC 8628 §3.1): x/oauth2's DeviceAuth alone sends client_id only.
		if _, err := cfg.DeviceAuth(ctx); !invalidClient(err) {
			t.Errorf("device authorization without the secret: %v, want invalid_client", err)
		}
		if _, err := cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("client_secret", "wrong")); !invalidClient(err) {
			t.Errorf("device authorization with a wrong secret: %v, want invalid_client", err)
		}
		var da *oauth2.DeviceAuthResponse
		var err error
		if style == oauth2.AuthStyleInParams {
			da, err = cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("client_secret", "s3cr3t/+="))
		} else {
			basic := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				r.SetBasicAuth(url.QueryEscape("conf"), url.QueryEscape("s3cr3t/+="))
				return http.DefaultTransport.RoundTrip(r)
			})}
			da, err = cfg.DeviceAuth(context.WithValue(ctx, oauth2.HTTPClient, basic))
		}
		if err != nil {
			t.Fatalf("style %v: device authorization: %v", style, err)
		}
		form := url.Values{"grant_type": {grantDeviceCode}, "client_id": {"conf"}, "device_code": {da.DeviceCode}}
		if tr := postToken(t, s, form); tr.status != 401 || tr.Error != "invalid_client" {
			t.Errorf("no secret: %d %s", tr.status, tr.Error)
		}
		form.Set("client_secret", "wrong")
		if tr := postToken(t, s, form); tr.status != 401 {
			t.Errorf("wrong secret: %d %s", tr.status, tr.Error)
		}
		// x/oauth2's own Exchange path authenticates per style.
		tok, err := cfg.Exchange(ctx, "", oauth2.SetAuthURLParam("grant_type", grantDeviceCode), oauth2.SetAuthURLParam("device_code", da.DeviceCode))
		if err != nil {
			t.Fatalf("style %v: %v", style, err)
		}
		if tok.Extra("id_token") == nil {
			t.Error("no id_token")
		}
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	s, _ := newTestServer(t)
	s.AutoApprove("judy")
	da := startDevice(t, s, Client{})
	s.Fail(ActionToken, Fault{Times: 2})
	s.Fail(ActionToken, Fault{Code: "temporarily_unavailable"})
	s.Fail(ActionToken, Fault{Reset: true})
	for i, want := range []int{500, 500, 503} {
		if tr := poll(t, s, testClient, da.DeviceCode); tr.status != want {
			t.Errorf("poll %d: %d, want %d", i, tr.status, want)
		}
	}
	if _, err := s.HTTPClient().PostForm(s.Issuer()+"/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {testClient}, "device_code": {da.DeviceCode}}); err == nil {
		t.Error("reset fault: request succeeded")
	}
	if tr := poll(t, s, testClient, da.DeviceCode); tr.status != 200 {
		t.Errorf("after faults: %+v", tr)
	}
	if got := s.Calls(ActionToken); got != 5 {
		t.Errorf("Calls(Token) = %d, want 5", got)
	}
}

func TestVerificationPage(t *testing.T) {
	s, _ := newTestServer(t)
	da := startDevice(t, s, Client{})
	resp, err := s.HTTPClient().Get(da.VerificationURIComplete)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(page), da.UserCode) {
		t.Errorf("page does not show the code: %s", page)
	}
	resp, err = s.HTTPClient().PostForm(da.VerificationURI, url.Values{"user_code": {da.UserCode}, "subject": {"mallory"}, "decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("approve: %d", resp.StatusCode)
	}
	tr := poll(t, s, testClient, da.DeviceCode)
	var c map[string]any
	decodeJSONSegment(t, strings.Split(tr.IDToken, ".")[1], &c)
	if c["sub"] != "mallory" {
		t.Errorf("sub = %v", c["sub"])
	}

	// Approving again fails: the page says why, as HTML.
	resp, err = s.HTTPClient().PostForm(da.VerificationURI, url.Values{"user_code": {da.UserCode}, "subject": {"mallory"}, "decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusBadRequest || got != "text/html; charset=utf-8" {
		t.Errorf("second approve: %d, Content-Type %q; want 400, text/html; charset=utf-8", resp.StatusCode, got)
	}
}

func TestWaitUserCodeOrder(t *testing.T) {
	s, _ := newTestServer(t)
	s.AddClient(Client{ID: testClient})
	ctx := testContext(t)
	cfg := oauthConfig(t, s, testClient, "")
	var codes []string
	for range 2 {
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, da.UserCode)
	}
	for _, want := range codes {
		if got, err := s.WaitUserCode(ctx); err != nil || got != want {
			t.Errorf("WaitUserCode = %q, %v; want %q", got, err, want)
		}
	}
	done := make(chan string)
	go func() {
		code, _ := s.WaitUserCode(ctx)
		done <- code
	}()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != da.UserCode {
		t.Errorf("blocked WaitUserCode = %q, want %q", got, da.UserCode)
	}
}

// roundTripFunc adapts a function to an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
