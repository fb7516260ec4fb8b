package ststest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deviceState is where a device authorization stands.
type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
	deviceExpired
	deviceConsumed // tokens issued; the device code is spent
)

// deviceGrant is one device authorization request (RFC 8628 §3.2).
type deviceGrant struct {
	deviceCode string
	userCode   string
	client     *Client
	scope      string
	audience   string // "audience" parameter: aud of JWT access tokens
	expires    time.Time
	interval   time.Duration
	lastPoll   time.Time
	state      deviceState
	subject    string
	slowDowns  int  // slow_down answers scripted by SlowDown
	seen       bool // returned by WaitUserCode
}

// userCodeAlphabet is RFC 8628 §6.1's base-20 set: no vowels, no
// look-alikes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// serveDeviceAuthorization answers RFC 8628 §3.1 requests with §3.2
// responses.
func (s *Server) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, ActionDeviceAuthorization, kindOAuth) {
		return
	}
	form, ok := s.readForm(w, r)
	if !ok {
		return
	}
	c := s.authenticateClient(w, r, form, false) // RFC 8628 §3.1: RFC 6749 §2.3 applies
	if c == nil {
		return
	}
	g := &deviceGrant{
		deviceCode: randomString(base64url, 43),
		userCode:   newUserCode(),
		client:     c,
		scope:      form.Get("scope"),
		audience:   form.Get("audience"),
		interval:   max(c.Interval, 0),
		expires:    s.now().Add(c.DeviceCodeTTL),
	}
	s.mu.Lock()
	for s.userCodes[g.userCode] != nil {
		g.userCode = newUserCode()
	}
	if s.autoApprove != "" {
		g.state, g.subject = deviceApproved, s.autoApprove
	}
	s.devices[g.deviceCode] = g
	s.userCodes[g.userCode] = g
	s.deviceOrder = append(s.deviceOrder, g)
	s.notifyLocked()
	s.mu.Unlock()

	verify := s.Issuer() + "/device"
	resp := map[string]any{
		"device_code":               g.deviceCode,
		"user_code":                 g.userCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(g.userCode),
		"expires_in":                int(c.DeviceCodeTTL / time.Second),
	}
	if c.Interval > 0 {
		resp["interval"] = int(c.Interval / time.Second)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// newUserCode returns "XXXX-XXXX" from userCodeAlphabet.
func newUserCode() string {
	var b strings.Builder
	n := big.NewInt(int64(len(userCodeAlphabet)))
	for i := range 8 {
		if i == 4 {
			b.WriteByte('-')
		}
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			panic(err)
		}
		b.WriteByte(userCodeAlphabet[k.Int64()])
	}
	return b.String()
}

// normalizeUserCode accepts user codes as people type them: any case, with
// or without the dash or spaces (RFC 8628 §6.1).
func normalizeUserCode(code string) string {
	code = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(code) == 8 {
		return code[:4] + "-" + code[4:]
	}
	return code
}

// errUnknownUserCode is returned by the device approval methods for a user
// code the server did not issue.
var errUnknownUserCode = errors.New("ststest: unknown user code")

// pendingGrant returns the pending grant of userCode; s.mu must be held.
func (s *Server) pendingGrantLocked(userCode string) (*deviceGrant, error) {
	g := s.userCodes[normalizeUserCode(userCode)]
	if g == nil {
		return nil, errUnknownUserCode
	}
	if g.state != devicePending {
		return nil, fmt.Errorf("ststest: user code %s is no longer pending", g.userCode)
	}
	return g, nil
}

// Approve lets the user with subject (the "sub" of the tokens) authorize
// the device that was shown userCode: its next poll gets tokens. It fails
// for an unknown or no longer pending code.
func (s *Server) Approve(userCode, subject string) error {
	if subject == "" {
		return errors.New("ststest: Approve needs a subject")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.pendingGrantLocked(userCode)
	if err != nil {
		return err
	}
	g.state, g.subject = deviceApproved, subject
	return nil
}

// Deny rejects the authorization: polls answer access_denied (RFC 8628
// §3.5).
func (s *Server) Deny(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.pendingGrantLocked(userCode)
	if err != nil {
		return err
	}
	g.state = deviceDenied
	return nil
}

// Expire ends the device code's lifetime now: polls answer expired_token
// (RFC 8628 §3.5). Device codes also expire on their own after
// [Client.DeviceCodeTTL] of [Options.Now] time.
func (s *Server) Expire(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.pendingGrantLocked(userCode)
	if err != nil {
		return err
	}
	g.state = deviceExpired
	return nil
}

// SlowDown makes the next poll of the device code answer slow_down (RFC
// 8628 §3.5), whatever the state; call it n times for n answers. It works
// on approved codes too, so a test can approve first and still see the
// client back off.
func (s *Server) SlowDown(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.userCodes[normalizeUserCode(userCode)]
	if g == nil {
		return errUnknownUserCode
	}
	g.slowDowns++
	return nil
}

// pendingUserCodes returns the user codes waiting for a decision, oldest
// first.
func (s *Server) pendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []string
	for _, g := range s.deviceOrder {
		if g.state == devicePending && now.Before(g.expires) {
			out = append(out, g.userCode)
		}
	}
	return out
}

// WaitUserCode blocks until a device authorization exists that WaitUserCode
// has not returned yet, and returns its user code (oldest first), or
// ctx.Err(). A test calls it, then [Server.Approve], as a user would after
// reading the prompt.
func (s *Server) WaitUserCode(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		for _, g := range s.deviceOrder {
			if !g.seen {
				g.seen = true
				s.mu.Unlock()
				return g.userCode, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// AutoApprove approves every later device authorization at once as subject
// (for demos and subprocess tests); "" turns it off.
func (s *Server) AutoApprove(subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoApprove = subject
}

var verificationPage = template.Must(template.New("verify").Parse(`<!doctype html>
<title>ststest device login</title>
<h1>ststest device login</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
<form method="post">
<label>Code <input name="user_code" value="{{.UserCode}}"></label>
<label>Subject <input name="subject" value="ststest-user"></label>
<button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button>
</form>
`))

// serveVerification is the verification_uri: a form where a person at a
// browser approves or denies a user code, for manual demos.
func (s *Server) serveVerification(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, actionVerification, kindOAuth) {
		return
	}
	data := struct{ UserCode, Message string }{UserCode: r.URL.Query().Get("user_code")}
	w.Header().Set("Content-Type", "text/html; charset=utf-8") // before any WriteHeader
	if r.Method == http.MethodPost {
		form, ok := s.readForm(w, r)
		if !ok {
			return
		}
		data.UserCode = form.Get("user_code")
		var err error
		if form.Get("decision") == "deny" {
			err = s.Deny(data.UserCode)
			data.Message = "Denied."
		} else {
			err = s.Approve(data.UserCode, form.Get("subject"))
			data.Message = "Approved: you may close this window."
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			data.Message = err.Error()
		}
	}
	_ = verificationPage.Execute(w, data)
}

// readForm parses a form body within Options.maxBodyBytes, or writes
// invalid_request and reports false.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Malformed or oversized form body")
		return nil, false
	}
	return r.PostForm, true
}
